/**
 * S3 `ObjectCreated` notifications on the uploads bucket → `acceptUpload` for the job whose source
 * landed (keys are `<jobId>/<fileName>`): the job is recorded queued and its plan task sent; a
 * worker probes and plans it (this function runs no ffprobe). Records are handled independently. A malformed event, a
 * record for another kind of event or for a key no job expects is logged and reported in the
 * result, never thrown. Only a backend failure is thrown (after every record was tried), so that
 * Lambda's retry of the asynchronous invocation delivers the event again: records already accepted
 * are then reported as duplicates.
 */
import { Cause, Effect, Exit, Layer, ManagedRuntime, Schema } from "effect"
import { lambdaConfiguredLayer, lambdaLayerConfig } from "../../layers/fromConfig.ts"
import type { AcceptUploadServices } from "../../programs/acceptUpload.ts"
import { acceptUpload } from "../../programs/acceptUpload.ts"
import { JobStore } from "../../services/JobStore.ts"
import { describeSchemaError, ObjectCreatedRecord, rawKeyOf, S3EventEnvelope } from "./s3Event.ts"

export interface Accepted {
  readonly bucket: string
  readonly key: string
  readonly jobId: string
  readonly size: number
}

export interface Rejected {
  /** The key as it was in the event (absent when the event had none). */
  readonly key?: string
  readonly reason: string
  /** A backend failure: the same record may succeed later. */
  readonly retryable: boolean
}

export interface IngestResult {
  readonly accepted: ReadonlyArray<Accepted>
  readonly rejected: ReadonlyArray<Rejected>
}

export type IngestServices = JobStore | AcceptUploadServices

export class IngestIncomplete extends Error {
  readonly result: IngestResult
  constructor(result: IngestResult) {
    super(`ingest: ${result.rejected.filter((r) => r.retryable).map((r) => `${r.key}: ${r.reason}`).join("; ")}`)
    this.name = "IngestIncomplete"
    this.result = result
  }
}

const reject = (reason: string, key: string | undefined, retryable = false): Rejected => ({ ...(key === undefined ? {} : { key }), reason, retryable })

/**
 * Accepts only a job still waiting for this very key. A job that is `queued` without tasks is not
 * planned yet (or its invocation was cut short before the plan task was sent) and is accepted
 * again: the plan task is re-sent, and the queue's deduplication drops a copy. Any later state
 * means the event is a duplicate.
 */
const acceptRecord = Effect.fn("ingest.acceptRecord")(function*(record: ObjectCreatedRecord, rawKey: string) {
  const key = record.s3.object.key
  const jobId = key.slice(0, Math.max(0, key.indexOf("/")))
  if (jobId.length === 0) return reject(`${key} is not a job's upload key (<jobId>/<fileName>)`, rawKey)
  // Only a missing job is the event's fault; a failing store is retried.
  const job = yield* (yield* JobStore).get(jobId).pipe(Effect.catchTag("JobNotFound", () => Effect.succeed(undefined)))
  if (job === undefined) return reject(`no job ${jobId} for ${key}`, rawKey)
  if (job.sourceKey !== key) return reject(`job ${jobId} expects its source at ${job.sourceKey}, not ${key}`, rawKey)
  const { status, tasks } = job
  if (status !== "awaiting-upload" && !(status === "queued" && tasks.length === 0)) {
    return reject(`job ${jobId} is already ${status}: duplicate event ignored`, rawKey)
  }
  yield* acceptUpload(jobId)
  const accepted: Accepted = { bucket: record.s3.bucket.name, key, jobId, size: record.s3.object.size }
  return accepted
})

const handleRecord = (raw: unknown): Effect.Effect<Accepted | Rejected, never, IngestServices> =>
  Schema.decodeUnknownEffect(ObjectCreatedRecord)(raw).pipe(
    Effect.matchEffect({
      onFailure: (error) => Effect.succeed(reject(describeSchemaError(error), rawKeyOf(raw))),
      onSuccess: (record) => acceptRecord(record, rawKeyOf(raw) ?? record.s3.object.key)
    }),
    Effect.exit,
    Effect.map((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      // JobStoreFailed and the like: worth retrying. A defect is a bug, not worth a retry.
      const failure = Cause.findErrorOption(exit.cause)
      return failure._tag === "Some"
        ? reject(failure.value.message, rawKeyOf(raw), failure.value.retryable)
        : reject(`unexpected: ${Cause.pretty(exit.cause)}`, rawKeyOf(raw))
    })
  )

export const ingestEvent = Effect.fn("ingestEvent")(function*(event: unknown) {
  const envelope = yield* Schema.decodeUnknownEffect(S3EventEnvelope)(event).pipe(Effect.result)
  if (envelope._tag === "Failure") {
    const result: IngestResult = { accepted: [], rejected: [reject(`not an S3 event: ${describeSchemaError(envelope.failure)}`, undefined)] }
    yield* Effect.logWarning(`ingest: ${result.rejected[0]?.reason}`)
    return result
  }
  const outcomes = yield* Effect.forEach(envelope.success.Records, handleRecord, { concurrency: 4 })
  const accepted = outcomes.filter((o): o is Accepted => "jobId" in o)
  const rejected = outcomes.filter((o): o is Rejected => "reason" in o)
  for (const a of accepted) yield* Effect.logInfo(`ingest: accepted ${a.key} (${a.size} bytes) for job ${a.jobId}`)
  for (const r of rejected) yield* Effect.logWarning(`ingest: rejected ${r.key ?? "(no key)"}: ${r.reason}`)
  const result: IngestResult = { accepted, rejected }
  return result
})

export type IngestHandler = ((event: unknown, context?: unknown) => Promise<IngestResult>) & {
  readonly dispose: () => Promise<void>
}

/** The services are built on the first event and reused by every later one in this container. */
export const makeIngestHandler = <E>(servicesLayer: Layer.Layer<IngestServices, E>): IngestHandler => {
  const runtime = ManagedRuntime.make(servicesLayer)
  const handle = async (event: unknown) => {
    const result = await runtime.runPromise(ingestEvent(event))
    if (result.rejected.some((r) => r.retryable)) throw new IngestIncomplete(result)
    return result
  }
  return Object.assign(handle, { dispose: () => runtime.dispose() })
}

let configured: IngestHandler | undefined

/**
 * Everything `handler` reads from its environment: what `lambdaConfiguredLayer` reads when it is
 * built (VIDPIPE_METRICS must not be cloudwatch in a Lambda). The chunk policy is read where the
 * job is planned, on the worker. The infrastructure test runs it against the function's deployed
 * environment.
 */
export const handlerConfig = lambdaLayerConfig

/**
 * The deployed entry point: backends from `lambdaConfiguredLayer`, built on the first event.
 * Everything an event causes (job records, the plan task's SendMessage, metrics as EMF lines) is
 * done when the promise resolves: Lambda freezes the environment then.
 */
export const handler = (event: unknown, context?: unknown): Promise<IngestResult> => {
  configured ??= makeIngestHandler(lambdaConfiguredLayer)
  return configured(event, context)
}
