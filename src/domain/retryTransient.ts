/**
 * The one retry policy for transient failures: exponential backoff from `base`, and only while
 * the failure says trying again can help (`retryable`), at most `times` more tries.
 */
import type { Duration } from "effect"
import { Schedule } from "effect"

/** What a failure must say for the policy to decide on it. */
export interface Retryable {
  readonly retryable: boolean
}

export const retryTransient = (times: number, base: Duration.Input = "500 millis") =>
  Schedule.exponential(base).pipe(
    Schedule.setInputType<Retryable>(),
    Schedule.while(({ input }) => input.retryable),
    Schedule.upTo({ times })
  )
