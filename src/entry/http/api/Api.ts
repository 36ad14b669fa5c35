/**
 * The vidpipe HTTP API (issue 4) as a definition only: endpoints, their schemas and error
 * statuses. `vidpipe serve` implements it (routes.ts); API Gateway + Lambda can serve the same
 * definition, and clients and the OpenAPI document derive from it.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Strategy } from "../../../domain/Chunking.ts"
import { JobView } from "../../../domain/JobView.ts"
import {
  JobConflictResponse,
  JobNotFoundResponse,
  ServiceUnavailableResponse
} from "./ApiErrors.ts"
import { ApiKeys } from "./ApiKeys.ts"
import { RateLimits } from "./RateLimits.ts"
import { RequestGuard } from "./RequestGuard.ts"
import { WebhooksGroup } from "./WebhooksGroup.ts"

const intBetween = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))

export const CreateJobRequest = Schema.Struct({
  fileName: Schema.String.check(Schema.isBetweenLength(1, 255)),
  /** Exact size of the upload; the server also caps it at its configured upload limit. */
  contentLength: intBetween(1, Number.MAX_SAFE_INTEGER),
  contentType: Schema.optionalKey(Schema.String.check(Schema.isBetweenLength(1, 255))),
  /** Rungs by their short side, e.g. [1080, 720, 480]. */
  ladder: Schema.optionalKey(Schema.Array(intBetween(16, 4320)).check(Schema.isBetweenLength(1, 8))),
  /**
   * How the video is divided into tasks: "rendition" (a task per rung), "chunk" (a task per time
   * span, every rung from one decode) or "auto" (the default: chunk when the source is long enough
   * to give every worker work).
   */
  strategy: Schema.optionalKey(Strategy),
  /** false: no storyboard (scrub thumbnails); the poster is always cut. */
  storyboard: Schema.optionalKey(Schema.Boolean),
  /**
   * Sidecar captions, SubRip (.srt) or WebVTT (.vtt) by `fileName`, with their RFC 5646 language;
   * refused with a 400 naming the file and line when malformed. The whole request stays within
   * the API's body limit (64 KiB).
   */
  captions: Schema.optionalKey(Schema.Array(Schema.Struct({
    fileName: Schema.String.check(Schema.isBetweenLength(1, 255)),
    language: Schema.String.check(Schema.isBetweenLength(2, 35)),
    text: Schema.String
  })).check(Schema.isBetweenLength(1, 16)))
})
export type CreateJobRequest = typeof CreateJobRequest.Type

/** One signed PUT: the whole source, or one part of it. */
const signedPut = {
  url: Schema.String,
  method: Schema.Literal("PUT"),
  /** Send these as they are: the size is part of the upload's signature. */
  headers: Schema.Record(Schema.String, Schema.String),
  /** The PUT must start by then (VIDPIPE_UPLOAD_EXPIRY_SECONDS after it was signed, 5 s by default). */
  expiresAt: Schema.String
}

/** A source up to VIDPIPE_MULTIPART_THRESHOLD bytes (64 MiB by default): one PUT of the whole file. */
export const SingleUpload = Schema.Struct({ kind: Schema.Literal("single"), ...signedPut })

const multipartLayout = {
  contentLength: Schema.Int,
  /** Every part but the last is exactly this long; part N covers bytes (N-1)·partSize onwards. */
  partSize: Schema.Int,
  partCount: Schema.Int
}

/**
 * A larger source: in parts, under S3's rules. Ask `POST /v1/jobs/{jobId}/upload/parts` for the
 * parts' URLs (each signed for its exact length, and short-lived: ask right before sending), PUT
 * each part and keep its `ETag` response header, then `POST /v1/jobs/{jobId}/upload/complete`.
 */
export const MultipartUpload = Schema.Struct({ kind: Schema.Literal("multipart"), ...multipartLayout })

export const UploadInstructions = Schema.Union([SingleUpload, MultipartUpload])

export const CreatedJob = Schema.Struct({ jobId: Schema.String, upload: UploadInstructions })
export type CreatedJob = typeof CreatedJob.Type

export const JobPage = Schema.Struct({
  jobs: Schema.Array(JobView),
  /** Pass back as `cursor` for the next (older) page; absent on the last page. */
  nextCursor: Schema.optionalKey(Schema.String)
})
export type JobPage = typeof JobPage.Type

