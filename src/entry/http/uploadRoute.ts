/**
 * `PUT /upload/{jobId}?expires=…&signature=…`: where clients send a source, straight to storage,
 * under the rules of an S3 presigned PUT. The signature covers the key, the exact Content-Length
 * and the expiry; the expiry is checked when the request starts (a slow upload that started in
 * time completes); the body is streamed to storage, never held whole; and a completed upload
 * triggers ingest the way an S3 event would. A refused upload stores nothing and answers 4xx
 * (503 when the job store or storage fails) with a JSON reason.
 *
 * Uploads in flight are bounded per job owner (`uploadsPerKey`, VIDPIPE_API_UPLOADS_PER_KEY): one
 * more is refused with 429 and `Retry-After` before its body is read, and stores nothing; its URL
 * stays good until it expires. Jobs without an owner (made by the CLI, or before owners were
 * recorded) are not bounded: no key's client holds an upload URL for them (the CLI stores its
 * sources itself, and an old job's URL expired long ago), so there is no key to bound.
 */
import { Clock, Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
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

export const uploadRoutes = (secret: string, options: UploadRouteOptions = {}) =>
  HttpRouter.use(Effect.fnUntraced(function*(router) {
    const services = yield* Effect.context<JobStore | Storage | AcceptUploadServices>()
    const bound = options.uploadsPerKey ?? 0
    const slots = makeUploadSlots(bound)
    const handler = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const { jobId = "" } = yield* HttpRouter.params
      const query = new URL(request.url, "http://upload").searchParams
      const expires = Number(query.get("expires"))
      const signature = query.get("signature") ?? ""
      const lengthHeader = request.headers["content-length"]
      if (lengthHeader === undefined || !/^\d+$/.test(lengthHeader)) {
        return yield* refuse(411, "LengthRequired", "send the exact Content-Length the upload URL was issued for")
      }
      const contentLength = Number(lengthHeader)
      const store = yield* JobStore
      // Only JobNotFound is a 404: a store that fails (a Redis blip) says nothing about the job, so
      // the client is told to try again, and nothing is stored.
      const job = yield* Effect.result(store.get(jobId))
      if (job._tag === "Failure") {
        return job.failure._tag === "JobNotFound"
          ? yield* refuse(404, "JobNotFound", `job not found: ${jobId}`)
          : yield* Effect.logError(`upload ${jobId}: ${job.failure.message}`).pipe(
            // The API's own answer to a backend failure (api/handlers.ts), details only in the log.
            Effect.andThen(refuse(503, "ServiceUnavailable", "a backend is unavailable; try again"))
          )
      }
      const valid = Number.isFinite(expires) && verifyUpload(secret, { method: "PUT", key: job.success.sourceKey, contentLength, expires }, signature)
      if (!valid) return yield* refuse(403, "SignatureDoesNotMatch", "the signature does not match this upload (URL, key or Content-Length changed)")
      if ((yield* Clock.currentTimeMillis) > expires) return yield* refuse(403, "RequestExpired", "the upload URL has expired; ask for a new one")
      if (job.success.status !== "awaiting-upload") return yield* refuse(409, "AlreadyUploaded", `job ${jobId} is ${job.success.status}, not awaiting an upload`)

      const storage = yield* Storage
      const put = Effect.result(storage.putStream("uploads", job.success.sourceKey, request.stream, { contentLength, ifNoneMatch: true }))
      const owner = job.success.owner
      const stored = bound > 0 && owner !== undefined ? yield* slots.holding(owner, put) : yield* put
      if (stored === undefined) {
        return yield* refuse(
          429,
          "TooManyRequests",
          `this API key has ${bound} uploads in progress, the most it may have at once; retry when one has finished`,
          { "retry-after": String(uploadRetryAfterSeconds) }
        )
      }
      if (stored._tag === "Failure") {
        const error = stored.failure
        if (error._tag === "ObjectExists") return yield* refuse(409, "AlreadyUploaded", `job ${jobId} already has its source`)
        if (error._tag === "StorageFailed" && !error.retryable) return yield* refuse(400, "IncompleteBody", error.reason)
        return yield* refuse(503, "StorageUnavailable", error.message)
      }
      // Like an S3 ObjectCreated event: the plan task is sent on its own, the client polls the job.
      // A plan that could not be sent is re-sent by the sweeper (the job is queued without tasks).
      yield* Effect.forkDetach(acceptUpload(jobId).pipe(
        Effect.catch((error) => Effect.logError(`upload ${jobId}: could not enqueue its plan yet: ${error.message}`))
      ))
      return HttpServerResponse.empty({ status: 200 })
    }).pipe(Effect.provideContext(services))
    yield* router.add("PUT", "/upload/:jobId", handler)
  }))
