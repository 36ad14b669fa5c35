/**
 * The server side of the webhook endpoints. An endpoint belongs to the key that registered it;
 * another key (admin keys too: they see every job, but their endpoints hear only of their own)
 * gets the same 404 as for an endpoint that does not exist.
 */
import { Clock, Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { WebhookNotFound } from "../../../domain/Errors.ts"
import type { Delivery, WebhookEndpoint } from "../../../domain/Webhooks.ts"
import { newWebhookId, newWebhookSecret, rotateSecret } from "../../../domain/Webhooks.ts"
import { WebhookSender } from "../../../services/WebhookSender.ts"
import { WebhookSettings } from "../../../services/WebhookSettings.ts"
import { WebhookStore } from "../../../services/WebhookStore.ts"
import { Api } from "./Api.ts"
import { BadRequest, unavailable } from "./ApiErrors.ts"
import { ApiCaller } from "./ApiKeys.ts"
import type { DeliveryView, WebhookView } from "./WebhooksGroup.ts"
import { defaultGraceSeconds, maxWebhooksPerKey } from "./WebhooksGroup.ts"

const iso = (ms: number) => new Date(ms).toISOString()

const viewOf = (endpoint: WebhookEndpoint): WebhookView => ({
  id: endpoint.id,
  url: endpoint.url,
  events: endpoint.events,
  createdAt: iso(endpoint.createdAt)
})

const deliveryViewOf = (delivery: Delivery): DeliveryView => ({
  id: delivery.id,
  eventId: delivery.eventId,
  eventType: delivery.eventType,
  jobId: delivery.jobId,
  status: delivery.status,
  createdAt: iso(delivery.createdAt),
  ...(delivery.status === "pending" ? { nextAttemptAt: iso(delivery.nextAttemptAt) } : {}),
  attempts: delivery.attempts.map((attempt) => ({
    at: iso(attempt.at),
    latencyMs: attempt.latencyMs,
    ...(attempt.statusCode === undefined ? {} : { statusCode: attempt.statusCode }),
    ...(attempt.error === undefined ? {} : { error: attempt.error }),
    ...(attempt.retryInMs === undefined ? {} : { retryInMs: attempt.retryInMs })
  }))
})


export const webhooksHandlers = HttpApiBuilder.group(
  Api,
  "webhooks",
  Effect.fn(function*(handlers) {
    const store = yield* WebhookStore
    const sender = yield* WebhookSender
    const settings = yield* WebhookSettings

    /** The caller's endpoint, or the same 404 whether it does not exist or is another key's. */
    const findEndpoint = (id: string) =>
      Effect.gen(function*() {
        const caller = yield* ApiCaller
        const endpoint = yield* store.getEndpoint(id).pipe(Effect.catchTag("WebhookStoreFailed", unavailable))
        return endpoint.owner === caller.keyId ? endpoint : yield* new WebhookNotFound({ id })
      })

    return handlers.handleAll({
      create: Effect.fnUntraced(function*({ payload }) {
        const caller = yield* ApiCaller
        yield* sender.checkUrl(payload.url).pipe(
          Effect.catchTag("WebhookUrlRefused", (refused) => Effect.fail(new BadRequest({ message: refused.reason, field: "url" })))
        )
        const existing = yield* store.listEndpoints(caller.keyId).pipe(Effect.catch(unavailable))
        if (existing.length >= maxWebhooksPerKey) {
          return yield* new BadRequest({ message: `a key may register at most ${maxWebhooksPerKey} webhooks; delete one first`, field: "url" })
        }
        const now = yield* Clock.currentTimeMillis
        const secret = newWebhookSecret()
        const endpoint: WebhookEndpoint = {
          id: newWebhookId(),
          owner: caller.keyId,
          url: payload.url,
          events: [...new Set(payload.events)],
          createdAt: now,
          secrets: [{ value: secret, createdAt: now }]
        }
        yield* store.createEndpoint(endpoint).pipe(Effect.catch(unavailable))
        return { ...viewOf(endpoint), secret }
      }),

      list: Effect.fnUntraced(function*() {
        const caller = yield* ApiCaller
        const endpoints = yield* store.listEndpoints(caller.keyId).pipe(Effect.catch(unavailable))
        return { webhooks: endpoints.map(viewOf) }
      }),

      get: ({ params }) => Effect.map(findEndpoint(params.webhookId), viewOf),

      delete: Effect.fnUntraced(function*({ params }) {
        const endpoint = yield* findEndpoint(params.webhookId)
        yield* store.deleteEndpoint(endpoint.id).pipe(Effect.catch(unavailable))
      }),

      rotateSecret: Effect.fnUntraced(function*({ params, payload }) {
        yield* findEndpoint(params.webhookId)
        const now = yield* Clock.currentTimeMillis
        const secret = newWebhookSecret()
        const graceMs = (payload.graceSeconds ?? defaultGraceSeconds) * 1000
        yield* store.updateEndpoint(params.webhookId, (endpoint) => rotateSecret(endpoint, secret, now, graceMs)).pipe(
          Effect.catchTag("WebhookStoreFailed", unavailable)
        )
        return { id: params.webhookId, secret, ...(graceMs === 0 ? {} : { previousSecretExpiresAt: iso(now + graceMs) }) }
      }),

      deliveries: Effect.fnUntraced(function*({ params, query }) {
        const endpoint = yield* findEndpoint(params.webhookId)
        const deliveries = yield* store.listDeliveries(endpoint.id, query.limit ?? 20).pipe(Effect.catch(unavailable))
        return { deliveries: deliveries.map(deliveryViewOf) }
      }),

      redeliver: Effect.fnUntraced(function*({ params }) {
        const endpoint = yield* findEndpoint(params.webhookId)
        const delivery = yield* store.getDelivery(params.deliveryId).pipe(Effect.catchTag("WebhookStoreFailed", unavailable))
        if (delivery.endpointId !== endpoint.id) return yield* new WebhookNotFound({ id: params.deliveryId })
        const now = yield* Clock.currentTimeMillis
        // The same event id and body: a receiver that already has it deduplicates it.
        const again: Delivery = { ...delivery, status: "pending", nextAttemptAt: now, retryUntil: now + settings.retry.giveUpAfterMs }
        yield* store.saveDelivery(again).pipe(Effect.catch(unavailable))
        return deliveryViewOf(again)
      })
    })
  })
)
