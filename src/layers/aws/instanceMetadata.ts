/**
 * IMDSv2, the EC2 instance metadata service: a session token from a PUT, then a GET carrying it.
 * Every request has a short timeout, because off EC2 the address just does not answer and a
 * worker must not hang at start-up waiting for it.
 */
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
  /** Per request (token, then value). Default 1 second. */
  readonly timeout?: Duration.Input
  /** Lifetime asked for the session token (1–21600). Default 60. */
  readonly tokenTtlSeconds?: number
}

export const defaultMetadataBaseUrl = "http://169.254.169.254"

class HttpStatus extends Error {
  readonly status: number
  constructor(status: number, body: string) {
    super(`HTTP ${status}${body === "" ? "" : `: ${body.slice(0, 200)}`}`)
    this.status = status
  }
}

/** One request to IMDS; non-2xx answers fail with their status. */
const call = (url: string, init: RequestInit, path: string, timeout: Duration.Input) =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(url, { ...init, signal })
      const body = await response.text()
      if (!response.ok) throw new HttpStatus(response.status, body)
      return body
    },
    catch: (error) =>
      new InstanceMetadataFailed({
        path,
        reason: error instanceof Error ? (error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message) : String(error),
        // 401 means the token went stale: a new one helps. 404 (no such path) and other 4xx do not.
        retryable: !(error instanceof HttpStatus) || error.status === 401 || error.status === 429 || error.status >= 500,
        ...(error instanceof HttpStatus ? { status: error.status } : {})
      })
  }).pipe(
    Effect.timeoutOrElse({
      duration: timeout,
      orElse: () =>
        Effect.fail(new InstanceMetadataFailed({ path, reason: `no answer from ${url} within ${Duration.format(Duration.fromInputUnsafe(timeout))}`, retryable: true }))
    })
  )

/** Reads `/latest/meta-data/<path>` (for example `instance-id`, `placement/region`). */
export const readInstanceMetadata = Effect.fn("instanceMetadata.read")(function*(path: string, options: InstanceMetadataOptions = {}) {
  const base = (options.baseUrl ?? defaultMetadataBaseUrl).replace(/\/+$/, "")
  const timeout = options.timeout ?? "1 second"
  const token = yield* call(
    `${base}/latest/api/token`,
    { method: "PUT", headers: { "X-aws-ec2-metadata-token-ttl-seconds": String(options.tokenTtlSeconds ?? 60) } },
    path,
    timeout
  )
  const value = yield* call(`${base}/latest/meta-data/${path}`, { method: "GET", headers: { "X-aws-ec2-metadata-token": token } }, path, timeout)
  const trimmed = value.trim()
  if (trimmed === "") return yield* new InstanceMetadataFailed({ path, reason: "empty answer", retryable: false })
  return trimmed
})

export const readInstanceId = (options: InstanceMetadataOptions = {}) => readInstanceMetadata("instance-id", options)

/**
 * The state Auto Scaling is moving this instance to. AWS: "When an instance prepares to transition
 * to one of the preceding steady states, Amazon EC2 Auto Scaling updates the value of the instance
 * metadata item `autoscaling/target-lifecycle-state`" (InService, Terminated, Detached, Standby,
 * Warmed:*), and where the item was never generated "it is not present, and you receive an HTTP
 * 404 error" ("Retrieve the target lifecycle state through instance metadata", EC2 Auto Scaling
 * user guide). None stands for that 404.
 */
export const readTargetLifecycleState = (options: InstanceMetadataOptions = {}) =>
  readInstanceMetadata("autoscaling/target-lifecycle-state", options).pipe(
    Effect.map(Option.some),
    Effect.catchIf((error) => error.status === 404, () => Effect.succeedNone)
  )
