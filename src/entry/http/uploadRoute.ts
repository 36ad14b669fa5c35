/**
 * `PUT /upload/{jobId}?expires=…&signature=…`: where clients send a source, straight to storage,
 * under the rules of an S3 presigned PUT. The signature covers the key, the exact Content-Length
 * and the expiry; the expiry is checked when the request starts (a slow upload that started in
 * time completes); the body is streamed to storage, never held whole; and a completed upload
 * triggers ingest the way an S3 event would. A refused upload stores nothing and answers 4xx
 * (503 when the job store or storage fails) with a JSON reason.
 */
import { Clock, Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { verifyUpload } from "../../layers/local/uploadSignature.ts"
import type { AcceptUploadServices } from "../../programs/acceptUpload.ts"
import { acceptUpload } from "../../programs/acceptUpload.ts"
import { JobStore } from "../../services/JobStore.ts"
import { Storage } from "../../services/Storage.ts"

const refuse = (status: number, tag: string, message: string) =>
  HttpServerResponse.json({ error: { _tag: tag, message } }, { status }).pipe(Effect.orDie)

export const uploadRoutes = (secret: string) =>
  HttpRouter.use(Effect.fnUntraced(function*(router) {
    const services = yield* Effect.context<JobStore | Storage | AcceptUploadServices>()
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
      const stored = yield* Effect.result(storage.putStream("uploads", job.success.sourceKey, request.stream, { contentLength, ifNoneMatch: true }))
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
