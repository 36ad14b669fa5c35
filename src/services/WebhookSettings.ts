/**
 * How webhooks are relayed and delivered in this process: the job view an event carries (it
 * names playback URLs, which depend on where outputs are delivered), the retry policy, and the
 * dispatcher's pace.
 */
import { Context } from "effect"
import type { JobSnapshot } from "../domain/Job.ts"
import type { JobView } from "../domain/JobView.ts"
import { toJobView } from "../domain/JobView.ts"
import type { RetryPolicy } from "../domain/Webhooks.ts"
import { defaultRetryPolicy } from "../domain/Webhooks.ts"

export interface WebhookSettingsShape {
  /** The view of a job at an event, as `GET /v1/jobs/{id}` would show it. */
  readonly viewOf: (job: JobSnapshot, now: number) => JobView
  readonly retry: RetryPolicy
  /** How often the dispatcher looks for events to relay and deliveries due. */
  readonly pollMillis: number
  /** How long a claimed delivery is out of other dispatchers' reach: longer than one attempt can take. */
  readonly claimMillis: number
  /** Deliveries attempted at once by one dispatcher. */
  readonly concurrency: number
}

export const defaultWebhookSettings: WebhookSettingsShape = {
  viewOf: (job) => toJobView(job, "/cdn"),
  retry: defaultRetryPolicy,
  pollMillis: 1000,
  claimMillis: 60_000,
  concurrency: 8
}

export const WebhookSettings = Context.Reference<WebhookSettingsShape>("vidpipe/WebhookSettings", {
  defaultValue: () => defaultWebhookSettings
})
