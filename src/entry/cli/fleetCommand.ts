/**
 * `vidpipe fleet`: a local fleet of `vidpipe worker` child processes for a shared deployment,
 * grown under a backlog and shrunk (only by idle workers, drained with SIGTERM) when idle; see
 * programs/localFleet.ts. SIGINT or SIGTERM stops all its workers (SIGTERM) and exits.
 */
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { runLocalFleet } from "../../programs/localFleet.ts"
import { loadDeployment } from "./deployment.ts"
import { checkedFleetOptions, fleetTimingFlags } from "./fleetOptions.ts"
import { reportingFailures } from "./runCommand.ts"
import { workerProcesses } from "./workerProcesses.ts"
import { logLevelLayer } from "./cliConfig.ts"

export const fleetCommand = Command.make(
  "fleet",
  {
    min: Flag.Finite("min").pipe(Flag.withDescription("Fewest workers"), Flag.withDefault(1)),
    max: Flag.Finite("max").pipe(Flag.withDescription("Most workers"), Flag.withDefault(4)),
    ...fleetTimingFlags("")
  },
  (flags) =>
    Effect.gen(function*() {
      const options = yield* checkedFleetOptions(flags, flags, `fleet-${process.pid}`)
      const { layer, summary } = yield* loadDeployment("fleet", true)
      yield* Effect.logInfo(`fleet: started (${summary})`)
      yield* runLocalFleet(options, workerProcesses()).pipe(Effect.scoped, Effect.provide(layer))
    }).pipe(
      reportingFailures({ json: false }),
      // A daemon says what it does unless told otherwise.
      Effect.provide(logLevelLayer("Info"))
    )
).pipe(Command.withDescription("Run a local fleet of workers that grows under a backlog and shrinks when idle"))
