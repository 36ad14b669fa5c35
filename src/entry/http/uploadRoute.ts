/**
 * `PUT /upload/{jobId}?expires=…&signature=…`: where clients send a source, straight to storage,
 * under the rules of an S3 presigned PUT. The signature covers the key, the exact Content-Length
 * and the expiry; the expiry is checked when the request starts (a slow upload that started in
 * time completes); the body is streamed to storage, never held whole; and a completed upload
 * triggers ingest the way an S3 event would. A refused upload stores nothing and answers 4xx
 * (503 when the job store or storage fails) with a JSON reason.
 *
 * A multipart upload's parts come to `PUT /upload/{jobId}/parts/{partNumber}?uploadId=…`, under
 * the same rules, and are kept in storage until the API's complete call joins them (localMultipart.ts).
 *
 * Uploads (whole sources and parts alike) in flight are bounded per job owner (`uploadsPerKey`, VIDPIPE_API_UPLOADS_PER_KEY): one
 * more is refused with 429 and `Retry-After` before its body is read, and stores nothing; its URL
 * stays good until it expires. Jobs without an owner (made by the CLI, or before owners were
 * recorded) are not bounded: no key's client holds an upload URL for them (the CLI stores its
 * sources itself, and an old job's URL expired long ago), so there is no key to bound.
 */
import { Clock, Effect } from "effect"
import type { HttpServerError } from "effect/http"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { ObjectExists, StorageFailed, UploadFailed, UploadNotFound } from "../../domain/Errors.ts"
import { makeLocalMultipart } from "../../layers/local/localMultipart.ts"
import { verifyUpload } from "../../layers/local/uploadSignature.ts"
import type { AcceptUploadServices } from "../../programs/acceptUpload.ts"
import { acceptUpload } from "../../programs/acceptUpload.ts"
import { JobStore } from "../../services/JobStore.ts"
import { Storage } from "../../services/Storage.ts"

const refuse = (status: number, tag: string, message: string, headers?: Record<string, string>) =>
  HttpServerResponse.json({ error: { _tag: tag, message } }, { status, ...(headers === undefined ? {} : { headers }) }).pipe(Effect.orDie)

export interface UploadRouteOptions {
  /** Uploads in flight at once for the jobs of one owner (key id); absent or 0: no bound. */
  readonly uploadsPerKey?: number
}

/**
 * When the bound is reached, a client cannot know how long the uploads ahead of it take; a second
 * is the shortest wait `Retry-After` can say, and upload URLs are short-lived (5 s by default).
 */
const uploadRetryAfterSeconds = 1

/** Counts of uploads in flight per owner; a slot is taken or refused at once, never waited for. */
const makeUploadSlots = (bound: number) => {
  const inFlight = new Map<string, number>()
  return {
    /** The upload, holding a slot of `owner` for as long as it runs; undefined when none is free. */
    holding: <A, E, R>(owner: string, upload: Effect.Effect<A, E, R>) =>
      Effect.suspend(() => {
        const held = inFlight.get(owner) ?? 0
        if (held >= bound) return Effect.succeed(undefined)
        inFlight.set(owner, held + 1)
        return upload.pipe(Effect.ensuring(Effect.sync(() => {
          const left = (inFlight.get(owner) ?? 1) - 1
          if (left > 0) inFlight.set(owner, left)
          else inFlight.delete(owner)
        })))
      })
  }
}

/** The Content-Length a request declares, or undefined when it has none (chunked) or a bad one. */
const declaredLength = (request: HttpServerRequest.HttpServerRequest) => {
  const header = request.headers["content-length"]
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined
}

const lengthRequired = refuse(411, "LengthRequired", "send the exact Content-Length the upload URL was issued for")

/** The job an upload is for; only JobNotFound is a 404 (a failing store says nothing about the job). */
const jobFor = (jobId: string, route: string) =>
  Effect.gen(function*() {
    const store = yield* JobStore
    const job = yield* Effect.result(store.get(jobId))
    if (job._tag === "Success") return { job: job.success }
    const response = job.failure._tag === "JobNotFound"
      ? yield* refuse(404, "JobNotFound", `job not found: ${jobId}`)
      : yield* Effect.logError(`${route} ${jobId}: ${job.failure.message}`).pipe(
        // The API's own answer to a backend failure (api/handlers.ts), details only in the log.
        Effect.andThen(refuse(503, "ServiceUnavailable", "a backend is unavailable; try again"))
      )
    return { response }
  })

/** A failed store of the body, as the client should hear it. */
const storeRefusal = (jobId: string, error: StorageFailed | ObjectExists | UploadFailed | UploadNotFound | HttpServerError.HttpServerError) => {
  if (error._tag === "ObjectExists") return refuse(409, "AlreadyUploaded", `job ${jobId} already has its source`)
  if (error._tag === "UploadNotFound") return refuse(409, "NoSuchUpload", `job ${jobId} has no upload in progress (completed or aborted)`)
  if (error._tag === "StorageFailed" && !error.retryable) return refuse(400, "IncompleteBody", error.reason)
  return refuse(503, "StorageUnavailable", error.message)
}

