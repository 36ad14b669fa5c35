/**
 * How a failed command ends: one line on stderr saying what is wrong (no stack trace), the
 * failure as JSON on stdout when `--json` was asked for, and a non-zero exit code.
 */
import { Console, Effect } from "effect"

export interface Reportable {
  readonly _tag?: string
  readonly message: string
}

export const describeFailure = (error: unknown): { readonly _tag: string; readonly message: string } => {
  const tagged = error as Partial<Reportable> | undefined
  return {
    _tag: typeof tagged?._tag === "string" ? tagged._tag : "UnexpectedError",
    message: typeof tagged?.message === "string" && tagged.message.length > 0 ? tagged.message : String(error)
  }
}

export const reportFailure = (error: unknown, options: { readonly json: boolean }) =>
  Effect.gen(function*() {
    const failure = describeFailure(error)
    yield* Console.error(`vidpipe: ${failure.message}`)
    if (options.json) yield* Console.log(JSON.stringify({ status: "failed", error: failure }))
    yield* Effect.sync(() => {
      process.exitCode = 1
    })
  })
