/**
 * The client side of the upload API (issue 20), for a file on this machine: what
 * `vidpipe submit --api URL` does, the way any user's script would. It creates the job
 * (`POST /v1/jobs`), sends the file in one signed PUT or, for a large source, in parts (a few in
 * flight, each part's URL asked for just before it is sent, each part streamed from the file with
 * a read stream of its own: the file is never held in memory; the HTTP client must be undici's,
 * NodeHttpClient.layerUndici, which sends a Node stream body as it is), retries what can be
 * retried, and completes the upload. Every answer of the API is decoded with the schemas of Api.ts (the client
 * is derived from the API's definition); the part PUTs go straight to their signed URLs.
 *
 * Retries: a 503, a 5xx from something in between, a body cut short or a failed connection backs
 * off (0.5 s doubling, at most 8 s, jittered), up to `attempts` tries (6); a 429 waits its
 * Retry-After (a part PUT gets four times as many tries of those: another client of the same key
 * may hold the server's uploads-per-key slots for a while). A part URL that expired before the PUT
 * reached the server (403 RequestExpired) is replaced by a fresh one at once. Anything else (a
 * refused key, a bad request, a signature that does not match) stops the upload with the API's
 * own reason; the job then stays awaiting its upload.
 */
import { createReadStream } from "node:fs"
import { Clock, Effect, FileSystem, Option, Redacted, Schema, Semaphore } from "effect"
import { HttpBody, HttpClient, type HttpClientError, HttpClientRequest } from "effect/http"
import { HttpApiClient } from "effect/http-api"
import type { JobNotFound } from "../../domain/Errors.ts"
import type { JobView } from "../../domain/JobView.ts"
import type { MultipartLayout } from "../../domain/Multipart.ts"
import { partLengthOf } from "../../domain/Multipart.ts"
import { Api, maxPartsPerRequest } from "../http/api/Api.ts"
import type { CreateJobRequest } from "../http/api/Api.ts"
import type {
  BadRequest,
  InvalidApiKey,
  JobConflict,
  MissingApiKey,
  PayloadTooLarge,
  ServiceUnavailable,
  TooManyRequests,
  UnsupportedMediaType
} from "../http/api/ApiErrors.ts"
import { apiKeyHeader } from "../http/api/ApiKeys.ts"

/** Why an upload through the API stopped, said so that the user knows what to do. */
export class ApiUploadFailed extends Schema.TaggedError<ApiUploadFailed>()("ApiUploadFailed", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/** The API's origin as the user typed it (`http://host:8080`, with or without `/v1` and slashes). */
export const apiOrigin = (input: string): URL | undefined => {
  try {
    const url = new URL(input.trim().replace(/\/+$/, "").replace(/\/v1$/, ""))
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined
  } catch {
    return undefined
  }
}

/** Makes the client of the API's definition, sending the key with every call (never logged). */
export const makeApiSession = (origin: URL, key: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const base = origin.href.replace(/\/+$/, "")
    const api = yield* HttpApiClient.make(Api, {
      baseUrl: base,
      transformClient: HttpClient.mapRequest(HttpClientRequest.setHeader(apiKeyHeader, Redacted.value(key)))
    })
    return { api, http, origin } as const
  })

export type ApiSession = Effect.Success<ReturnType<typeof makeApiSession>>

/** A URL the API handed out, absolute (the server gives relative ones without VIDPIPE_PUBLIC_URL). */
export const absoluteUrl = (session: ApiSession, url: string) => new URL(url, session.origin).href

// ---------------------------------------------------------------------------------------------
// Deciding what to do with a failure

/**
 * What to do about a failure: retry (after `afterMs`, or backing off), ask for a fresh URL (this
 * one expired before the PUT reached the server), or stop. `AlreadyStored`: a single upload's slot
 * has its source (409 AlreadyUploaded), which after a try whose answer was lost means done.
 */
type Verdict =
  | { readonly _tag: "Retry"; readonly afterMs?: number; readonly reason: string; readonly limited?: boolean }
  | { readonly _tag: "Expired" }
  | { readonly _tag: "AlreadyStored"; readonly reason: string }
  | { readonly _tag: "Stop"; readonly reason: string }

const backoffMs = (failures: number) => Math.min(8_000, 500 * 2 ** Math.max(0, failures - 1)) * (0.75 + Math.random() * 0.5)

