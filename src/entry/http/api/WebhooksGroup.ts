/**
 * The webhook endpoints of the API (definition only): a key registers URLs to be told of its
 * jobs' events, rotates their signing secrets, reads each endpoint's delivery log and asks for a
 * delivery again. Handlers: webhookHandlers.ts.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { JobEventType } from "../../../domain/Job.ts"
import { DeliveryStatus } from "../../../domain/Webhooks.ts"
import { ServiceUnavailableResponse, WebhookNotFoundResponse } from "./ApiErrors.ts"

/** Endpoints one key may register. */
export const maxWebhooksPerKey = 16

/** A rotated-out secret keeps signing for a day unless asked otherwise (at most a week). */
export const defaultGraceSeconds = 24 * 3600
const maxGraceSeconds = 7 * 24 * 3600

export const CreateWebhookRequest = Schema.Struct({
  /** http or https; its host must not be (or resolve to) a loopback, private, link-local or metadata address. */
  url: Schema.String.check(Schema.isBetweenLength(1, 2048)),
  events: Schema.Array(JobEventType).check(Schema.isBetweenLength(1, JobEventType.literals.length))
})

const webhookFields = {
  id: Schema.String,
  url: Schema.String,
  events: Schema.Array(JobEventType),
  createdAt: Schema.String
}

export const WebhookView = Schema.Struct(webhookFields)
export type WebhookView = typeof WebhookView.Type

/** The answer to creating one: the only time its secret is shown. */
export const CreatedWebhook = Schema.Struct({ ...webhookFields, secret: Schema.String })

export const WebhookList = Schema.Struct({ webhooks: Schema.Array(WebhookView) })

export const RotateSecretRequest = Schema.Struct({
  /** How long the old secret keeps signing beside the new one (default a day; 0: stop now). */
  graceSeconds: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: maxGraceSeconds })))
})

export const RotatedSecret = Schema.Struct({
  id: Schema.String,
  /** The new secret, shown this once. */
  secret: Schema.String,
  /** Until when the previous secret also signs (absent with a grace of 0). */
  previousSecretExpiresAt: Schema.optionalKey(Schema.String)
})

export const DeliveryView = Schema.Struct({
  id: Schema.String,
  eventId: Schema.String,
  eventType: JobEventType,
  jobId: Schema.String,
  status: DeliveryStatus,
  createdAt: Schema.String,
  /** When the next attempt is due (pending deliveries). */
  nextAttemptAt: Schema.optionalKey(Schema.String),
  attempts: Schema.Array(Schema.Struct({
    at: Schema.String,
    statusCode: Schema.optionalKey(Schema.Int),
    error: Schema.optionalKey(Schema.String),
    latencyMs: Schema.Number,
    /** The back-off before the next attempt, when this one failed. */
    retryInMs: Schema.optionalKey(Schema.Number)
  }))
})
export type DeliveryView = typeof DeliveryView.Type

export const DeliveryList = Schema.Struct({ deliveries: Schema.Array(DeliveryView) })

const id = Schema.String.check(Schema.isBetweenLength(1, 64))
const webhookParams = { webhookId: id }

export class WebhooksGroup extends HttpApiGroup.make("webhooks").add(
  HttpApiEndpoint.post("create", "/webhooks", {
    payload: CreateWebhookRequest,
    success: CreatedWebhook.pipe(HttpApiSchema.status(201)),
    error: ServiceUnavailableResponse
  }),
  HttpApiEndpoint.get("list", "/webhooks", {
    success: WebhookList,
    error: ServiceUnavailableResponse
  }),
  HttpApiEndpoint.get("get", "/webhooks/:webhookId", {
    params: webhookParams,
    success: WebhookView,
    error: [WebhookNotFoundResponse, ServiceUnavailableResponse]
  }),
  HttpApiEndpoint.delete("delete", "/webhooks/:webhookId", {
    params: webhookParams,
    success: HttpApiSchema.NoContent,
    error: [WebhookNotFoundResponse, ServiceUnavailableResponse]
  }),
  HttpApiEndpoint.post("rotateSecret", "/webhooks/:webhookId/rotate-secret", {
    params: webhookParams,
    payload: RotateSecretRequest,
    success: RotatedSecret,
    error: [WebhookNotFoundResponse, ServiceUnavailableResponse]
  }),
  HttpApiEndpoint.get("deliveries", "/webhooks/:webhookId/deliveries", {
    params: webhookParams,
    query: { limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 }))) },
    success: DeliveryList,
    error: [WebhookNotFoundResponse, ServiceUnavailableResponse]
  }),
  HttpApiEndpoint.post("redeliver", "/webhooks/:webhookId/deliveries/:deliveryId/redeliver", {
    params: { ...webhookParams, deliveryId: id },
    success: DeliveryView.pipe(HttpApiSchema.status(202)),
    error: [WebhookNotFoundResponse, ServiceUnavailableResponse]
  })
).annotateMerge(OpenApi.annotations({
  title: "Webhooks",
  description: "Be told when your jobs are created, uploaded, ready or failed: signed POSTs, retried for a day"
})) {}
