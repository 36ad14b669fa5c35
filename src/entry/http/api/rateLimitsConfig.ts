/**
 * `vidpipe serve`'s limits per API key (RateLimits.ts, and the upload route's bound), from
 * configuration; the defaults are the AWS usage plan's rate and burst (infra/api.ts):
 *   VIDPIPE_API_RATE             requests a second per key, decimals allowed (default 10; 0: no rate limit)
 *   VIDPIPE_API_BURST            requests a key may send at once (default 20; at least 1)
 *   VIDPIPE_API_DAILY_JOBS       jobs a key (not an admin key) may create per UTC day (default 10000; 0: no quota)
 *   VIDPIPE_API_UPLOADS_PER_KEY  uploads in flight at once for one key's jobs (default 4; 0: no bound)
 * An unset or empty variable takes its default; anything else that is not a number in range stops
 * the program at start, naming the variable.
 */
import { Config, Effect } from "effect"
import { InvalidConfiguration } from "../../../layers/InvalidConfiguration.ts"
import type { KeyLimits } from "./RateLimits.ts"

const limitOf = (variable: string, fallback: number, check: { readonly integer: boolean; readonly minimum: number; readonly expected: string }) =>
  Effect.gen(function*() {
    const raw = (yield* Config.String(variable).pipe(Config.withDefault(""))).trim()
    if (raw === "") return fallback
    const value = Number(raw)
    const valid = /^\d+(\.\d+)?$/.test(raw) && Number.isFinite(value) && value >= check.minimum && value <= 1_000_000_000 &&
      (!check.integer || Number.isInteger(value))
    return valid ? value : yield* new InvalidConfiguration({ variable, value: raw, expected: check.expected })
  })

export const rateLimitsConfig = Effect.gen(function*() {
  const limits: KeyLimits = {
    rate: yield* limitOf("VIDPIPE_API_RATE", 10, { integer: false, minimum: 0, expected: "requests a second, a number ≥ 0 (0: no rate limit)" }),
    burst: yield* limitOf("VIDPIPE_API_BURST", 20, { integer: true, minimum: 1, expected: "a whole number of requests ≥ 1" }),
    dailyJobs: yield* limitOf("VIDPIPE_API_DAILY_JOBS", 10_000, { integer: true, minimum: 0, expected: "a whole number of jobs ≥ 0 (0: no quota)" }),
    uploadsPerKey: yield* limitOf("VIDPIPE_API_UPLOADS_PER_KEY", 4, { integer: true, minimum: 0, expected: "a whole number of uploads ≥ 0 (0: no bound)" })
  }
  return limits
})
