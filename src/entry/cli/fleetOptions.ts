/**
 * The local fleet's command-line options, shared by `vidpipe fleet` (`--min/--max/--every/
 * --min-idle`) and `vidpipe serve --fleet MIN..MAX` (`--fleet-every/--fleet-min-idle`).
 */
import { Duration, Effect } from "effect"
import { Flag } from "effect/cli"
import type { LocalFleetOptions } from "../../programs/localFleet.ts"
import { InvalidOption } from "./InvalidOption.ts"

/** `--every` and `--min-idle`, with `prefix` for commands where they are one option among many. */
export const fleetTimingFlags = (prefix: "" | "fleet-") => ({
  every: Flag.Finite(`${prefix}every`).pipe(Flag.withDescription("Seconds between the fleet's looks at the queue"), Flag.withDefault(5)),
  minIdle: Flag.Finite(`${prefix}min-idle`).pipe(
    Flag.withDescription("Seconds a worker must be idle before the fleet may stop it"),
    Flag.withDefault(20)
  )
})

/** `MIN..MAX`, e.g. `1..4`. */
export const parseFleetRange = (text: string) => {
  const match = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(text)
  return match === null
    ? Effect.fail(new InvalidOption({ reason: `--fleet takes MIN..MAX, e.g. 1..4 (got "${text}")` }))
    : Effect.succeed({ min: Number(match[1]), max: Number(match[2]) })
}

export const checkedFleetOptions = (
  size: { readonly min: number; readonly max: number },
  timing: { readonly every: number; readonly minIdle: number },
  idPrefix: string
): Effect.Effect<LocalFleetOptions, InvalidOption> => {
  const { min, max } = size
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < Math.max(1, min) || max > 64) {
    return Effect.fail(new InvalidOption({ reason: `the fleet size needs whole numbers with 0 <= min <= max, 1 <= max <= 64 (got ${min}..${max})` }))
  }
  if (!(timing.every > 0) || !(timing.minIdle >= 0)) {
    return Effect.fail(new InvalidOption({ reason: `the fleet's look interval must be positive and its minimum idle time not negative (got ${timing.every} s, ${timing.minIdle} s)` }))
  }
  return Effect.succeed({
    min,
    max,
    every: Duration.seconds(timing.every),
    minIdle: Duration.seconds(timing.minIdle),
    freshWithin: Duration.seconds(Math.max(60, 3 * timing.every)),
    idPrefix
  })
}