/** The API's error answer, as every endpoint and the upload route send it (ApiErrors.ts). */
const ErrorBody = Schema.fromJsonString(Schema.Struct({
  error: Schema.Struct({ _tag: Schema.String, message: Schema.String, field: Schema.optionalKey(Schema.String) })
}))
const decodeErrorBody = Schema.decodeUnknownOption(ErrorBody)

const withField = (message: string, field: string | undefined) => (field === undefined ? message : `${message} (field ${field})`)

/** The failures the client derived from Api.ts can give (each endpoint a subset). */
type ApiCallError =
  | MissingApiKey
  | InvalidApiKey
  | BadRequest
  | PayloadTooLarge
  | UnsupportedMediaType
  | TooManyRequests
  | JobNotFound
  | JobConflict
  | ServiceUnavailable
  | HttpClientError.HttpClientError
  | Schema.SchemaError

const describeApiError = (error: ApiCallError, what: string): Verdict => {
  switch (error._tag) {
    case "TooManyRequests":
      return { _tag: "Retry", afterMs: error.retryAfterSeconds * 1000, reason: `${what}: the API is limiting this key (429): ${error.message}` }
    case "ServiceUnavailable":
      return { _tag: "Retry", reason: `${what}: the server's backends are unavailable (503): ${error.message}` }
    case "MissingApiKey":
    case "InvalidApiKey":
      return { _tag: "Stop", reason: `${what}: the API refused the key in VIDPIPE_API_KEY (${error._tag}): ${error.message}` }
    case "BadRequest":
      return { _tag: "Stop", reason: `${what}: the API refused the request (400): ${withField(error.message, error.field)}` }
    case "PayloadTooLarge":
      return { _tag: "Stop", reason: `${what}: the request was too large for the API (413): ${error.message}` }
    case "UnsupportedMediaType":
      return { _tag: "Stop", reason: `${what}: the API did not take the request's body (415): ${error.message}` }
    case "JobNotFound":
      return { _tag: "Stop", reason: `${what}: ${error.message} (404)` }
    case "JobConflict":
      return { _tag: "Stop", reason: `${what}: not possible now (409): ${withField(error.message, error.field)}` }
    case "HttpClientError": {
      // No answer (the connection failed), or an answer the API does not declare (a proxy's 502…).
      const status = error.response?.status
      if (status === undefined) return { _tag: "Retry", reason: `${what}: could not reach the API (${error.message})` }
      if (status >= 500) return { _tag: "Retry", reason: `${what}: the server failed (${status})` }
      return { _tag: "Stop", reason: `${what}: unexpected answer ${status} from the API` }
    }
    case "SchemaError":
      return { _tag: "Stop", reason: `${what}: the API answered something this client does not understand (${error.message})` }
  }
}

/**
 * Runs an API call until it succeeds, retrying what the verdict allows at most `attempts` times
 * in all; fails with the last reason.
 */
const retrying = <A, E extends ApiCallError, R>(what: string, call: Effect.Effect<A, E, R>, attempts = 6) =>
  Effect.gen(function*() {
    for (let attempt = 1; ; attempt++) {
      const result = yield* Effect.result(call)
      if (result._tag === "Success") return result.success
      const verdict = describeApiError(result.failure, what)
      if (verdict._tag !== "Retry") return yield* new ApiUploadFailed({ reason: verdict._tag === "Stop" ? verdict.reason : `${what}: unexpected answer` })
      if (attempt >= attempts) return yield* new ApiUploadFailed({ reason: `${verdict.reason} (gave up after ${attempts} tries)` })
      yield* Effect.sleep(verdict.afterMs ?? backoffMs(attempt))
    }
  })

// ---------------------------------------------------------------------------------------------
// One PUT of a range of the file

