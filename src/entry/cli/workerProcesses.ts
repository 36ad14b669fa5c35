/**
 * The local fleet's workers as `vidpipe worker` child processes of this one, sharing its
 * environment (spawn's default: so its deployment) and its output.
 */
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import type { FleetProcesses } from "../../programs/localFleet.ts"

// The same command line as this one: built (dist/cli/main.js beside this chunk) or from the sources.
const cliEntry = ["./main.js", "./main.ts"].map((name) => fileURLToPath(new URL(name, import.meta.url))).find((file) => existsSync(file))
  ?? fileURLToPath(new URL("./main.ts", import.meta.url))

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null

export const workerProcesses = (): FleetProcesses => {
  const children = new Map<string, ChildProcess>()
  const exited = (child: ChildProcess) =>
    Effect.callback<void>((resume) => {
      if (!isRunning(child)) return resume(Effect.void)
      child.once("exit", () => resume(Effect.void))
    })
  return {
    spawnWorker: (id) =>
      Effect.sync(() => {
        const child = spawn(process.execPath, [...process.execArgv, cliEntry, "worker", "--id", id], {
          stdio: ["ignore", "inherit", "inherit"]
        })
        child.on("error", () => {})
        children.set(id, child)
      }),
    stopWorker: (id) =>
      Effect.suspend(() => {
        const child = children.get(id)
        if (child === undefined) return Effect.void
        if (isRunning(child)) child.kill("SIGTERM")
        return exited(child).pipe(Effect.map(() => {
          children.delete(id)
        }))
      }).pipe(Effect.uninterruptible),
    isRunning: (id) => Effect.sync(() => {
      const child = children.get(id)
      return child !== undefined && isRunning(child)
    })
  }
}
