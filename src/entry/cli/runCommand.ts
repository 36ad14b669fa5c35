/**
 * Wraps a command handler so that every failure, expected or not, ends the way a user of a
 * CLI expects (see reportError.ts). Interruption (Ctrl-C) passes through untouched.
 */
import { Effect } from "effect"
import { reportFailure } from "./reportError.ts"

export const reportingFailures = (options: { readonly json: boolean }) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> =>
    effect.pipe(
      Effect.asVoid,
      Effect.catch((error) => reportFailure(error, options)),
      Effect.catchDefect((defect) => reportFailure(defect, options))
    )
