/**
 * Reading AWS SDK failures: a short reason, and whether trying the same call again can help
 * (throttling, 5xx, timeouts, dropped connections). The SDK has already retried these itself by
 * the time we see them, so `retryable` is for the caller's own, slower schedule.
 */
import { Duration, Effect } from "effect"

export interface AwsFailure {
  readonly reason: string
  readonly retryable: boolean
}

// The SDK's own throttling and transient lists (@smithy service-error-classification), plus
// Auto Scaling's ResourceContentionFault ("pending update, try again").
const retryableNames = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "PriorRequestNotComplete",
  "SlowDown",
  "ResourceContentionFault",
  "ServiceUnavailable",
  "InternalFailure",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException"
])
const retryableCodes = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"])

interface SdkErrorFields {
  readonly name?: unknown
  readonly message?: unknown
  readonly code?: unknown
  readonly $fault?: unknown
  readonly $retryable?: unknown
  readonly $metadata?: { readonly httpStatusCode?: unknown }
}

export const describeAwsError = (error: unknown): AwsFailure => {
  if (typeof error !== "object" || error === null) return { reason: String(error), retryable: false }
  const e = error as SdkErrorFields
  const name = typeof e.name === "string" ? e.name : "Error"
  const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined
  const retryable = retryableNames.has(name) ||
    (typeof e.code === "string" && retryableCodes.has(e.code)) ||
    e.$retryable !== undefined ||
    e.$fault === "server" ||
    (status !== undefined && (status >= 500 || status === 429))
  const message = typeof e.message === "string" && e.message !== "" ? e.message : "no message"
  return { reason: `${name}${status === undefined ? "" : ` (HTTP ${status})`}: ${message}`, retryable }
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
