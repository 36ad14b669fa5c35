/**
 * What happens when a source has landed in storage (the local upload route, or an S3
 * ObjectCreated event): the job leaves `awaiting-upload` and its plan task goes on the queue. A
 * worker takes it and ingests (probe, ladder, tasks): the receiver of the upload needs no ffprobe
 * and does not read the source, so the ingest Lambda has no ffprobe layer to build
 * (docs/deploy.md, "Where uploads are probed"). A transient store or queue failure is retried here,
 * then returned to the caller (the ingest Lambda then fails, and Lambda retries the event; a plan
 * that never got sent is re-sent by the sweeper). Sending the plan twice is harmless: queue
 * deduplication, and a second ingest keeps the first plan.
 */
import { Clock, Effect } from "effect"
import { recordEvent } from "../domain/jobEvents.ts"
import { planTaskId } from "../domain/Task.ts"
import { JobStore } from "../services/JobStore.ts"
import { PipelineMetrics } from "../services/PipelineMetrics.ts"
import { retryTransient } from "../domain/retryTransient.ts"
import { enqueueTask } from "./taskMessages.ts"

const transient = retryTransient(4)

const acceptOnce = Effect.fnUntraced(function*(jobId: string) {
  const store = yield* JobStore
  const metrics = yield* PipelineMetrics
  const now = yield* Clock.currentTimeMillis
  const job = yield* store.update(jobId, (current) =>
    current.status === "awaiting-upload" ? recordEvent({ ...current, status: "queued", updatedAt: now }, "upload.completed", now) : current)
  yield* enqueueTask({ _tag: "plan", jobId, taskId: planTaskId(jobId), attempt: 1, sourceKey: job.sourceKey })
  yield* metrics.record("TasksEnqueued")
  // The scale-out signal: an upload with no worker running still brings one up to plan it.
  yield* metrics.record("ScaleOut")
})

export const acceptUpload = Effect.fn("acceptUpload")(function*(jobId: string) {
  yield* acceptOnce(jobId).pipe(Effect.retry(transient))
  yield* Effect.logInfo(`job ${jobId}: upload accepted, plan task enqueued`)
})

/** The services accepting an upload needs (the upload route captures them when it is built). */
export type AcceptUploadServices = Effect.Services<ReturnType<typeof acceptUpload>>
