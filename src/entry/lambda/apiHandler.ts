/**
 * The HTTP API behind API Gateway (REST API, Lambda proxy integration): the same HttpApi routes
 * as `vidpipe serve`, answered through a web handler built once per container.
 *
 * API keys: API Gateway checks `x-api-key` against its usage plan before the Lambda runs; the
 * routes still run their own key middleware with VIDPIPE_API_KEYS, so a request that bypasses the
 * usage plan (a misconfigured method, a direct invoke) is refused too. Leaving VIDPIPE_API_KEYS
 * empty refuses every request.
 */
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { lambdaConfiguredLayer, lambdaLayerConfig } from "../../layers/fromConfig.ts"
import type { CdnCache } from "../../services/CdnCache.ts"
import type { Coordinator } from "../../services/Coordinator.ts"
import type { JobQueue } from "../../services/JobQueue.ts"
import type { JobStore } from "../../services/JobStore.ts"
import type { Storage } from "../../services/Storage.ts"
import type { UploadSlots } from "../../services/UploadSlots.ts"
import type { WebhookSender } from "../../services/WebhookSender.ts"
import type { WebhookStore } from "../../services/WebhookStore.ts"
import type { ApiRoutesOptions } from "../http/api/routes.ts"
import { apiRoutes } from "../http/api/routes.ts"
import type { ApiGatewayProxyEvent, ApiGatewayProxyResult } from "./apiGatewayProxy.ts"
import { fromResponse, toRequest } from "./apiGatewayProxy.ts"
import { apiOptionsConfig, uploadSlotsConfig, uploadSlotsLayer } from "./lambdaConfig.ts"

/** What the API's handlers use; the HTTP platform services are added here. */
export type ApiServices = JobStore | Storage | JobQueue | Coordinator | UploadSlots | CdnCache | WebhookStore | WebhookSender

/** The Lambda context is not needed: each request is self-contained. */
export type ApiHandler = ((event: ApiGatewayProxyEvent, context?: unknown) => Promise<ApiGatewayProxyResult>) & {
  /** Releases the services (tests; a Lambda container is simply frozen). */
  readonly dispose: () => Promise<void>
}

/** Same error shape as the API's own errors; details go to the log, not to the client. */
const internalError: ApiGatewayProxyResult = {
  statusCode: 500,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ error: { _tag: "InternalError", message: "the request could not be handled" } }),
  isBase64Encoded: false
}

/** Builds the services and routes now (they are reused by every invocation of this container). */
export const makeApiHandler = <E>(servicesLayer: Layer.Layer<ApiServices, E>, options: ApiRoutesOptions): ApiHandler => {
  const app = apiRoutes(options).pipe(Layer.provide([servicesLayer, HttpServer.layerServices]))
  const web = HttpRouter.toWebHandler(app, { disableLogger: true })
  const handle = async (event: ApiGatewayProxyEvent) => {
    try {
      return await fromResponse(await web.handler(toRequest(event)))
    } catch (error) {
      // A failed build (bad configuration, unreachable backend) rejects every request.
      console.error("vidpipe api: request failed:", error)
      return internalError
    }
  }
  return Object.assign(handle, { dispose: web.dispose })
}

let configured: Promise<ApiHandler> | undefined

/**
 * Everything `handler` reads from its environment: its options, then what its two layers read
 * when they are built (`lambdaConfiguredLayer`, `uploadSlotsLayer`). The infrastructure test runs it
 * against the function's deployed environment.
 */
export const handlerConfig = Effect.all([apiOptionsConfig, lambdaLayerConfig, uploadSlotsConfig])

/**
 * The deployed entry point: backends from `lambdaConfiguredLayer`, options and upload slots (S3 presigned
 * PUTs with s3:// storage) from lambdaConfig.ts. Built on the first invocation, so importing this
 * module has no effect.
 */
export const handler = async (event: ApiGatewayProxyEvent, context?: unknown): Promise<ApiGatewayProxyResult> => {
  configured ??= Effect.runPromise(apiOptionsConfig).then((options) =>
    makeApiHandler(Layer.provideMerge(uploadSlotsLayer, lambdaConfiguredLayer), options)
  )
  const api = await configured.catch((error: unknown) => {
    console.error("vidpipe api: invalid configuration:", error)
    return undefined
  })
  return api === undefined ? internalError : api(event, context)
}
