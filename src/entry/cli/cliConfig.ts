/**
 * What the command line reads from the environment beside the deployment (layers/fromConfig.ts):
 *   VIDPIPE_LOG_LEVEL   Debug, Info, Warn (default; Info for the daemons `worker` and `fleet`), Error…
 *   VIDPIPE_DATA_DIR    `process`'s working folder (default ./data)
 *   VIDPIPE_FAULT       test-only fault injection (die-after-winning-lease, die-after-marking-ready)
 */
import * as path from "node:path"
import { Config, Console, Effect, Layer, Option, References } from "effect"
import { InvalidConfiguration } from "../../layers/InvalidConfiguration.ts"

/** The minimum log level as configured, or `fallback` when VIDPIPE_LOG_LEVEL is unset. */
export const logLevelLayer = (fallback: "Warn" | "Info") =>
  Layer.unwrap(Config.option(Config.LogLevel("VIDPIPE_LOG_LEVEL")).pipe(
    Effect.map((level) => Layer.succeed(References.MinimumLogLevel, Option.getOrElse(level, () => fallback))),
    // Said before anything runs: no logger exists yet to say it.
    Effect.tapError(() => Console.error("vidpipe: VIDPIPE_LOG_LEVEL must be one of All, Trace, Debug, Info, Warn, Error, Fatal, None"))
  ))

export const dataDirectoryConfig = Config.String("VIDPIPE_DATA_DIR").pipe(Config.withDefault("data"), Config.map((dir) => path.resolve(dir)))

const faults = ["die-after-winning-lease", "die-after-marking-ready"] as const
export type Fault = typeof faults[number]

const isFault = (value: string): value is Fault => faults.some((fault) => fault === value)

export const faultConfig = Effect.gen(function*() {
  const fault = yield* Config.option(Config.String("VIDPIPE_FAULT"))
  if (Option.isNone(fault)) return Option.none<Fault>()
  if (!isFault(fault.value)) {
    return yield* new InvalidConfiguration({ variable: "VIDPIPE_FAULT", value: fault.value, expected: `${faults.join(" or ")} (tests only)` })
  }
  return Option.some(fault.value)
})
