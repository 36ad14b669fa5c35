/**
 * The webhook relay: takes the events jobs recorded in their outboxes and makes one delivery per
 * subscribed endpoint of the job's owner, then removes the events from the outbox. A relay that
 * dies between the two steps leaves the events in place; the next run makes the same deliveries
 * again (their ids are derived from event and endpoint), which the store keeps once.
 */
import { Clock, Effect } from "effect"
import type { Job } from "../domain/Job.ts"
import { pendingEvents, withoutEvents } from "../domain/jobEvents.ts"
import type { Delivery } from "../domain/Webhooks.ts"
import { deliveryIdFor, encodeEventBody } from "../domain/Webhooks.ts"
import { JobStore } from "../services/JobStore.ts"
import { WebhookSettings } from "../services/WebhookSettings.ts"
import { WebhookStore } from "../services/WebhookStore.ts"

/** Jobs looked at per run: a backlog drains over a few runs instead of one long one. */
const jobsPerRun = 50

const relayJob = Effect.fnUntraced(function*(job: Job) {
  const store = yield* JobStore
  const webhooks = yield* WebhookStore
  const settings = yield* WebhookSettings
  const events = pendingEvents(job)
  // Only the owner's endpoints: a key never hears of another key's jobs.
  const endpoints = job.owner === undefined ? [] : yield* webhooks.listEndpoints(job.owner)
  const now = yield* Clock.currentTimeMillis
  for (const event of events) {
    const body = encodeEventBody({
      id: event.id,
      type: event.type,
      createdAt: new Date(event.at).toISOString(),
      data: { job: settings.viewOf(event.job, now) }
    })
    // An endpoint hears of what happened after it was registered.
    const subscribed = endpoints.filter((endpoint) => endpoint.events.includes(event.type) && endpoint.createdAt <= event.at)
    yield* Effect.forEach(subscribed, (endpoint) => {
      const delivery: Delivery = {
        id: deliveryIdFor(event.id, endpoint.id),
        endpointId: endpoint.id,
        eventId: event.id,
        eventType: event.type,
        jobId: job.id,
        body,
        status: "pending",
        createdAt: now,
        nextAttemptAt: now,
        retryUntil: now + settings.retry.giveUpAfterMs,
        attempts: []
      }
      return webhooks.addDelivery(delivery)
    }, { discard: true })
  }
  const relayed = new Set(events.map((event) => event.id))
  yield* store.update(job.id, (current) => withoutEvents(current, relayed)).pipe(Effect.catchTag("JobNotFound", () => Effect.void))
})

/** One pass: every job with events waiting (up to `jobsPerRun`); how many jobs had some. */
export const relayEvents = Effect.fn("relayEvents")(function*() {
  const store = yield* JobStore
  const jobs = yield* store.list({ withEvents: true, limit: jobsPerRun })
  yield* Effect.forEach(jobs, relayJob, { discard: true })
  return jobs.length
})