interface SignedPut {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/** Progress of the bytes sent so far: parts stored, plus what the parts in flight have read. */
export interface UploadProgress {
  readonly sent: number
  readonly total: number
  readonly partsDone: number
  readonly partCount: number
}

/** Headers the HTTP client sets itself (Content-Length from the body's exact length). */
const ownHeaders = new Set(["content-length", "host", "connection", "transfer-encoding"])

/** Read-ahead of a part's file stream: large reads cost less CPU per byte. */
const readChunkBytes = 1024 * 1024

/**
 * PUTs bytes `offset` to `offset + length` of `file` to a signed URL, streamed: a read stream of
 * this range only, handed to the HTTP client as it is (undici pipes it to the socket with no copy
 * through Effect streams: on a loaded machine the client's CPU is upload speed). `counted` hears of
 * the bytes read, every 100 ms. Answers the ETag header (a part's is needed to complete the upload;
 * a single PUT's is not).
 */
const putRange = (
  session: ApiSession,
  target: SignedPut,
  file: string,
  offset: number,
  length: number,
  counted: (bytes: number) => void,
  needsEtag: boolean
): Effect.Effect<string, Verdict> =>
  Effect.gen(function*() {
    const signedLength = Object.entries(target.headers).find(([name]) => name.toLowerCase() === "content-length")?.[1]
    if (signedLength !== undefined && Number(signedLength) !== length) {
      return yield* Effect.fail<Verdict>({ _tag: "Stop", reason: `the URL was signed for ${signedLength} bytes, not the ${length} this client would send` })
    }
    const body = yield* Effect.acquireRelease(
      Effect.sync(() => createReadStream(file, { start: offset, end: offset + length - 1, highWaterMark: readChunkBytes })),
      (stream) => Effect.sync(() => stream.destroy())
    )
    let told = 0
    const tell = Effect.sync(() => {
      if (body.bytesRead > told) {
        counted(body.bytesRead - told)
        told = body.bytesRead
      }
    })
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(tell, Effect.sleep(100))))
    const request = HttpClientRequest.put(absoluteUrl(session, target.url)).pipe(
      HttpClientRequest.setHeaders(Object.fromEntries(Object.entries(target.headers).filter(([name]) => !ownHeaders.has(name.toLowerCase())))),
      HttpClientRequest.setBody(HttpBody.raw(body, { contentLength: length }))
    )
    const response = yield* session.http.execute(request).pipe(
      Effect.mapError((error): Verdict => ({ _tag: "Retry", reason: `the connection failed (${error.message})` }))
    )
    const text = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
    yield* tell
    if (response.status >= 200 && response.status < 300) {
      const etag = response.headers["etag"]
      if (needsEtag && (etag === undefined || etag === "")) {
        return yield* Effect.fail<Verdict>({ _tag: "Stop", reason: `the server stored the part but sent no ETag (${response.status}; a proxy between may drop it)` })
      }
      return etag ?? ""
    }
    const error = Option.getOrUndefined(decodeErrorBody(text))?.error
    const said = error === undefined ? (text.trim().slice(0, 200) || "no reason given") : `${error._tag}: ${withField(error.message, error.field)}`
    if (response.status === 403 && error?._tag === "RequestExpired") return yield* Effect.fail<Verdict>({ _tag: "Expired" })
    if (response.status === 409 && error?._tag === "AlreadyUploaded") return yield* Effect.fail<Verdict>({ _tag: "AlreadyStored", reason: `${response.status} ${said}` })
    if (response.status === 429) {
      const seconds = Number(response.headers["retry-after"])
      return yield* Effect.fail<Verdict>({
        _tag: "Retry",
        limited: true,
        ...(Number.isFinite(seconds) && seconds > 0 ? { afterMs: seconds * 1000 } : {}),
        reason: `the server has too many uploads of this key in progress (429): ${said}`
      })
    }
    // A body cut short (IncompleteBody) or a server failure: the same bytes may well go through.
    if (response.status >= 500 || error?._tag === "IncompleteBody") return yield* Effect.fail<Verdict>({ _tag: "Retry", reason: `${response.status} ${said}` })
    return yield* Effect.fail<Verdict>({ _tag: "Stop", reason: `${response.status} ${said}` })
  }).pipe(Effect.scoped)

// ---------------------------------------------------------------------------------------------
// Part URLs, asked for just before they are used

interface PartUrl extends SignedPut {
  /** Local time until which this URL may still start a PUT (its expiry less a margin). */
  readonly usableUntil: number
}

/** Margin kept before a URL's expiry: a PUT must start (reach the server) by then. */
const expiryMarginMs = 1_000

/**
 * URLs for the parts of an upload. Asked for the part about to be sent, it signs that one and
 * the next ones not yet started, as many as are likely to start within half the URLs' lifetime
 * (from how long the parts take so far), up to the API's 100 a request; one per part in flight
 * at first, before any part has been timed. On a fast link parts start many times a second, and
 * asking for a few at a time would run into the API's rate limit (10 requests a second by default
 * on `serve`): measured on loopback, 2 parts in flight sent 306 MiB/s asking 2 at a time, 685
 * MiB/s without the limit.
 */
