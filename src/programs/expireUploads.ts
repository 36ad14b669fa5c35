/**
 * Uploads that never finished: a job still awaiting its source a day after it was created fails
 * with `UploadExpired`, and a multipart upload it had open is aborted, its parts dropped. On AWS
 * the uploads bucket's lifecycle rule (AbortIncompleteMultipartUpload after 1 day) drops the parts
 * of S3 uploads whatever happens here; on `vidpipe serve` this is what removes them.
 */
import { Clock, Duration, Effect, Schedule } from "effect"
import { JobStore } from "../services/JobStore.ts"
import { UploadSlots } from "../services/UploadSlots.ts"
import { failJob } from "./jobRecords.ts"

/** As long as S3's lifecycle rule gives an incomplete multipart upload (infra/storage.ts). */
export const uploadLifetime = Duration.days(1)

export const expireUploadsOnce = Effect.fn("expireUploads")(function*(lifetime: Duration.Duration = uploadLifetime) {
  const store = yield* JobStore
  const slots = yield* UploadSlots
  const now = yield* Clock.currentTimeMillis
  const cutoff = now - Duration.toMillis(lifetime)
  const jobs = yield* store.list({ activeOnly: true, createdBefore: cutoff, limit: 1000 })
  for (const job of jobs) {
    if (job.status !== "awaiting-upload" || job.createdAt > cutoff) continue
    const expire = Effect.gen(function*() {
      if (job.multipartUpload !== undefined) {
        yield* slots.abortMultipart({ jobId: job.id, key: job.sourceKey, uploadId: job.multipartUpload.uploadId })
      }
      const error = { _tag: "UploadExpired", message: `no complete upload arrived within ${Duration.format(lifetime)} of creating the job; create a new job to upload again` }
      yield* store.update(job.id, (current) => (current.status === "awaiting-upload" ? failJob(current, error, now) : current))
      yield* Effect.logWarning(`job ${job.id}: ${error.message}`)
    })
    yield* expire.pipe(Effect.catch((error) => Effect.logWarning(`upload expiry: job ${job.id}: ${error.message}`)))
  }
})

/** Every hour, for as long as the server runs. */
export const runUploadExpiry = expireUploadsOnce().pipe(
  Effect.catch((error) => Effect.logWarning(`upload expiry: ${error.message}`)),
  Effect.repeat(Schedule.spaced("1 hour"))
)
