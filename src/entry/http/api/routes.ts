/**
 * The API as router routes, ready to merge into a server: the `/v1` endpoints, the OpenAPI
 * document and a docs page (those two need no key: they describe the API, they do not use it).
 */
import { Effect, Layer } from "effect"
import { HttpApiBuilder, HttpApiScalar } from "effect/http-api"
import type { AllowedOrigins } from "../cors.ts"
import type { PlaybackAccess } from "../playbackToken.ts"
import { apiCorsPolicy, corsUnder } from "../cors.ts"
import { Api, docsPath, openApiPath } from "./Api.ts"
import { apiKeysLayer, makeKeyRing } from "./ApiKeys.ts"
import { jobsHandlers } from "./handlers.ts"
import type { ApiLimits } from "./RateLimits.ts"
import { noRateLimitsLayer, rateLimitsLayer } from "./RateLimits.ts"
import { requestGuardLayer } from "./RequestGuard.ts"
import { webhooksHandlers } from "./webhookHandlers.ts"

export interface ApiRoutesOptions {
  /** Where the outputs area is served; job views link manifests under it. */
  readonly deliveryBase: string
  /**
   * Accepted `x-api-key` values, each a key or `sha256:<hex>` of one; empty (with no admin keys)
   * means every request is refused. Each key sees only the jobs it created.
   */
  readonly apiKeys: ReadonlyArray<string>
  /** Keys that see and manage every job (an operator's), in the same forms. */
  readonly adminApiKeys?: ReadonlyArray<string>
  /** Behind API Gateway: a job's owner is the usage plan key's id the Lambda passes on. */
  readonly gatewayKeyIds?: boolean
  /** Public delivery (default), or signed: job views give the owner a token path (playbackToken.ts). */
  readonly playback?: PlaybackAccess
  /** Largest upload a job may announce (`contentLength`). */
  readonly maxUploadBytes: number
  /** Sources above it upload in parts (VIDPIPE_MULTIPART_THRESHOLD; default 64 MiB). */
  readonly multipartThreshold?: number
  /** Where storage does not announce a completed upload itself (serve): what accepts it. */
  readonly acceptCompletedUpload?: (jobId: string) => Effect.Effect<void>
  /**
   * Origins whose pages may call the API (CORS; VIDPIPE_CORS_ORIGINS, `corsOriginsConfig`). Absent:
   * none. Not read here: configuration is read by each entry point, before its routes are built.
   */
  readonly corsOrigins?: AllowedOrigins
  /**
   * Rate and daily job quota per key (RateLimits.ts; `rateLimitsConfig`). `vidpipe serve` passes
   * them; the API Lambda leaves them out, as API Gateway's usage plan applies its own.
   */
  readonly limits?: ApiLimits
}

/**
 * Requires HttpRouter and the services JobStore, Storage, JobQueue, Coordinator, UploadSlots,
 * plus the platform services every HttpApi needs (Etag.Generator, FileSystem, HttpPlatform,
 * Path), which NodeHttpServer.layer (or HttpServer.layerServices on Lambda) provides.
 */
export const apiRoutes = (options: ApiRoutesOptions) => {
  const keys = Layer.unwrap(Effect.map(
    makeKeyRing({ keys: options.apiKeys, ...(options.adminApiKeys === undefined ? {} : { adminKeys: options.adminApiKeys }) }),
    (ring) => apiKeysLayer(ring, { gatewayKeyIds: options.gatewayKeyIds === true })
  ))
  return Layer.mergeAll(
    HttpApiBuilder.layer(Api, { openapiPath: openApiPath }).pipe(
      Layer.provide(Layer.mergeAll(jobsHandlers(options), webhooksHandlers).pipe(
        Layer.provide([keys, requestGuardLayer, options.limits === undefined ? noRateLimitsLayer : rateLimitsLayer(options.limits)])
      ))
    ),
    HttpApiScalar.layer(Api, { path: docsPath }),
    // Preflights are answered before the key check (they carry no key).
    corsUnder("/v1", apiCorsPolicy(options.corsOrigins ?? []))
  )
}
