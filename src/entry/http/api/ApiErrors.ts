/**
 * The errors API clients can get. Every one goes over the wire as
 * `{ "error": { "_tag", "message", "field"? } }` with its own HTTP status, so clients read one
 * shape whatever failed; the `…Response` schemas are what endpoints and middleware declare.
 */
import { Effect, Schema, SchemaTransformation } from "effect"
import { HttpApiSchema } from "effect/http-api"
import { JobNotFound, WebhookNotFound } from "../../../domain/Errors.ts"

const fields = {
  message: Schema.String,
  /** The offending request value, as a path into the body or the name of a parameter. */
  field: Schema.optional(Schema.String)
}

type ErrorProps = { readonly message: string; readonly field?: string | undefined }

const withField = (field: string | undefined) => (field === undefined ? {} : { field })

/** The body every error answer has. */
const envelope = <const Tag extends string>(tag: Tag) =>
  Schema.Struct({
    error: Schema.Struct({ _tag: Schema.Literal(tag), message: Schema.String, field: Schema.optionalKey(Schema.String) })
  })

/** Encodes an error class as the envelope, at `status`; clients decode it back into the class. */
const asResponse = <const Tag extends string, E extends ErrorProps & { readonly _tag: Tag }>(
  tag: Tag,
  status: number,
  self: Schema.Codec<E, unknown, never, never> & (new(props: ErrorProps) => E)
) =>
  envelope(tag).pipe(
    Schema.decodeTo(
      Schema.toType(self),
      SchemaTransformation.transform({
        decode: ({ error }) => new self({ message: error.message, ...withField(error.field) }),
        encode: (e: E) => ({ error: { _tag: tag, message: e.message, ...withField(e.field) } })
      })
    ),
    HttpApiSchema.status(status)
  )

export class MissingApiKey extends Schema.TaggedError<MissingApiKey>()("MissingApiKey", fields) {}
export const MissingApiKeyResponse = asResponse("MissingApiKey", 401, MissingApiKey)

export class InvalidApiKey extends Schema.TaggedError<InvalidApiKey>()("InvalidApiKey", fields) {}
export const InvalidApiKeyResponse = asResponse("InvalidApiKey", 403, InvalidApiKey)

/** Malformed JSON, or a body, path or query value that fails its schema. */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", fields) {}
export const BadRequestResponse = asResponse("BadRequest", 400, BadRequest)

export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", fields) {}
export const PayloadTooLargeResponse = asResponse("PayloadTooLarge", 413, PayloadTooLarge)

export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", fields) {}
export const UnsupportedMediaTypeResponse = asResponse("UnsupportedMediaType", 415, UnsupportedMediaType)

/**
 * A store's own not-found error, answered as a 404 whose message is `prefix` + the id (so a client
 * decodes the same error back) and whose field names the request parameter that held it.
 */
const notFoundResponse = <const Tag extends string, E extends { readonly _tag: Tag }>(
  tag: Tag,
  self: Schema.Codec<E, unknown, never, never>,
  prefix: string,
  idOf: (e: E) => string,
  make: (id: string) => E,
  fieldOf: (id: string) => string
) =>
  envelope(tag).pipe(
    Schema.decodeTo(
      Schema.toType(self),
      SchemaTransformation.transform<E, { readonly error: { readonly _tag: Tag; readonly message: string; readonly field?: string } }>({
        decode: ({ error }) => make(error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message),
        encode: (e: E) => ({ error: { _tag: tag, message: `${prefix}${idOf(e)}`, field: fieldOf(idOf(e)) } })
      })
    ),
    HttpApiSchema.status(404)
  )

/** The job store's own `JobNotFound` (domain/Errors.ts), answered as a 404 about the `jobId` parameter. */
export const JobNotFoundResponse = notFoundResponse("JobNotFound", JobNotFound, "no job ", (e) => e.jobId, (jobId) => new JobNotFound({ jobId }), () => "jobId")

/** The webhook store's `WebhookNotFound` (an endpoint or one of its deliveries), answered as a 404 naming the id. */
export const WebhookNotFoundResponse = notFoundResponse(
  "WebhookNotFound",
  WebhookNotFound,
  "no webhook ",
  (e) => e.id,
  (id) => new WebhookNotFound({ id }),
  (id) => id.startsWith("dlv_") ? "deliveryId" : "webhookId"
)

/** The job is not in a state the request applies to (e.g. retrying a job that has not failed). */
export class JobConflict extends Schema.TaggedError<JobConflict>()("JobConflict", fields) {}
export const JobConflictResponse = asResponse("JobConflict", 409, JobConflict)

/** A backend (job store, queue, storage, coordinator) failed; the request may be retried. */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", fields) {}
export const ServiceUnavailableResponse = asResponse("ServiceUnavailable", 503, ServiceUnavailable)

/** A backend failure, logged here and answered with a generic 503: its details stay out of responses. */
export const unavailable = (error: { readonly _tag: string; readonly message: string }) =>
  Effect.logError(`api: ${error._tag}: ${error.message}`).pipe(
    Effect.andThen(Effect.fail(new ServiceUnavailable({ message: "a backend is unavailable; try again" })))
  )

/**
 * A key's limit is reached (`vidpipe serve`'s per-key rate or daily job quota, RateLimits.ts):
 * 429, with `Retry-After` (whole seconds, at least 1) saying when the same request can succeed.
 */
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", {
  ...fields,
  retryAfterSeconds: Schema.Int
}) {}

const tooManyRequestsBody = envelope("TooManyRequests").pipe(HttpApiSchema.status(429))

/** The same envelope as every other error, plus the `Retry-After` header. */
export const TooManyRequestsResponse = TooManyRequests.pipe(
  HttpApiSchema.encodeToWithHeaders({ body: tooManyRequestsBody, headers: { "retry-after": Schema.FiniteFromString } }, {
    decode: ({ body, headers }) =>
      new TooManyRequests({
        message: body.error.message,
        ...withField(body.error.field),
        retryAfterSeconds: Math.max(1, Math.ceil(headers["retry-after"]))
      }),
    encode: (e) => ({
      body: { error: { _tag: "TooManyRequests" as const, message: e.message, ...withField(e.field) } },
      headers: { "retry-after": e.retryAfterSeconds }
    })
  })
)
