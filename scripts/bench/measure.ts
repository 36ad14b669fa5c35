/**
 * Runs a command and measures it: wall time, and CPU time (user + system) of the command and
 * every process under it, as bash's `times` reports for waited-for children.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

export interface Measured {
  readonly wallSeconds: number
  readonly cpuSeconds: number
  readonly stdout: string
  readonly stderr: string
}

const minutesSeconds = (text: string) => {
  const match = /^(\d+)m([\d.]+)s$/.exec(text)
  if (match === null) throw new Error(`unexpected times output: ${text}`)
  return Number(match[1]) * 60 + Number(match[2])
}

export const measure = async (command: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Measured> => {
  const timesFile = path.join(os.tmpdir(), `vidpipe-bench-times-${process.pid}-${Math.random().toString(36).slice(2)}`)
  const script = '"$@"; status=$?; times > "$VIDPIPE_BENCH_TIMES"; exit $status'
  const started = performance.now()
  const child = spawn("bash", ["-c", script, "bash", command, ...args], {
    env: { ...process.env, ...env, VIDPIPE_BENCH_TIMES: timesFile },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk) => (stdout += chunk))
  child.stderr.on("data", (chunk) => (stderr += chunk))
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve))
  const wallSeconds = (performance.now() - started) / 1000
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${code}\n${stderr.slice(-2000)}`)
  // Second line: the children's user and system time.
  const [, children = ""] = (await fs.readFile(timesFile, "utf8")).trim().split("\n")
  await fs.rm(timesFile, { force: true })
  const [user = "", system = ""] = children.trim().split(/\s+/)
  return { wallSeconds, cpuSeconds: minutesSeconds(user) + minutesSeconds(system), stdout, stderr }
}

export const median = (values: ReadonlyArray<number>) => {
  const sorted = values.toSorted((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length === 0 ? Number.NaN : sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Nearest-rank percentile. */
export const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = values.toSorted((a, b) => a - b)
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}
