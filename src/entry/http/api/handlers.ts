/**
 * The server side of the jobs endpoints, over the services (not their backends), so the same
 * handlers run in `vidpipe serve` and behind API Gateway. Backend failures become a 503 and are
 * logged; their details stay out of responses.
 *
 * Tenancy: a job belongs to the key that created it (`owner`, the key's id). Another key gets the
 * same 404 as for a job that does not exist, so ids do not leak; an admin key sees every job.
 */
import { Clock, Effect, Option, Result } from "effect"
import { languageOf, sidecarToWebVtt } from "../../../domain/Captions.ts"
import { storeSidecarCaptions } from "../../../programs/sidecarCaptions.ts"
import { HttpApiBuilder } from "effect/http-api"
import { JobNotFound } from "../../../domain/Errors.ts"
import type { Job } from "../../../domain/Job.ts"
import { recordEvent } from "../../../domain/jobEvents.ts"
import { newJob, newJobId, safeFileName } from "../../../programs/jobRecords.ts"
import { enqueueTask } from "../../../programs/taskMessages.ts"
import { CdnCache } from "../../../services/CdnCache.ts"
import { Coordinator } from "../../../services/Coordinator.ts"
import { JobQueue } from "../../../services/JobQueue.ts"
import { JobStore } from "../../../services/JobStore.ts"
import { PipelineSettings } from "../../../services/PipelineSettings.ts"
import { Storage } from "../../../services/Storage.ts"
import { UploadSlots } from "../../../services/UploadSlots.ts"
import { multipartLayoutFor, partLengthOf, completionProblem, MiB } from "../../../domain/Multipart.ts"
import type { MultipartTarget } from "../../../services/UploadSlots.ts"
import { Api } from "./Api.ts"
import { BadRequest, JobConflict, unavailable } from "./ApiErrors.ts"
import type { ApiCallerShape } from "./ApiKeys.ts"
import { ApiCaller } from "./ApiKeys.ts"
import type { PlaybackAccess } from "../playbackToken.ts"
import { ownerViewAt } from "../playbackToken.ts"
import { decodeCursor, listJobs } from "./jobPaging.ts"
import { resetForRetry, retryRefusal, retryTasks } from "./retryJob.ts"

export interface JobsHandlersOptions {
  /** Where the outputs area is served, e.g. "https://cdn.example.com" or "/cdn". */
  readonly deliveryBase: string
  readonly maxUploadBytes: number
  /** Sources above it upload in parts (default 64 MiB; at most 5 GiB, S3's single-PUT limit). */
  readonly multipartThreshold?: number
  /**
   * What a completed multipart upload sets off where storage does not announce it itself: on
   * `vidpipe serve`, accepting the upload at once. Absent on AWS, where S3's
   * `ObjectCreated:CompleteMultipartUpload` event reaches the ingest Lambda, as for a single PUT.
   */
  readonly acceptCompletedUpload?: (jobId: string) => Effect.Effect<void>
  /** Public delivery (the default), or signed: views give the owner a short-lived token path. */
  readonly playback?: PlaybackAccess
}


/** The store's own answer for a job that does not exist (ApiErrors.ts answers it with a 404). */
const notFound = (jobId: string) => Effect.fail(new JobNotFound({ jobId }))

/** Whether `caller` may see `job`: its owner, or an admin key (the only ones seeing unowned jobs). */
export const canSee = (caller: ApiCallerShape, job: Pick<Job, "owner">) => caller.admin || job.owner === caller.keyId

