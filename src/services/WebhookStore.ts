/**
 * Webhook endpoints (per API key) and the deliveries of events to them, with their attempt log
 * and the schedule of the next attempts.
 */
import type { Effect } from "effect"
import { Context } from "effect"
import type { WebhookNotFound, WebhookStoreFailed } from "../domain/Errors.ts"
import type { Delivery, WebhookEndpoint } from "../domain/Webhooks.ts"

export interface WebhookStoreShape {
  readonly createEndpoint: (endpoint: WebhookEndpoint) => Effect.Effect<void, WebhookStoreFailed>
  readonly getEndpoint: (id: string) => Effect.Effect<WebhookEndpoint, WebhookNotFound | WebhookStoreFailed>
  /** Oldest first. */
  readonly listEndpoints: (owner: string) => Effect.Effect<ReadonlyArray<WebhookEndpoint>, WebhookStoreFailed>
  /** Atomic read-modify-write; `change` may be re-run on contention, so it must be pure. */
  readonly updateEndpoint: (id: string, change: (endpoint: WebhookEndpoint) => WebhookEndpoint) => Effect.Effect<WebhookEndpoint, WebhookNotFound | WebhookStoreFailed>
  /** Its pending deliveries are dropped from the schedule; the log stays until it expires. */
  readonly deleteEndpoint: (id: string) => Effect.Effect<void, WebhookStoreFailed>
  /**
   * Create-if-absent by `delivery.id`, scheduled at `nextAttemptAt`; false when it existed (a relay
   * that ran twice), which leaves the stored one as it is.
   */
  readonly addDelivery: (delivery: Delivery) => Effect.Effect<boolean, WebhookStoreFailed>
  readonly getDelivery: (id: string) => Effect.Effect<Delivery, WebhookNotFound | WebhookStoreFailed>
  /**
   * Up to `limit` pending deliveries due at `now`, each taken out of everyone else's reach until
   * `now + leaseMs` (a dispatcher that dies mid-attempt lets it fall due again then).
   */
  readonly claimDue: (now: number, leaseMs: number, limit: number) => Effect.Effect<ReadonlyArray<Delivery>, WebhookStoreFailed>
  /** Stores a delivery after an attempt (or a redeliver): pending ones are scheduled at `nextAttemptAt`. */
  readonly saveDelivery: (delivery: Delivery) => Effect.Effect<void, WebhookStoreFailed>
  /** Newest first. */
  readonly listDeliveries: (endpointId: string, limit: number) => Effect.Effect<ReadonlyArray<Delivery>, WebhookStoreFailed>
}

export class WebhookStore extends Context.Service<WebhookStore, WebhookStoreShape>()("vidpipe/WebhookStore") {}
