/**
 * In-process WebhookStore: maps of endpoints and deliveries, changed atomically within the process.
 */
import { Effect, Layer } from "effect"
import { WebhookNotFound } from "../../domain/Errors.ts"
import type { Delivery, WebhookEndpoint } from "../../domain/Webhooks.ts"
import { WebhookStore } from "../../services/WebhookStore.ts"

export const makeMemoryWebhookStore = Effect.sync(() => {
  const endpoints = new Map<string, WebhookEndpoint>()
  const deliveries = new Map<string, Delivery>()
  /** When each scheduled delivery may next be claimed (a pending one's attempt time, or its claim's end). */
  const due = new Map<string, number>()
  const found = <A>(id: string, value: A | undefined) => value === undefined ? Effect.fail(new WebhookNotFound({ id })) : Effect.succeed(value)
  const schedule = (delivery: Delivery) => {
    if (delivery.status === "pending") due.set(delivery.id, delivery.nextAttemptAt)
    else due.delete(delivery.id)
  }
  return WebhookStore.of({
    createEndpoint: (endpoint) => Effect.sync(() => void endpoints.set(endpoint.id, endpoint)),
    getEndpoint: (id) => Effect.suspend(() => found(id, endpoints.get(id))),
    listEndpoints: (owner) =>
      Effect.sync(() => [...endpoints.values()].filter((e) => e.owner === owner).sort((a, b) => a.createdAt - b.createdAt)),
    updateEndpoint: (id, change) =>
      Effect.suspend(() => found(id, endpoints.get(id))).pipe(Effect.map((endpoint) => {
        const next = change(endpoint)
        endpoints.set(id, next)
        return next
      })),
    deleteEndpoint: (id) =>
      Effect.sync(() => {
        endpoints.delete(id)
        for (const delivery of deliveries.values()) if (delivery.endpointId === id) due.delete(delivery.id)
      }),
    addDelivery: (delivery) =>
      Effect.sync(() => {
        if (deliveries.has(delivery.id)) return false
        deliveries.set(delivery.id, delivery)
        schedule(delivery)
        return true
      }),
    getDelivery: (id) => Effect.suspend(() => found(id, deliveries.get(id))),
    claimDue: (now, leaseMs, limit) =>
      Effect.sync(() => {
        const ready = [...due].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]).slice(0, limit)
        return ready.flatMap(([id]) => {
          const delivery = deliveries.get(id)
          if (delivery === undefined) return []
          due.set(id, now + leaseMs)
          return [delivery]
        })
      }),
    saveDelivery: (delivery) =>
      Effect.sync(() => {
        deliveries.set(delivery.id, delivery)
        schedule(delivery)
      }),
    listDeliveries: (endpointId, limit) =>
      Effect.sync(() => [...deliveries.values()].filter((d) => d.endpointId === endpointId).sort((a, b) => b.createdAt - a.createdAt).slice(0, limit))
  })
})

export const memoryWebhookStoreLayer = Layer.effect(WebhookStore, makeMemoryWebhookStore)