export const jobsHandlers = (options: JobsHandlersOptions) =>
  HttpApiBuilder.group(
    Api,
    "jobs",
    Effect.fn(function*(handlers) {
      const store = yield* JobStore
      const storage = yield* Storage
      const coordinator = yield* Coordinator
      const uploadSlots = yield* UploadSlots
      const queue = yield* JobQueue
      // A no-op where there is no CDN (NoCdnCache), CloudFront on AWS.
      const cdn = yield* CdnCache
      const { segmentSeconds } = yield* PipelineSettings

      /** The view the caller (who may see the job) gets: with signed playback, a fresh token. */
      const ownerView = ownerViewAt(options.playback ?? { mode: "public" }, options.deliveryBase)
      const viewOf = (job: Job) => Effect.map(Clock.currentTimeMillis, (now) => ownerView(job, now))

      const threshold = options.multipartThreshold ?? 64 * MiB

      /**
       * The caller's job with its multipart upload still open: a 409 for a job whose source came
       * in one PUT, or that has it already.
       */
      const findOpenUpload = (jobId: string) =>
        Effect.gen(function*() {
          const job = yield* findJob(jobId)
          const upload = job.multipartUpload
          if (upload === undefined) return yield* new JobConflict({ message: `job ${jobId} takes its source in one PUT, not in parts` })
          if (job.status !== "awaiting-upload") return yield* new JobConflict({ message: `job ${jobId} is ${job.status}: its upload is complete` })
          const target: MultipartTarget = { jobId: job.id, key: job.sourceKey, uploadId: upload.uploadId }
          return { job, upload, target }
        })

      /** The upload is gone (completed by a concurrent call, or aborted): the job's state says which. */
      const uploadGone = (jobId: string) => Effect.fail(new JobConflict({ message: `job ${jobId} has no upload in progress (completed or aborted)` }))

      /** The caller's job, or the same 404 whether it does not exist or is another key's. */
      const findJob = (jobId: string) =>
        Effect.gen(function*() {
          const caller = yield* ApiCaller
          const job = yield* store.get(jobId).pipe(Effect.catchTag("JobStoreFailed", unavailable))
          return canSee(caller, job) ? job : yield* notFound(jobId)
        })

      return handlers.handleAll({
        create: Effect.fnUntraced(function*({ payload }) {
          if (payload.contentLength > options.maxUploadBytes) {
            return yield* new BadRequest({ message: `uploads are limited to ${options.maxUploadBytes} bytes`, field: "contentLength" })
          }
          // Captions are checked before anything is recorded: a bad file is a 400 naming it and the line.
          const captions = yield* Effect.forEach(payload.captions ?? [], (caption, i) => {
            const language = languageOf(caption.language)
            if (language === undefined) {
              return Effect.fail(new BadRequest({ message: `"${caption.language}" is not a language tag like en or pt-BR`, field: `captions[${i}].language` }))
            }
            const webVtt = sidecarToWebVtt(safeFileName(caption.fileName), caption.text)
            return Result.isFailure(webVtt)
              ? Effect.fail(new BadRequest({ message: webVtt.failure.message, field: `captions[${i}].text` }))
              : Effect.succeed({ fileName: caption.fileName, language, webVtt: webVtt.success })
          })
          const caller = yield* ApiCaller
          const jobId = newJobId()
          const fileName = safeFileName(payload.fileName)
          const sourceKey = `${jobId}/${fileName}`
          // Started before the record, so a recorded job always names an upload that exists (one
          // left without a record is dropped by the bucket's lifecycle rule, or the local expiry).
          const layout = payload.contentLength > threshold ? multipartLayoutFor(payload.contentLength) : undefined
          const uploadId = layout === undefined
            ? undefined
            : yield* uploadSlots.startMultipart({ jobId, key: sourceKey, contentType: payload.contentType }).pipe(Effect.catch(unavailable))
          const sidecarCaptions = yield* storeSidecarCaptions(`${jobId}/`, captions).pipe(
            Effect.provideService(Storage, storage),
            Effect.catch(unavailable)
          )
          const now = yield* Clock.currentTimeMillis
          yield* store.create(recordEvent(newJob({
            id: jobId,
            fileName,
            sourceKey,
            outputPrefix: `${jobId}/`,
            segmentSeconds,
            requestedLadder: payload.ladder,
            strategy: payload.strategy ?? "auto",
            storyboard: payload.storyboard,
            sidecarCaptions,
            now,
            status: "awaiting-upload",
            owner: caller.keyId,
            multipartUpload: layout === undefined || uploadId === undefined ? undefined : { uploadId, ...layout }
          }), "job.created", now)).pipe(Effect.catch(unavailable))
          if (layout !== undefined) return { jobId, upload: { kind: "multipart" as const, ...layout } }
          const slot = yield* uploadSlots.create({ jobId, key: sourceKey, contentLength: payload.contentLength, contentType: payload.contentType })
          return {
            jobId,
            upload: { kind: "single" as const, url: slot.url, method: slot.method, headers: slot.headers, expiresAt: new Date(slot.expiresAt).toISOString() }
          }
        }),

        uploadProgress: Effect.fnUntraced(function*({ params }) {
          const { target, upload } = yield* findOpenUpload(params.jobId)
          const parts = yield* uploadSlots.listParts(target).pipe(
            Effect.catchTags({ UploadNotFound: () => uploadGone(params.jobId), UploadFailed: unavailable })
          )
          return { kind: "multipart" as const, contentLength: upload.contentLength, partSize: upload.partSize, partCount: upload.partCount, parts }
        }),

        partUrls: Effect.fnUntraced(function*({ params, payload }) {
          const { target, upload } = yield* findOpenUpload(params.jobId)
          const parts = yield* Effect.forEach(payload.partNumbers, (partNumber, i) => {
            const contentLength = partLengthOf(upload, partNumber)
            return contentLength === undefined
              ? Effect.fail(new BadRequest({ message: `part ${partNumber} is out of range: the upload has parts 1 to ${upload.partCount}`, field: `partNumbers[${i}]` }))
              : Effect.succeed({ partNumber, contentLength })
          })
          const slots = yield* uploadSlots.signParts(target, parts).pipe(Effect.catch(unavailable))
          return {
            parts: slots.map((slot) => ({ partNumber: slot.partNumber, url: slot.url, method: slot.method, headers: slot.headers, expiresAt: new Date(slot.expiresAt).toISOString() }))
          }
        }),

        completeUpload: Effect.fnUntraced(function*({ params, payload }) {
          const { target, upload } = yield* findOpenUpload(params.jobId)
          const stored = yield* uploadSlots.listParts(target).pipe(
            Effect.catchTags({ UploadNotFound: () => uploadGone(params.jobId), UploadFailed: unavailable })
          )
          // Checked here first, so a missing or stale part is a 400 naming it, whatever storage would say.
          const problem = completionProblem(upload, payload.parts, stored)
          if (problem !== undefined) return yield* new BadRequest(problem)
          yield* uploadSlots.completeMultipart(target, payload.parts).pipe(
            Effect.catchTags({
              PartsRejected: (rejected) => Effect.fail(new BadRequest({ message: rejected.reason, field: rejected.field })),
              PartsInFlight: (busy) => Effect.fail(new JobConflict({ message: `job ${params.jobId}: ${busy.message}` })),
              UploadNotFound: () => uploadGone(params.jobId),
              UploadFailed: unavailable
            })
          )
          if (options.acceptCompletedUpload !== undefined) yield* options.acceptCompletedUpload(params.jobId)
          return yield* Effect.flatMap(findJob(params.jobId), viewOf)
        }),

        list: Effect.fnUntraced(function*({ query }) {
          const cursor = query.cursor === undefined ? Option.none() : decodeCursor(query.cursor)
          if (query.cursor !== undefined && Option.isNone(cursor)) {
            return yield* new BadRequest({ message: "the cursor is not one this API gave out", field: "cursor" })
          }
          const caller = yield* ApiCaller
          // An admin key lists every job; any other key only its own.
          const owner = caller.admin ? undefined : caller.keyId
          const page = yield* listJobs(query.limit ?? 20, Option.getOrUndefined(cursor), owner).pipe(
            Effect.provideService(JobStore, store),
            Effect.catch(unavailable)
          )
          return {
            jobs: yield* Effect.forEach(page.jobs, viewOf),
            ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor })
          }
        }),

        get: ({ params }) => Effect.flatMap(findJob(params.jobId), viewOf),

        retry: Effect.fnUntraced(function*({ params }) {
          const job = yield* findJob(params.jobId)
          const refusal = retryRefusal(job)
          if (refusal !== undefined) return yield* new JobConflict({ message: refusal })
          const now = yield* Clock.currentTimeMillis
          // The update may re-run on contention: the last run decides what was reset.
          let reset: { readonly taskIds: ReadonlyArray<string> } | undefined
          const updated = yield* store.update(job.id, (current) => {
            if (retryRefusal(current) !== undefined) {
              reset = undefined
              return current
            }
            const result = resetForRetry(current, now)
            reset = result
            return result.job
          }).pipe(Effect.catchTag("JobStoreFailed", unavailable))
          if (reset === undefined) {
            return yield* new JobConflict({ message: retryRefusal(updated) ?? `job ${job.id} changed while retrying it` })
          }
          // Milliseconds, so two retries in one second (or a retry and a sweep) still differ. Should
          // sending fail, the job is queued without messages and the sweeper re-sends them once stale.
          yield* Effect.forEach(retryTasks(updated, reset.taskIds, now), enqueueTask, { discard: true }).pipe(
            Effect.provideService(JobQueue, queue),
            Effect.catch(unavailable)
          )
          return yield* viewOf(updated)
        }),

        delete: Effect.fnUntraced(function*({ params }) {
          const job = yield* findJob(params.jobId)
          yield* Effect.gen(function*() {
            // An upload still open: its parts go too (on S3 they would otherwise wait for the lifecycle rule).
            if (job.multipartUpload !== undefined && job.status === "awaiting-upload") {
              yield* uploadSlots.abortMultipart({ jobId: job.id, key: job.sourceKey, uploadId: job.multipartUpload.uploadId })
            }
            yield* storage.deletePrefix("outputs", job.outputPrefix)
            // After the origin lost them, so an edge that refetches finds nothing. A refused
            // invalidation (CloudFront allows 15 wildcard paths in progress) fails the delete:
            // the record stays, and deleting again asks again.
            yield* cdn.forgetPrefix(job.outputPrefix)
            yield* storage.delete("uploads", job.sourceKey)
            yield* coordinator.forget(job.id)
            // The record goes last: if anything above fails, the job is still there to delete again.
            yield* store.delete(job.id)
          }).pipe(Effect.catch(unavailable))
        })
      })
    })
  )
