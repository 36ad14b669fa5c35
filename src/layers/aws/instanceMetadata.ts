/**
 * IMDSv2, the EC2 instance metadata service, through the SDK's own client
 * (`@aws-sdk/ec2-metadata-service`): a session token from a PUT, then a GET carrying it. IMDSv1
 * (a GET without a token) is never used. Each read has a short timeout, because off EC2 the
 * address just does not answer and a worker must not hang at start-up waiting for it.
 */
import { MetadataService } from "@aws-sdk/ec2-metadata-service"
import { Duration, Effect, Option, Schema } from "effect"

export class InstanceMetadataFailed extends Schema.TaggedError<InstanceMetadataFailed>()("InstanceMetadataFailed", {
  path: Schema.String,
  reason: Schema.String,
  retryable: Schema.Boolean,
  /** The HTTP status IMDS answered with, when it answered. */
  status: Schema.optional(Schema.Number)
}) {
  override get message() {
    return `instance metadata ${this.path}: ${this.reason}`
  }
}

export interface InstanceMetadataOptions {
  /** Default `http://169.254.169.254`; tests point it at a stand-in. */
  readonly baseUrl?: string
  /** For the whole read (token, then value). Default 1 second. */
  readonly timeout?: Duration.Input
  /** Lifetime asked for the session token (1–21600). Default 60. */
  readonly tokenTtlSeconds?: number
}

export const defaultMetadataBaseUrl = "http://169.254.169.254"

/** The status the SDK's client attaches to a non-200 answer (absent when the token PUT failed or nothing answered). */
const StatusOf = Schema.Struct({ $metadata: Schema.Struct({ httpStatusCode: Schema.Number }) })
const statusOf = (error: unknown): number | undefined =>
  Option.getOrUndefined(Option.map(Schema.decodeUnknownOption(StatusOf)(error), (e) => e.$metadata.httpStatusCode))

const failure = (path: string, error: unknown) => {
  const status = statusOf(error)
  return new InstanceMetadataFailed({
    path,
    reason: error instanceof Error ? error.message : String(error),
    // 401 means the token went stale: a new one helps. 404 (no such path) and other 4xx do not.
    retryable: status === undefined || status === 401 || status === 429 || status >= 500,
    ...(status === undefined ? {} : { status })
  })
}

/** Reads `/latest/meta-data/<path>` (for example `instance-id`, `placement/region`). */
export const readInstanceMetadata = Effect.fn("instanceMetadata.read")(function*(path: string, options: InstanceMetadataOptions = {}) {
  const endpoint = (options.baseUrl ?? defaultMetadataBaseUrl).replace(/\/+$/, "")
  const timeout = options.timeout ?? "1 second"
  const value = yield* Effect.tryPromise({
    // A new client per read: the SDK's client remembers a refused token PUT and then stops asking.
    // The SDK cannot be cancelled, so its own socket timeout (the same duration) ends the request
    // after ours has given up. No retries here: callers retry on `retryable` with their schedule.
    try: () =>
      new MetadataService({
        endpoint,
        ec2MetadataV1Disabled: true,
        tokenTtl: options.tokenTtlSeconds ?? 60,
        retries: 0,
        httpOptions: { timeout: Duration.toMillis(Duration.fromInputUnsafe(timeout)) }
      }).request(`latest/meta-data/${path}`, {}), // joined to the endpoint URL's path, "/"
    catch: (error) => failure(path, error)
  }).pipe(
    Effect.timeoutOrElse({
      duration: timeout,
      orElse: () =>
        Effect.fail(new InstanceMetadataFailed({ path, reason: `no answer from ${endpoint} within ${Duration.format(Duration.fromInputUnsafe(timeout))}`, retryable: true }))
    })
  )
  const trimmed = value.trim()
  if (trimmed === "") return yield* new InstanceMetadataFailed({ path, reason: "empty answer", retryable: false })
  return trimmed
})

export const readInstanceId = (options: InstanceMetadataOptions = {}) => readInstanceMetadata("instance-id", options)

/** An item IMDS lists only while it applies: None stands for its HTTP 404. */
export const readOptionalInstanceMetadata = (path: string, options: InstanceMetadataOptions = {}) =>
  readInstanceMetadata(path, options).pipe(
    Effect.map(Option.some),
    Effect.catchIf((error) => error.status === 404, () => Effect.succeedNone)
  )

/**
 * The state Auto Scaling is moving this instance to. AWS: "When an instance prepares to transition
 * to one of the preceding steady states, Amazon EC2 Auto Scaling updates the value of the instance
 * metadata item `autoscaling/target-lifecycle-state`" (InService, Terminated, Detached, Standby,
 * Warmed:*), and where the item was never generated "it is not present, and you receive an HTTP
 * 404 error" ("Retrieve the target lifecycle state through instance metadata", EC2 Auto Scaling
 * user guide). None stands for that 404.
 */
export const readTargetLifecycleState = (options: InstanceMetadataOptions = {}) =>
  readOptionalInstanceMetadata("autoscaling/target-lifecycle-state", options)
