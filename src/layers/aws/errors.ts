/**
 * Reading AWS SDK failures: a short reason, and whether trying the same call again can help
 * (throttling, 5xx, timeouts, dropped connections). The SDK has already retried these itself by
 * the time we see them, so `retryable` is for the caller's own, slower schedule.
 */
import { isServerError, isThrottlingError, isTransientError } from "@smithy/core/retry"
import { Duration, Effect } from "effect"

export interface AwsFailure {
  readonly reason: string
  readonly retryable: boolean
}

/** What the SDK's classifiers take; they read only optional fields (name, code, $metadata, $retryable, cause). */
type SdkError = Parameters<typeof isTransientError>[0]

interface SdkErrorFields {
  readonly name?: unknown
  readonly message?: unknown
  readonly $fault?: unknown
  readonly $metadata?: { readonly httpStatusCode?: unknown }
}

/**
 * The SDK's own classification (the predicates its retry strategy uses: throttling, transient
 * network and timeout failures, 5xx), plus any fault AWS marks as the server's, plus Auto Scaling's
 * ResourceContentionFault ("pending update, try again"), which the SDK treats as a client error.
 */
const isRetryable = (error: object, fields: SdkErrorFields): boolean => {
  const sdkError = error as SdkError
  return isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError) ||
    fields.$fault === "server" || fields.name === "ResourceContentionFault"
}

export const describeAwsError = (error: unknown): AwsFailure => {
  if (typeof error !== "object" || error === null) return { reason: String(error), retryable: false }
  const e: SdkErrorFields = error
  const name = typeof e.name === "string" ? e.name : "Error"
  const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined
  const message = typeof e.message === "string" && e.message !== "" ? e.message : "no message"
  return { reason: `${name}${status === undefined ? "" : ` (HTTP ${status})`}: ${message}`, retryable: isRetryable(error, e) }
}

/**
 * One SDK call, given the abort signal so interruption (and our timeout) cancels the request;
 * failures become the caller's typed error.
 */
export const awsCall = <A, E>(
  run: (abortSignal: AbortSignal) => Promise<A>,
  timeout: Duration.Input,
  fail: (failure: AwsFailure) => E
): Effect.Effect<A, E> =>
  Effect.tryPromise({ try: (signal) => run(signal), catch: (error) => fail(describeAwsError(error)) }).pipe(
    Effect.timeoutOrElse({
      duration: timeout,
      orElse: () => Effect.fail(fail({ reason: `no answer within ${Duration.format(Duration.fromInputUnsafe(timeout))}`, retryable: true }))
    })
  )
