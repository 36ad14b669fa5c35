/**
 * Limits per API key for `vidpipe serve`, mirroring what API Gateway's usage plan does on AWS
 * (infra/api.ts), which is why the API Lambda leaves them out (`noRateLimitsLayer`):
 *
 * - a rate: a token bucket per key id, `burst` tokens deep, refilled at `rate` tokens a second;
 *   every `/v1` request takes one, and a request finding none is refused (429) without running.
 * - a daily quota of job creations (`POST /v1/jobs`) per key, per UTC day. A creation that fails
 *   (400, 503, ...) gives its slot back. Admin keys have no quota (an operator's key is not the
 *   tenant the quota protects against), but they do have the rate, like any other key.
 *
 * A refusal is `TooManyRequests` (429) in the API's error shape, with `Retry-After`: when the
 * bucket holds a token again, or the next UTC midnight. The middleware runs after `ApiKeys` (it
 * needs the caller) and before `RequestGuard` and the handler, so a refused request's body is
 * never read.
 *
 * State is in memory, per process: the keys are the configured ones (a bounded set), and several
 * `vidpipe serve` processes would each allow the full rate.
 */
import { Clock, Effect, Exit, Layer } from "effect"
import { HttpApiMiddleware } from "effect/http-api"
import { TooManyRequests, TooManyRequestsResponse } from "./ApiErrors.ts"
import { ApiCaller } from "./ApiKeys.ts"

/** The limits the API's middleware applies (`VIDPIPE_API_RATE`, `…_BURST`, `…_DAILY_JOBS`). */
export interface ApiLimits {
  /** Requests a second each key may sustain; 0: no rate limit. */
  readonly rate: number
  /** Requests a key may send at once (the bucket's size, full at start); at least 1. */
  readonly burst: number
  /** Jobs each non-admin key may create per UTC day; 0: no quota. */
  readonly dailyJobs: number
}

/** Every limit per key, the upload route's included (`VIDPIPE_API_UPLOADS_PER_KEY`). */
export interface KeyLimits extends ApiLimits {
  /** Uploads in flight at once for the jobs of one key; 0: no bound. */
  readonly uploadsPerKey: number
}

export class RateLimits extends HttpApiMiddleware.Service<RateLimits, { requires: ApiCaller }>()("vidpipe/api/RateLimits", {
  error: TooManyRequestsResponse
}) {}

const dayMillis = 86_400_000

/** Whole seconds until `millis` have passed, at least 1 (what `Retry-After` carries). */
export const retryAfterSeconds = (millis: number) => Math.max(1, Math.ceil(millis / 1000))

interface Bucket {
  tokens: number
  at: number
}

/**
 * The limits' state and decisions, apart from HTTP. `take` answers undefined when the request may
 * go on, else the milliseconds until it could; `reserveJob` likewise for a job creation (then
 * `refundJob` with its day when the creation did not happen).
 */
export const makeLimiter = (limits: ApiLimits) => {
  const buckets = new Map<string, Bucket>()
  let quotaDay = Number.NaN
  const created = new Map<string, number>()
  return {
    take: (keyId: string, now: number): number | undefined => {
      if (limits.rate <= 0) return undefined
      const bucket = buckets.get(keyId) ?? { tokens: limits.burst, at: now }
      // A clock stepped back refills nothing (and takes nothing away).
      const tokens = Math.min(limits.burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * limits.rate)
      const granted = tokens >= 1
      buckets.set(keyId, { tokens: granted ? tokens - 1 : tokens, at: Math.max(now, bucket.at) })
      return granted ? undefined : ((1 - tokens) / limits.rate) * 1000
    },
    reserveJob: (keyId: string, now: number): { readonly day: number } | { readonly waitMillis: number } => {
      const day = Math.floor(now / dayMillis)
      if (day !== quotaDay) {
        quotaDay = day
        created.clear()
      }
      const used = created.get(keyId) ?? 0
      if (used >= limits.dailyJobs) return { waitMillis: (day + 1) * dayMillis - now }
      created.set(keyId, used + 1)
      return { day }
    },
    refundJob: (keyId: string, day: number) => {
      const used = created.get(keyId) ?? 0
      if (day === quotaDay && used > 0) created.set(keyId, used - 1)
    }
  }
}

const isJobCreation = (options: { readonly endpoint: { readonly identifier: string }; readonly group: { readonly identifier: string } }) =>
  options.group.identifier === "jobs" && options.endpoint.identifier === "create"

/** The limits of `vidpipe serve`. */
export const rateLimitsLayer = (limits: ApiLimits) =>
  Layer.sync(RateLimits, () => {
    const limiter = makeLimiter(limits)
    return RateLimits.of((httpEffect, options) =>
      Effect.gen(function*() {
        const caller = yield* ApiCaller
        const wait = limiter.take(caller.keyId, yield* Clock.currentTimeMillis)
        if (wait !== undefined) {
          const seconds = retryAfterSeconds(wait)
          return yield* new TooManyRequests({
            message: `this API key is limited to ${limits.rate} requests a second (bursts of ${limits.burst}); retry in ${seconds} s`,
            retryAfterSeconds: seconds
          })
        }
        if (!isJobCreation(options) || caller.admin || limits.dailyJobs <= 0) return yield* httpEffect
        const reserved = limiter.reserveJob(caller.keyId, yield* Clock.currentTimeMillis)
        if ("waitMillis" in reserved) {
          return yield* new TooManyRequests({
            message: `this API key has created its ${limits.dailyJobs} jobs for today; retry after midnight UTC`,
            retryAfterSeconds: retryAfterSeconds(reserved.waitMillis)
          })
        }
        // Given back when no job was created: a refusal or a failure. Not on an interruption,
        // which may come after the job was stored (the quota errs towards counting).
        return yield* httpEffect.pipe(Effect.onExit((exit) =>
          Effect.sync(() => {
            const failed = Exit.isFailure(exit) ? !Exit.hasInterrupts(exit) : exit.value.status >= 400
            if (failed) limiter.refundJob(caller.keyId, reserved.day)
          })
        ))
      })
    )
  })

/** No limits: the API Lambda, behind API Gateway's usage plan, and servers built without them. */
export const noRateLimitsLayer = Layer.succeed(RateLimits, RateLimits.of((httpEffect) => httpEffect))