const jobParams = { jobId: Schema.String.check(Schema.isBetweenLength(1, 128)) }

/** The most part URLs one call hands out: a client asks again as it goes (they expire within seconds). */
export const maxPartsPerRequest = 100

export const PartUrlsRequest = Schema.Struct({
  partNumbers: Schema.Array(intBetween(1, 10_000)).check(Schema.isBetweenLength(1, maxPartsPerRequest))
})

export const PartUrls = Schema.Struct({
  parts: Schema.Array(Schema.Struct({ partNumber: Schema.Int, ...signedPut }))
})

/** An upload in progress: what is stored so far, so a client that lost its connection sends only the rest. */
export const UploadProgress = Schema.Struct({
  kind: Schema.Literal("multipart"),
  ...multipartLayout,
  parts: Schema.Array(Schema.Struct({ partNumber: Schema.Int, size: Schema.Int, etag: Schema.String }))
})

export const CompleteUploadRequest = Schema.Struct({
  /** Every part, 1 to partCount in order, with the `ETag` its PUT answered. */
  parts: Schema.Array(Schema.Struct({
    partNumber: intBetween(1, 10_000),
    etag: Schema.String.check(Schema.isBetweenLength(1, 128))
  })).check(Schema.isBetweenLength(1, 10_000))
})

export class JobsGroup extends HttpApiGroup.make("jobs").add(
  HttpApiEndpoint.post("create", "/jobs", {
    payload: CreateJobRequest,
    success: CreatedJob.pipe(HttpApiSchema.status(201)),
    error: ServiceUnavailableResponse
  }),
  HttpApiEndpoint.get("list", "/jobs", {
    query: {
      limit: Schema.optionalKey(intBetween(1, 100)),
      cursor: Schema.optionalKey(Schema.String.check(Schema.isBetweenLength(1, 4096)))
    },
    success: JobPage,
    error: ServiceUnavailableResponse
  }),
  HttpApiEndpoint.get("get", "/jobs/:jobId", {
    params: jobParams,
    success: JobView,
    error: [JobNotFoundResponse, ServiceUnavailableResponse]
  }),
  HttpApiEndpoint.get("uploadProgress", "/jobs/:jobId/upload", {
    params: jobParams,
    success: UploadProgress,
    error: [JobNotFoundResponse, JobConflictResponse, ServiceUnavailableResponse]
  }),
  HttpApiEndpoint.post("partUrls", "/jobs/:jobId/upload/parts", {
    params: jobParams,
    payload: PartUrlsRequest,
    success: PartUrls,
    error: [JobNotFoundResponse, JobConflictResponse, ServiceUnavailableResponse]
  }),
  HttpApiEndpoint.post("completeUpload", "/jobs/:jobId/upload/complete", {
    params: jobParams,
    payload: CompleteUploadRequest,
    success: JobView,
    error: [JobNotFoundResponse, JobConflictResponse, ServiceUnavailableResponse]
  }),
  HttpApiEndpoint.post("retry", "/jobs/:jobId/retry", {
    params: jobParams,
    success: JobView.pipe(HttpApiSchema.status(202)),
    error: [JobNotFoundResponse, JobConflictResponse, ServiceUnavailableResponse]
  }),
  HttpApiEndpoint.delete("delete", "/jobs/:jobId", {
    params: jobParams,
    success: HttpApiSchema.NoContent,
    error: [JobNotFoundResponse, ServiceUnavailableResponse]
  })
).annotateMerge(OpenApi.annotations({ title: "Jobs", description: "Submit videos and follow them to a DASH presentation" })) {}

// The middleware added last runs first. ApiKeys: an unauthenticated request is refused before its
// body is looked at. Then RateLimits (it needs ApiKeys' caller): a key over its limits is refused
// before RequestGuard and the handler read anything.
export class Api extends HttpApi.make("vidpipe")
  .add(JobsGroup)
  .add(WebhooksGroup)
  .middleware(RequestGuard)
  .middleware(RateLimits)
  .middleware(ApiKeys)
  .prefix("/v1")
  .annotateMerge(OpenApi.annotations({ title: "vidpipe API", version: "1" }))
{}

export const openApiPath = "/v1/openapi.json"
export const docsPath = "/v1/docs"
