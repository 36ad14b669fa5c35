/**
 * `vidpipe fleet`: a local fleet of `vidpipe worker` child processes for a shared deployment,
 * grown under a backlog and shrunk (only by idle workers, drained with SIGTERM) when idle; see
 * programs/localFleet.ts. SIGINT or SIGTERM stops all its workers (SIGTERM) and exits.
 */
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Duration, Effect, Layer, References } from "effect"
import { Command, Flag } from "effect/cli"
import type { FleetProcesses } from "../../programs/localFleet.ts"
import { runLocalFleet } from "../../programs/localFleet.ts"
import { loadDeployment } from "./deployment.ts"
import { InvalidOption } from "./InvalidOption.ts"
import { reportingFailures } from "./runCommand.ts"

const cliEntry = fileURLToPath(new URL("./main.ts", import.meta.url))

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null

/** Workers as child processes of this one, sharing its environment and output. */
const childProcesses = (): FleetProcesses => {
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
          env: process.env,
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

export const fleetCommand = Command.make(
  "fleet",
  {
    min: Flag.Finite("min").pipe(Flag.withDescription("Fewest workers"), Flag.withDefault(1)),
    max: Flag.Finite("max").pipe(Flag.withDescription("Most workers"), Flag.withDefault(4)),
    every: Flag.Finite("every").pipe(Flag.withDescription("Seconds between looks at the queue"), Flag.withDefault(5)),
    minIdle: Flag.Finite("min-idle").pipe(Flag.withDescription("Seconds a worker must be idle before it may be stopped"), Flag.withDefault(20))
  },
  (flags) =>
    Effect.gen(function*() {
      const { min, max, every, minIdle } = flags
      if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < Math.max(1, min)) {
        return yield* new InvalidOption({ reason: `--min and --max must be whole numbers with 0 <= min <= max and max >= 1 (got ${min}, ${max})` })
      }
      if (every <= 0 || minIdle < 0) return yield* new InvalidOption({ reason: "--every must be positive and --min-idle not negative" })
      const { layer, summary } = yield* loadDeployment("fleet", true)
      yield* Effect.logInfo(`fleet: started (${summary})`)
      yield* runLocalFleet({
        min,
        max,
        every: Duration.seconds(every),
        minIdle: Duration.seconds(minIdle),
        freshWithin: Duration.seconds(Math.max(60, 3 * every)),
        idPrefix: `fleet-${process.pid}`
      }, childProcesses()).pipe(Effect.scoped, Effect.provide(layer))
    }).pipe(
      reportingFailures({ json: false }),
      process.env["VIDPIPE_LOG_LEVEL"] === undefined ? Effect.provide(Layer.succeed(References.MinimumLogLevel, "Info")) : (e) => e
    )
).pipe(Command.withDescription("Run a local fleet of workers that grows under a backlog and shrinks when idle"))
