/**
 * Webhooks: endpoints an API key registers, and the deliveries of its jobs' events to them.
 */
import { createHash, randomBytes } from "node:crypto"
import { Schema } from "effect"
import { JobEventType } from "./Job.ts"
import { JobView } from "./JobView.ts"

export const WebhookSecret = Schema.Struct({
  /** `whsec_` + 256 random bits; signs every delivery (webhookSignature.ts). */
  value: Schema.String,
  createdAt: Schema.Number,
  /** A rotated-out secret still signs until then (epoch ms); absent: the current secret. */
  expiresAt: Schema.optional(Schema.Number)
})
export type WebhookSecret = typeof WebhookSecret.Type

export const WebhookEndpoint = Schema.Struct({
  /** `whk_` + 128 random bits. */
  id: Schema.String,
  /** The id of the API key that registered it: only that key's jobs' events reach it. */
  owner: Schema.String,
  url: Schema.String,
  events: Schema.Array(JobEventType),
  createdAt: Schema.Number,
  /** The current secret first, then rotated-out ones still in their grace period. */
  secrets: Schema.Array(WebhookSecret)
})
export type WebhookEndpoint = typeof WebhookEndpoint.Type

export const DeliveryAttempt = Schema.Struct({
  at: Schema.Number,
  /** The receiver's HTTP status; absent when no answer came (refused address, timeout, connection error). */
  statusCode: Schema.optional(Schema.Int),
  error: Schema.optional(Schema.String),
  latencyMs: Schema.Number,
  /** The back-off chosen after this attempt failed, before the next (ms). */
  retryInMs: Schema.optional(Schema.Number)
})
export type DeliveryAttempt = typeof DeliveryAttempt.Type

/** pending: an attempt is due at `nextAttemptAt`; delivered: a 2xx came back; failed: given up. */
export const DeliveryStatus = Schema.Literals(["pending", "delivered", "failed"])
export type DeliveryStatus = typeof DeliveryStatus.Type

/** One event on its way to one endpoint, with every attempt so far. */
export const Delivery = Schema.Struct({
  id: Schema.String,
  endpointId: Schema.String,
  eventId: Schema.String,
  eventType: JobEventType,
  jobId: Schema.String,
  /** The JSON body, fixed when the delivery was made: every attempt sends the same bytes. */
  body: Schema.String,
  status: DeliveryStatus,
  createdAt: Schema.Number,
  nextAttemptAt: Schema.Number,
  /** No attempt starts after this (epoch ms): a day after it was made, or after a redeliver. */
  retryUntil: Schema.Number,
  attempts: Schema.Array(DeliveryAttempt)
})
export type Delivery = typeof Delivery.Type

/** What a receiver gets: the event, and the job as `GET /v1/jobs/{id}` showed it at that moment. */
export const WebhookEventBody = Schema.Struct({
  /** The same on every attempt and every redeliver: deduplicate by it. */
  id: Schema.String,
  type: JobEventType,
  /** When it happened (ISO 8601). */
  createdAt: Schema.String,
  data: Schema.Struct({ job: JobView })
})
export type WebhookEventBody = typeof WebhookEventBody.Type

export const encodeEventBody = Schema.encodeSync(Schema.fromJsonString(WebhookEventBody))

const randomHex = (bytes: number) => randomBytes(bytes).toString("hex")

export const newWebhookId = () => `whk_${randomHex(16)}`
export const newWebhookSecret = () => `whsec_${randomBytes(32).toString("base64url")}`

/**
 * One event's delivery to one endpoint has one id, whoever relays it and however often: a relay
 * that died after creating some deliveries creates the same ones again, and the store keeps the first.
 */
export const deliveryIdFor = (eventId: string, endpointId: string) =>
  `dlv_${createHash("sha256").update(`${eventId}\n${endpointId}`).digest("hex").slice(0, 32)}`

/** The secrets that sign a delivery now: the current one and those still in their grace period. */
export const signingSecrets = (endpoint: WebhookEndpoint, now: number) =>
  endpoint.secrets.filter((secret) => secret.expiresAt === undefined || secret.expiresAt > now).map((secret) => secret.value)

/** `endpoint` with a new current secret; the old one keeps signing for `graceMs`. */
export const rotateSecret = (endpoint: WebhookEndpoint, value: string, now: number, graceMs: number): WebhookEndpoint => ({
  ...endpoint,
  secrets: [
    { value, createdAt: now },
    ...endpoint.secrets
      .map((secret) => secret.expiresAt === undefined ? { ...secret, expiresAt: now + graceMs } : secret)
      .filter((secret) => secret.expiresAt === undefined || secret.expiresAt > now)
  ]
})

export interface RetryPolicy {
  /** The back-off after the first failure; each later one doubles, up to `maxDelayMs`. */
  readonly firstDelayMs: number
  readonly maxDelayMs: number
  /** No attempt starts later than this after the delivery was made. */
  readonly giveUpAfterMs: number
}

/** Stripe-like: 30 s doubling to an hour, for a day (about 30 attempts). */
export const defaultRetryPolicy: RetryPolicy = { firstDelayMs: 30_000, maxDelayMs: 3_600_000, giveUpAfterMs: 24 * 3_600_000 }

/**
 * The wait after failed attempt `attempt` (1-based): exponential, with jitter so that receivers
 * coming back after an outage are not hit by every sender at once. The jitter takes at most a
 * quarter off, so each wait (before the cap) is longer than the one before: 0.75 * 2d > d.
 */
export const retryDelay = (policy: RetryPolicy, attempt: number, random: number = Math.random()) => {
  const full = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(full * (1 - 0.25 * random))
}

/** What a 2xx means: delivered. Anything else (3xx included: redirects are not followed) is retried. */
export const isDelivered = (statusCode: number) => statusCode >= 200 && statusCode < 300
