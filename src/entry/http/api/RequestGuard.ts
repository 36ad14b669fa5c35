/**
 * Request hygiene for every `/v1` endpoint: bodies are capped at 64 KiB (1 MiB for completing a
 * multipart upload, whose list of up to 10,000 parts' ETags is longer; refused from their
 * declared length, or as soon as a chunked body passes the cap, never read whole), JSON bodies
 * must say so, and a request that fails its schema gets a 400 naming the offending field in the
 * API's error shape instead of Effect's default empty 400.
 */
import { ByteSize, Effect, Layer, Schema, SchemaIssue } from "effect"
import type { unhandled } from "effect/Types"
import { HttpIncomingMessage, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiError, HttpApiMiddleware } from "effect/http-api"
import {
  BadRequest,
  BadRequestResponse,
  PayloadTooLarge,
  PayloadTooLargeResponse,
  UnsupportedMediaType,
  UnsupportedMediaTypeResponse
} from "./ApiErrors.ts"

export const maxBodyBytes = 64 * 1024

/** Completing an upload lists every part with its ETag: 10,000 parts of up to ~100 bytes of JSON each. */
export const maxCompletionBodyBytes = 1024 * 1024

const bodyLimitOf = (endpointName: string) => (endpointName === "completeUpload" ? maxCompletionBodyBytes : maxBodyBytes)

export class RequestGuard extends HttpApiMiddleware.Service<RequestGuard>()("vidpipe/api/RequestGuard", {
  error: [BadRequestResponse, PayloadTooLargeResponse, UnsupportedMediaTypeResponse]
}) {}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** "ladder[2]", "contentLength": the path of the first issue, or the slot when the whole value is wrong. */
const fieldOf = (error: HttpApiError.HttpApiSchemaError) => {
  const issue = formatIssues(error.cause.issue).issues[0]
  const segments = (issue?.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment))
  const path = segments
    .map((key, index) => (typeof key === "number" ? `[${key}]` : `${index === 0 ? "" : "."}${String(key)}`))
    .join("")
  const slot = error.kind === "Payload" ? "body" : error.kind.toLowerCase()
  return { field: path.length > 0 ? path : slot, message: issue?.message ?? "invalid request" }
}

const encodeTooLarge = Schema.encodeSync(PayloadTooLargeResponse)

// Answered directly rather than failed, so the connection can be closed: the rest of the body
// is never read, and keeping the connection would mean draining it.
const tooLargeResponse = (limit: number) =>
  HttpServerResponse.jsonUnsafe(
    encodeTooLarge(new PayloadTooLarge({ message: `request bodies are limited to ${limit} bytes` })),
    { status: 413, headers: { connection: "close" } }
  )

/** A body read failure the server raised as a defect: too large, or cut short. */
const bodyReadFailure = (defect: unknown) =>
  defect instanceof HttpServerError.HttpServerError && defect.reason._tag === "RequestParseError"
    ? (defect.reason.reason ?? "Parse")
    : undefined

const isJson = (contentType: string | undefined) =>
  contentType === undefined || /^application\/json\s*(;|$)/i.test(contentType.trim())

export const requestGuardLayer = Layer.succeed(RequestGuard, (httpEffect, { endpoint }) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const limit = bodyLimitOf(endpoint.name)
    if (Number(request.headers["content-length"]) > limit) return tooLargeResponse(limit)
    if (endpoint.payload.size > 0 && !isJson(request.headers["content-type"])) {
      return yield* new UnsupportedMediaType({ message: "send the body as application/json" })
    }
    return yield* httpEffect.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(limit)),
      Effect.catch((error): Effect.Effect<never, BadRequest | unhandled> =>
        HttpApiError.HttpApiSchemaError.is(error) && error.kind !== "Body" && error.kind !== "ResponseHeaders"
          ? Effect.fail(new BadRequest(fieldOf(error)))
          : Effect.fail(error)
      ),
      Effect.catchDefect((defect) => {
        const failure = bodyReadFailure(defect)
        if (failure === "BodyTooLarge") return Effect.succeed(tooLargeResponse(limit))
        if (failure === "Parse") return Effect.fail(new BadRequest({ message: "the request body could not be read", field: "body" }))
        return Effect.die(defect)
      })
    )
  }))