const makePartSigner = (session: ApiSession, jobId: string, todo: ReadonlyArray<number>, concurrency: number) => {
  const cache = new Map<number, PartUrl>()
  const started = new Set<number>()
  const lock = Semaphore.makeUnsafe(1)
  /** Seconds a part has taken, on average (undefined until one is stored). */
  let partSeconds: number | undefined
  let lifetimeMs = 5_000

  const batchFor = (partNumber: number, now: number) => {
    const perStartMs = partSeconds === undefined ? 0 : (partSeconds * 1000) / concurrency
    const batch = [partNumber]
    for (const next of todo) {
      if (batch.length >= (partSeconds === undefined ? concurrency : maxPartsPerRequest)) break
      if (next <= partNumber || started.has(next)) continue
      const cached = cache.get(next)
      if (cached !== undefined && cached.usableUntil > now) continue
      // The k-th part after this one starts about k part-times / concurrency from now.
      if (perStartMs * batch.length > (lifetimeMs - expiryMarginMs) / 2) break
      batch.push(next)
    }
    return batch
  }

  return {
    /** A URL for `partNumber` that can still start a PUT; `fresh` asks the API for a new one. */
    urlFor: (partNumber: number, fresh: boolean) =>
      Effect.gen(function*() {
        started.add(partNumber)
        const now = yield* Clock.currentTimeMillis
        const cached = cache.get(partNumber)
        cache.delete(partNumber)
        if (!fresh && cached !== undefined && cached.usableUntil > now) return cached
        const partNumbers = batchFor(partNumber, now)
        const answer = yield* retrying(`asking for the URLs of parts ${partNumbers.join(", ")}`, session.api.jobs.partUrls({ params: { jobId }, payload: { partNumbers } }))
        const receivedAt = yield* Clock.currentTimeMillis
        let own: PartUrl | undefined
        for (const part of answer.parts) {
          const expiresAt = Date.parse(part.expiresAt)
          if (Number.isFinite(expiresAt)) lifetimeMs = Math.max(expiryMarginMs, expiresAt - now)
          const url: PartUrl = { url: part.url, headers: part.headers, usableUntil: Number.isFinite(expiresAt) ? expiresAt - expiryMarginMs : receivedAt }
          if (part.partNumber === partNumber) own = url
          else if (partNumbers.includes(part.partNumber)) cache.set(part.partNumber, url)
        }
        if (own === undefined) return yield* new ApiUploadFailed({ reason: `the API sent no URL for part ${partNumber}` })
        // Used at once whatever the clocks say (this machine's may differ from the server's).
        return own
      }).pipe(lock.withPermit),
    partTook: (seconds: number) => {
      partSeconds = partSeconds === undefined ? seconds : partSeconds * 0.7 + seconds * 0.3
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Progress

const makeProgress = (total: number, partCount: number, onProgress: (progress: UploadProgress) => void) => {
  let stored = 0
  let inFlight = 0
  let partsDone = 0
  const tell = () => onProgress({ sent: Math.min(total, stored + inFlight), total, partsDone, partCount })
  return {
    /** Counts the bytes of one attempt; `undo` takes them back when it fails, `keep` makes them stored. */
    attempt: () => {
      let counted = 0
      return {
        counted: (bytes: number) => {
          counted += bytes
          inFlight += bytes
          tell()
        },
        undo: () => {
          inFlight -= counted
          counted = 0
          tell()
        },
        keep: (length: number) => {
          inFlight -= counted
          stored += length
          partsDone++
          tell()
        }
      }
    },
    alreadyStored: (bytes: number, parts: number) => {
      stored += bytes
      partsDone += parts
      tell()
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The upload

export interface UploadOptions {
  readonly file: string
  /** The job to create; its `contentLength` is the file's size. */
  readonly request: Omit<CreateJobRequest, "contentLength">
  /** PUTs in flight at once for a multipart upload (default 4). */
  readonly concurrency?: number
  /** Tries per request before giving up (default 6). */
  readonly attempts?: number
  readonly onProgress?: (progress: UploadProgress) => void
  /** Told once the job exists, before any byte is sent. */
  readonly onCreated?: (created: { readonly jobId: string; readonly kind: "single" | "multipart"; readonly partCount: number }) => Effect.Effect<void>
}

const fileSize = Effect.fnUntraced(function*(file: string) {
  const fs = yield* FileSystem.FileSystem
  const info = yield* fs.stat(file).pipe(Effect.mapError(() => new ApiUploadFailed({ reason: `cannot read ${file}: no such file` })))
  if (info.type !== "File") return yield* new ApiUploadFailed({ reason: `${file} is not a regular file` })
  if (info.size === 0n) return yield* new ApiUploadFailed({ reason: `${file} is empty (0 bytes)` })
  return Number(info.size)
})

/** Sends one range of the file (a part, or the whole file) with retries; answers its ETag. */
const sendRange = (
  session: ApiSession,
  what: string,
  file: string,
  offset: number,
  length: number,
  progress: ReturnType<typeof makeProgress>,
  /** The URL for a try; `expired`: the last one expired before the PUT reached the server. */
  nextUrl: (expired: boolean) => Effect.Effect<SignedPut, ApiUploadFailed>,
  attempts: number,
  needsEtag: boolean
) =>
  Effect.gen(function*() {
    let failures = 0
    let expiries = 0
    let limited = 0
    let expired = false
    while (true) {
      const target = yield* nextUrl(expired)
      const attempt = progress.attempt()
      const result = yield* Effect.result(putRange(session, target, file, offset, length, attempt.counted, needsEtag))
      if (result._tag === "Success") {
        attempt.keep(length)
        return result.success
      }
      attempt.undo()
      const verdict = result.failure
      // Stored by an earlier try of this one, whose answer was lost on the way back.
      if (verdict._tag === "AlreadyStored" && failures > 0) return ""
      if (verdict._tag === "Stop" || verdict._tag === "AlreadyStored") return yield* new ApiUploadFailed({ reason: `${what}: ${verdict.reason}` })
      if (verdict._tag === "Expired") {
        // The URL expired before the PUT reached the server: a fresh one, at once.
        if (++expiries >= attempts) return yield* new ApiUploadFailed({ reason: `${what}: its URL expired before the upload could start, ${expiries} times (the server's clock, or a very slow start)` })
        expired = true
        continue
      }
      // Too many uploads of this key at once (another client of the same key?): wait as told, longer.
      const tries = verdict.limited === true ? ++limited : ++failures
      if (tries >= (verdict.limited === true ? attempts * 4 : attempts)) {
        return yield* new ApiUploadFailed({ reason: `${what}: ${verdict.reason} (gave up after ${tries} tries)` })
      }
      yield* Effect.logInfo(`${what}: ${verdict.reason}; trying again`)
      yield* Effect.sleep(verdict.afterMs ?? backoffMs(tries))
      expired = false
    }
  })

/**
 * Sends the parts of `layout` not in `stored` (a resumed upload sends only the rest), `concurrency`
 * at a time, and answers every part's ETag, 1 to partCount.
 */
export const uploadParts = Effect.fn("uploadParts")(function*(
  session: ApiSession,
  options: {
    readonly jobId: string
    readonly layout: MultipartLayout
    readonly file: string
    readonly stored?: ReadonlyArray<{ readonly partNumber: number; readonly size: number; readonly etag: string }>
    readonly concurrency: number
    readonly attempts: number
    readonly onProgress: (progress: UploadProgress) => void
  }
) {
  const { file, jobId, layout } = options
  const etags = new Map<number, string>()
  const progress = makeProgress(layout.contentLength, layout.partCount, options.onProgress)
  let storedBytes = 0
  for (const part of options.stored ?? []) {
    if (part.size === partLengthOf(layout, part.partNumber)) {
      etags.set(part.partNumber, part.etag)
      storedBytes += part.size
    }
  }
  progress.alreadyStored(storedBytes, etags.size)
  const todo = Array.from({ length: layout.partCount }, (_, i) => i + 1).filter((n) => !etags.has(n))
  const signer = makePartSigner(session, jobId, todo, options.concurrency)
  yield* Effect.forEach(todo, (partNumber) =>
    Effect.gen(function*() {
      const length = partLengthOf(layout, partNumber) ?? 0
      const started = yield* Clock.currentTimeMillis
      const etag = yield* sendRange(
        session,
        `part ${partNumber} of ${layout.partCount}`,
        file,
        (partNumber - 1) * layout.partSize,
        length,
        progress,
        (fresh) => signer.urlFor(partNumber, fresh),
        options.attempts,
        true
      )
      signer.partTook(((yield* Clock.currentTimeMillis) - started) / 1000)
      etags.set(partNumber, etag)
    }), { concurrency: options.concurrency, discard: true })
  return Array.from({ length: layout.partCount }, (_, i) => ({ partNumber: i + 1, etag: etags.get(i + 1) ?? "" }))
})

/** Completes a multipart upload; a retry that finds the job already past it counts as done. */
const completeUpload = Effect.fn("completeUpload")(function*(
  session: ApiSession,
  jobId: string,
  parts: ReadonlyArray<{ readonly partNumber: number; readonly etag: string }>,
  attempts: number
) {
  const call = session.api.jobs.completeUpload({ params: { jobId }, payload: { parts } })
  for (let attempt = 1; ; attempt++) {
    const result = yield* Effect.result(call)
    if (result._tag === "Success") return result.success
    const failure = result.failure
    // An earlier try may have completed it, its answer lost on the way back.
    if (failure._tag === "JobConflict" && attempt > 1) {
      const job = yield* retrying(`reading job ${jobId}`, session.api.jobs.get({ params: { jobId } }))
      if (job.status !== "awaiting-upload") return job
    }
    const verdict = describeApiError(failure, "completing the upload")
    if (verdict._tag !== "Retry") return yield* new ApiUploadFailed({ reason: verdict._tag === "Stop" ? verdict.reason : "completing the upload: unexpected answer" })
    if (attempt >= attempts) return yield* new ApiUploadFailed({ reason: `${verdict.reason} (gave up after ${attempts} tries)` })
    yield* Effect.sleep(verdict.afterMs ?? backoffMs(attempt))
  }
})

/**
 * Creates a job for `file` through the API and uploads it (one PUT, or in parts); answers the
 * job id once the upload is in (complete, for a multipart upload).
 */
export const uploadThroughApi = Effect.fn("uploadThroughApi")(function*(session: ApiSession, options: UploadOptions) {
  const attempts = options.attempts ?? 6
  const concurrency = Math.max(1, Math.min(16, options.concurrency ?? 4))
  const onProgress = options.onProgress ?? (() => undefined)
  const size = yield* fileSize(options.file)
  const created = yield* retrying("creating the job", session.api.jobs.create({ payload: { ...options.request, contentLength: size } }), attempts)
  const { jobId, upload } = created
  if (upload.kind === "single") {
    yield* options.onCreated?.({ jobId, kind: "single", partCount: 1 }) ?? Effect.void
    const progress = makeProgress(size, 1, onProgress)
    let used = false
    const usableUntil = Date.parse(upload.expiresAt) - expiryMarginMs
    const url = Effect.fnUntraced(function*(expired: boolean) {
      // A single PUT's URL cannot be renewed: a retry uses it while it is still good.
      if (expired || (used && (yield* Clock.currentTimeMillis) > usableUntil)) {
        return yield* new ApiUploadFailed({
          reason: `the upload URL of job ${jobId} expired before the upload could go through (the server's VIDPIPE_UPLOAD_EXPIRY_SECONDS); submit again`
        })
      }
      used = true
      return upload
    })
    yield* sendRange(session, "the upload", options.file, 0, size, progress, url, attempts, false)
    return jobId
  }
  if (upload.contentLength !== size || upload.partCount !== Math.ceil(size / upload.partSize) || upload.partSize <= 0) {
    return yield* new ApiUploadFailed({ reason: `the API's part layout (${upload.partCount} parts of ${upload.partSize} bytes) does not fit ${size} bytes` })
  }
  yield* options.onCreated?.({ jobId, kind: "multipart", partCount: upload.partCount }) ?? Effect.void
  const parts = yield* uploadParts(session, { jobId, layout: upload, file: options.file, concurrency, attempts, onProgress })
  yield* completeUpload(session, jobId, parts, attempts)
  return jobId
})

/** GET /v1/jobs/{id}, every `everyMs`, until ready or failed; `onUpdate` sees each new state. */
export const followJob = Effect.fn("followJob")(function*(
  session: ApiSession,
  jobId: string,
  onUpdate: (job: JobView) => Effect.Effect<void>,
  everyMs = 500
) {
  let last = ""
  while (true) {
    const job = yield* retrying(`reading job ${jobId}`, session.api.jobs.get({ params: { jobId } }))
    if (job.updatedAt !== last) {
      last = job.updatedAt
      yield* onUpdate(job)
    }
    if (job.status === "ready" || job.status === "failed") return job
    yield* Effect.sleep(everyMs)
  }
})

/** Whether the presentation has an audio track: its MPD lists an audio adaptation set. */
export const hasAudio = (session: ApiSession, manifest: string) =>
  session.http.get(manifest).pipe(
    Effect.flatMap((response) => response.text),
    Effect.map((mpd) => /<AdaptationSet[^>]*contentType="audio"/.test(mpd)),
    Effect.orElseSucceed(() => false)
  )
