/**
 * Runs the real `vidpipe` command line in a child process, the way a user does.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
/** What `npm run vidpipe` runs: the bundle vitest's global setup builds (test/support/buildCli.ts). */
export const cliEntry = path.join(repoRoot, "dist", "cli", "main.js")

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export const startVidpipe = (args: ReadonlyArray<string>, options: { readonly cwd?: string; readonly env?: Record<string, string> } = {}) =>
  spawn(process.execPath, [cliEntry, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"]
  })

export const collect = (child: ChildProcess, timeoutMs = 180_000): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (chunk) => (stdout += chunk))
    child.stderr?.on("data", (chunk) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`vidpipe did not finish within ${timeoutMs} ms\n${stderr}`))
    }, timeoutMs)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })

export const runVidpipe = (args: ReadonlyArray<string>, options: { readonly cwd?: string; readonly env?: Record<string, string>; readonly timeoutMs?: number } = {}) =>
  collect(startVidpipe(args, options), options.timeoutMs)

/** The `--json` result: the last non-empty stdout line. */
export const lastJsonLine = (stdout: string): any => JSON.parse(stdout.trim().split("\n").at(-1) ?? "null")
