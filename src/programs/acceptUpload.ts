/**
 * What happens when a source has landed in storage (the local upload route, or an S3
 * ObjectCreated event): the job leaves `awaiting-upload` and is ingested. Transient failures are
 * retried; anything else fails the job with its reason, so a client polling it sees why.
 */
import { Clock, Effect, Schedule } from "effect"
import { errorInfo } from "../domain/Job.ts"
import { JobStore } from "../services/JobStore.ts"
import { ingest } from "./ingest.ts"
import { failJob } from "./jobRecords.ts"

const transient = Schedule.exponential("500 millis").pipe(
  Schedule.setInputType<{ readonly retryable: boolean }>(),
  Schedule.while(({ input }) => input.retryable),
  Schedule.upTo({ times: 4 })
)

export const acceptUpload = Effect.fn("acceptUpload")(function*(jobId: string) {
  const store = yield* JobStore
  const now = yield* Clock.currentTimeMillis
  yield* store.update(jobId, (job) => (job.status === "awaiting-upload" ? { ...job, status: "queued", updatedAt: now } : job))
  yield* ingest(jobId).pipe(
    Effect.retry(transient),
    Effect.catch((error) =>
      Effect.gen(function*() {
        yield* Effect.logWarning(`job ${jobId}: ingest failed: ${error.message}`)
        const failedAt = yield* Clock.currentTimeMillis
        yield* store.update(jobId, (job) => failJob(job, errorInfo(error), failedAt)).pipe(Effect.ignore)
      })
    )
  )
})

/** The services accepting an upload needs (the upload route captures them when it is built). */
export type AcceptUploadServices = Effect.Services<ReturnType<typeof acceptUpload>>
