/**
 * A promise as an Effect that, when interrupted, ends only after the promise has settled.
 *
 * `Effect.tryPromise` lets an interrupted fiber go at once while the promise runs on: a `mkdir`
 * or a write cut off that way completes later, after the interrupted program has cleaned up, and
 * leaves a folder or a `.partial` file behind. Here the operation is asked to stop through its
 * AbortSignal (where the Node API takes one) and interruption waits for it, so whatever runs
 * next (an `onError` removing a temporary file, a finalizer removing partial outputs) sees
 * everything the operation did.
 */
import { Effect } from "effect"

export const settledPromise = <A, E>(options: {
  readonly try: (signal: AbortSignal) => Promise<A>
  readonly catch: (error: unknown) => E
}): Effect.Effect<A, E> =>
  Effect.callback<A, E>((resume, signal) => {
    let running: Promise<A>
    try {
      running = options.try(signal)
    } catch (error) {
      resume(Effect.fail(options.catch(error)))
      return
    }
    running.then(
      (value) => resume(Effect.succeed(value)),
      (error) => resume(Effect.fail(options.catch(error)))
    )
    // Run on interruption: the fiber ends when this does.
    return Effect.promise(() => running.then(() => undefined, () => undefined))
  })
