/**
 * `vidpipe serve`: the HTTP API, signed uploads, delivery of outputs (`/cdn`), the player and the
 * web page in one server, plus worker fibers, over whatever backends the configuration names.
 * Binds 127.0.0.1 unless told otherwise.
 */
import { createServer } from "node:http"
import * as path from "node:path"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Duration, Effect, Layer } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { signedUploadSlotsLayer } from "../../layers/local/SignedUploadSlots.ts"
import type { AcceptUploadServices } from "../../programs/acceptUpload.ts"
import { acceptUpload } from "../../programs/acceptUpload.ts"
import { runUploadExpiry } from "../../programs/expireUploads.ts"
import { runSweeper } from "../../programs/sweeper.ts"
import { runWebhookDispatcher } from "../../programs/webhookDelivery.ts"
import { runWorker } from "../../programs/worker.ts"
import { WebhookSettings } from "../../services/WebhookSettings.ts"
import type { KeyLimits } from "./api/RateLimits.ts"
import { apiRoutes } from "./api/routes.ts"
import type { PlaybackAccess } from "./playbackToken.ts"
import { requestLog } from "./requestLog.ts"
import type { AllowedOrigins } from "./cors.ts"
import { corsOriginsConfig, corsUnder } from "./cors.ts"
import { deliveryRoutes, playerRoutes } from "./presentationServer.ts"
import { uploadRoutes } from "./uploadRoute.ts"
import { webAppRoutes } from "./webApp.ts"
import { webhookSettingsConfig } from "./webhookConfig.ts"

export interface ServeOptions {
  readonly port: number
  readonly host: string
  /** Worker fibers in this process (0: only separate `vidpipe worker` processes encode). */
  readonly workers: number
  readonly apiKeys: ReadonlyArray<string>
  /** Keys that see every job (VIDPIPE_ADMIN_API_KEYS). */
  readonly adminApiKeys?: ReadonlyArray<string>
  /** Delivery by job id (default), or only with the token a job view gives (VIDPIPE_PLAYBACK=signed). */
  readonly playback?: PlaybackAccess
  readonly uploadSecret: string
  /** Folder of the storage's outputs area, served at /cdn. */
  readonly outputsDir: string
  /** Public origin, e.g. https://media.example.com; when empty, links are relative and upload URLs use the bound address. */
  readonly publicUrl: string
  readonly maxUploadBytes: number
  /** Sources above it upload in parts (VIDPIPE_MULTIPART_THRESHOLD). */
  readonly multipartThreshold?: number
  readonly uploadExpiry: Duration.Input
  readonly instanceId: string
  /** Origins whose pages may call the API and upload (CORS); read from VIDPIPE_CORS_ORIGINS when absent. */
  readonly corsOrigins?: AllowedOrigins
  /**
   * Limits per API key: rate, daily job quota (the API) and uploads in flight (the upload route);
   * `vidpipe serve` reads them with `rateLimitsConfig`. Absent: none.
   */
  readonly limits?: KeyLimits
}

export const deliveryMount = "/cdn"

/** Upload URLs must be absolute: on the public URL if one is set, else on the address we bound. */
const uploadSlots = (options: ServeOptions) =>
  Layer.unwrap(Effect.gen(function*() {
    const base = options.publicUrl || (yield* HttpServer.addressFormattedWith(Effect.succeed))
    return signedUploadSlotsLayer({ publicBase: base, secret: options.uploadSecret, expiresIn: options.uploadExpiry })
  }))

/**
 * What the S3 bucket's CORS rule allows uploads on AWS (infra/storage.ts), for the API's origins:
 * PUT, and the `ETag` of each part exposed (a page completing a multipart upload must read it).
 */
const uploadCors = (origins: AllowedOrigins) =>
  corsUnder("/upload", { origins, methods: ["PUT"], headers: ["content-type"], exposedHeaders: ["etag"], maxAgeSeconds: 600 })

export const serverLayer = (options: ServeOptions) => {
  const routes = Layer.unwrap(Effect.gen(function*() {
    const corsOrigins = options.corsOrigins === undefined ? yield* corsOriginsConfig : options.corsOrigins
    const services = yield* Effect.context<AcceptUploadServices>()
    // Accepted before the complete call answers, so its job view already says `queued`. A plan
    // that could not be sent is re-sent by the sweeper, as after a single PUT.
    const acceptCompletedUpload = (jobId: string) =>
      acceptUpload(jobId).pipe(
        Effect.catch((error) => Effect.logError(`upload ${jobId}: could not enqueue its plan yet: ${error.message}`)),
        Effect.provideContext(services)
      )
    return Layer.mergeAll(
        apiRoutes({
          deliveryBase: `${options.publicUrl}${deliveryMount}`,
          apiKeys: options.apiKeys,
          ...(options.adminApiKeys === undefined ? {} : { adminApiKeys: options.adminApiKeys }),
          ...(options.playback === undefined ? {} : { playback: options.playback }),
          maxUploadBytes: options.maxUploadBytes,
          ...(options.multipartThreshold === undefined ? {} : { multipartThreshold: options.multipartThreshold }),
          acceptCompletedUpload,
          corsOrigins,
          ...(options.limits === undefined ? {} : { limits: options.limits })
        }),
        uploadRoutes(options.uploadSecret, options.limits === undefined ? {} : { uploadsPerKey: options.limits.uploadsPerKey }),
        uploadCors(corsOrigins),
        deliveryRoutes(path.resolve(options.outputsDir), deliveryMount, options.playback),
        playerRoutes,
        webAppRoutes,
        // Jobs whose upload never completed fail after a day, their parts dropped (expireUploads.ts).
        Layer.effectDiscard(Effect.forkScoped(runUploadExpiry)),
        webhookDispatcher(options)
      )
  })).pipe(Layer.provide(uploadSlots(options)))
  return Layer.merge(
    // Our own request log (debug level): method, path, status, time; never headers or query strings.
    HttpRouter.serve(routes, { disableListenLog: true, disableLogger: true, middleware: requestLog }),
    Layer.effect(HttpServer.HttpServer, HttpServer.HttpServer)
  ).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: options.port, host: options.host })))
}

/**
 * The webhook dispatcher, for as long as the server runs (whatever its worker count: the events of
 * jobs finished by separate workers are relayed here too). Event views link playback on the public
 * URL, or on the address bound when none is set.
 */
export const webhookDispatcher = (options: Pick<ServeOptions, "publicUrl">) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const base = options.publicUrl || (yield* HttpServer.addressFormattedWith(Effect.succeed))
    const settings = yield* webhookSettingsConfig(`${base}${deliveryMount}`)
    yield* Effect.forkScoped(runWebhookDispatcher.pipe(Effect.provideService(WebhookSettings, settings)))
  }))

/** Worker fibers and their sweeper, as a layer that runs for as long as the server does. */
export const embeddedWorkers = (options: Pick<ServeOptions, "workers" | "instanceId">) =>
  Layer.effectDiscard(Effect.gen(function*() {
    if (options.workers <= 0) return
    yield* Effect.forkScoped(runSweeper(options.instanceId))
    for (let i = 1; i <= options.workers; i++) yield* Effect.forkScoped(runWorker(`${options.instanceId}-w${i}`))
  }))