export const uploadRoutes = (secret: string, options: UploadRouteOptions = {}) =>
  HttpRouter.use(Effect.fnUntraced(function*(router) {
    const services = yield* Effect.context<JobStore | Storage | AcceptUploadServices>()
    const bound = options.uploadsPerKey ?? 0
    const slots = makeUploadSlots(bound)
    const tooMany = refuse(
      429,
      "TooManyRequests",
      `this API key has ${bound} uploads in progress, the most it may have at once; retry when one has finished`,
      { "retry-after": String(uploadRetryAfterSeconds) }
    )
    /** Runs `store` in one of the owner's upload slots; undefined when none is free. */
    const holdingSlot = <A, E, R>(owner: string | undefined, store: Effect.Effect<A, E, R>) =>
      bound > 0 && owner !== undefined ? slots.holding(owner, store) : Effect.map(store, (a): A | undefined => a)

    const single = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const { jobId = "" } = yield* HttpRouter.params
      const query = new URL(request.url, "http://upload").searchParams
      const expires = Number(query.get("expires"))
      const signature = query.get("signature") ?? ""
      const contentLength = declaredLength(request)
      if (contentLength === undefined) return yield* lengthRequired
      const found = yield* jobFor(jobId, "upload")
      if (found.response !== undefined) return found.response
      const job = found.job
      const valid = Number.isFinite(expires) && verifyUpload(secret, { method: "PUT", key: job.sourceKey, contentLength, expires }, signature)
      if (!valid) return yield* refuse(403, "SignatureDoesNotMatch", "the signature does not match this upload (URL, key or Content-Length changed)")
      if ((yield* Clock.currentTimeMillis) > expires) return yield* refuse(403, "RequestExpired", "the upload URL has expired; ask for a new one")
      if (job.status !== "awaiting-upload") return yield* refuse(409, "AlreadyUploaded", `job ${jobId} is ${job.status}, not awaiting an upload`)

      const storage = yield* Storage
      const stored = yield* holdingSlot(job.owner, Effect.result(storage.putStream("uploads", job.sourceKey, request.stream, { contentLength, ifNoneMatch: true })))
      if (stored === undefined) return yield* tooMany
      if (stored._tag === "Failure") return yield* storeRefusal(jobId, stored.failure)
      // Like an S3 ObjectCreated event: the plan task is sent on its own, the client polls the job.
      // A plan that could not be sent is re-sent by the sweeper (the job is queued without tasks).
      yield* Effect.forkDetach(acceptUpload(jobId).pipe(
        Effect.catch((error) => Effect.logError(`upload ${jobId}: could not enqueue its plan yet: ${error.message}`))
      ))
      return HttpServerResponse.empty({ status: 200 })
    }).pipe(Effect.provideContext(services))

    /**
     * One part of a multipart upload, under UploadPart's rules: signed over the upload id, the
     * part number and its exact length; a part sent again replaces the earlier one; the answer's
     * `ETag` is what completing the upload names it by.
     */
    const part = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const { jobId = "", partNumber: partParam = "" } = yield* HttpRouter.params
      const query = new URL(request.url, "http://upload").searchParams
      const expires = Number(query.get("expires"))
      const signature = query.get("signature") ?? ""
      const uploadId = query.get("uploadId") ?? ""
      const partNumber = /^\d{1,5}$/.test(partParam) ? Number(partParam) : Number.NaN
      const contentLength = declaredLength(request)
      if (contentLength === undefined) return yield* lengthRequired
      const found = yield* jobFor(jobId, "upload part")
      if (found.response !== undefined) return found.response
      const job = found.job
      const valid = Number.isFinite(expires) && Number.isInteger(partNumber) &&
        verifyUpload(secret, { method: "PUT", key: job.sourceKey, contentLength, expires, part: { uploadId, partNumber } }, signature)
      if (!valid) return yield* refuse(403, "SignatureDoesNotMatch", "the signature does not match this part (URL, upload, part number or Content-Length changed)")
      if ((yield* Clock.currentTimeMillis) > expires) return yield* refuse(403, "RequestExpired", "the part's URL has expired; ask for a new one")
      if (job.status !== "awaiting-upload" || job.multipartUpload?.uploadId !== uploadId) {
        return yield* refuse(409, "NoSuchUpload", `job ${jobId} has no upload ${uploadId} in progress (completed or aborted)`)
      }
      const multipart = makeLocalMultipart(yield* Storage)
      const target = { jobId, key: job.sourceKey, uploadId }
      const offset = (partNumber - 1) * job.multipartUpload.partSize
      const stored = yield* holdingSlot(job.owner, Effect.result(multipart.storePart(target, { partNumber, offset, contentLength }, request.stream)))
      if (stored === undefined) return yield* tooMany
      if (stored._tag === "Failure") return yield* storeRefusal(jobId, stored.failure)
      return HttpServerResponse.empty({ status: 200, headers: { etag: stored.success } })
    }).pipe(Effect.provideContext(services))

    yield* router.add("PUT", "/upload/:jobId", single)
    yield* router.add("PUT", "/upload/:jobId/parts/:partNumber", part)
  }))
