/**
 * Delivering webhooks: claims the deliveries that are due, POSTs each (signed) to its endpoint
 * and records the attempt: delivered on a 2xx; otherwise retried with a growing back-off until
 * the delivery's `retryUntil`, then given up. At least once: a dispatcher that dies after the
 * receiver answered but before recording it lets the claim lapse, and the delivery is sent again
 * with the same event id (receivers deduplicate by it).
 */
import { Clock, Effect } from "effect"
import type { Delivery, DeliveryAttempt } from "../domain/Webhooks.ts"
import { isDelivered, retryDelay, signingSecrets } from "../domain/Webhooks.ts"
import { signatureHeader, signatureHeaderName } from "../domain/webhookSignature.ts"
import { WebhookSender } from "../services/WebhookSender.ts"
import { WebhookSettings } from "../services/WebhookSettings.ts"
import { WebhookStore } from "../services/WebhookStore.ts"
import { relayEvents } from "./webhookRelay.ts"

/** The delivery after an attempt that ended at `now`. */
export const afterAttempt = (
  delivery: Delivery,
  attempt: Omit<DeliveryAttempt, "retryInMs">,
  now: number,
  delayOf: (attemptNumber: number) => number
): Delivery => {
  const attempts = delivery.attempts.length + 1
  if (attempt.statusCode !== undefined && isDelivered(attempt.statusCode)) {
    return { ...delivery, status: "delivered", attempts: [...delivery.attempts, attempt] }
  }
  const retryInMs = delayOf(attempts)
  return now + retryInMs > delivery.retryUntil
    ? { ...delivery, status: "failed", attempts: [...delivery.attempts, attempt] }
    : { ...delivery, status: "pending", nextAttemptAt: now + retryInMs, attempts: [...delivery.attempts, { ...attempt, retryInMs }] }
}

const attemptDelivery = Effect.fnUntraced(function*(delivery: Delivery) {
  const webhooks = yield* WebhookStore
  const sender = yield* WebhookSender
  const settings = yield* WebhookSettings
  const started = yield* Clock.currentTimeMillis
  const endpoint = yield* webhooks.getEndpoint(delivery.endpointId).pipe(Effect.catchTag("WebhookNotFound", () => Effect.succeed(undefined)))
  if (endpoint === undefined) {
    return yield* webhooks.saveDelivery({ ...delivery, status: "failed", attempts: [...delivery.attempts, { at: started, error: "the endpoint was deleted", latencyMs: 0 }] })
  }
  const outcome = yield* sender.post({
    url: endpoint.url,
    body: delivery.body,
    headers: {
      "content-type": "application/json",
      "user-agent": "vidpipe-webhooks/1",
      [signatureHeaderName]: signatureHeader(signingSecrets(endpoint, started), Math.floor(started / 1000), delivery.body),
      "vidpipe-event-id": delivery.eventId,
      "vidpipe-event-type": delivery.eventType,
      "vidpipe-delivery-id": delivery.id
    }
  })
  const ended = yield* Clock.currentTimeMillis
  const attempt = {
    at: started,
    latencyMs: outcome.latencyMs,
    ...(outcome.statusCode === undefined ? {} : { statusCode: outcome.statusCode }),
    ...(outcome.error === undefined ? {} : { error: outcome.error })
  }
  const next = afterAttempt(delivery, attempt, ended, (n) => retryDelay(settings.retry, n))
  yield* webhooks.saveDelivery(next)
  yield* Effect.logDebug(`webhook ${delivery.id} (${delivery.eventType}, attempt ${next.attempts.length}): ${outcome.statusCode ?? outcome.error} -> ${next.status}`)
})

/** One pass: the deliveries due now, a few at a time; how many were attempted. */
export const deliverDue = Effect.fn("deliverDue")(function*() {
  const webhooks = yield* WebhookStore
  const settings = yield* WebhookSettings
  const now = yield* Clock.currentTimeMillis
  const due = yield* webhooks.claimDue(now, settings.claimMillis, settings.concurrency * 4)
  yield* Effect.forEach(due, attemptDelivery, { concurrency: settings.concurrency, discard: true })
  return due.length
})

/**
 * One relay pass, then one delivery pass: whether either found work. What fails is logged (and
 * counts as work, so a caller looping until idle tries again), never thrown at the caller.
 */
export const dispatchWebhooksOnce = Effect.gen(function*() {
  const relayed = yield* relayEvents()
  const attempted = yield* deliverDue()
  return relayed + attempted > 0
}).pipe(Effect.catch((error) => Effect.logWarning(`webhooks: ${error.message}`).pipe(Effect.as(true))))

/**
 * The dispatcher, for as long as its scope lives: every process that runs one shares the work
 * through the store's claims. A slow receiver holds one of `concurrency` attempts for at most the
 * sender's timeout, in this fiber only: encodes never wait for it.
 */
export const runWebhookDispatcher = Effect.gen(function*() {
  const settings = yield* WebhookSettings
  yield* Effect.forever(dispatchWebhooksOnce.pipe(Effect.andThen(Effect.sleep(settings.pollMillis))))
})

/**
 * Passes until one finds nothing to do or `windowMillis` has gone by (a scheduled Lambda's run):
 * an idle deployment pays for one pass, a busy one for the window; none with no window. How many
 * passes ran.
 */
export const dispatchUntilIdle = (windowMillis: number) =>
  Effect.gen(function*() {
    const settings = yield* WebhookSettings
    const started = yield* Clock.currentTimeMillis
    let passes = 0
    while (windowMillis > 0) {
      passes++
      if (!(yield* dispatchWebhooksOnce)) return passes
      if ((yield* Clock.currentTimeMillis) - started + settings.pollMillis >= windowMillis) return passes
      yield* Effect.sleep(settings.pollMillis)
    }
    return passes
  })
