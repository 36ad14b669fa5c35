/**
 * The webhook dispatcher on AWS: a Lambda on a one-minute schedule (EventBridge) that relays the
 * events jobs recorded in their outboxes and delivers what is due, pass after pass, until a pass
 * finds nothing to do or its window closes (docs/deploy.md, "Webhooks", says why a Lambda and not
 * the workers, and what it costs). The window ends well before the function's timeout: "Lambda
 * freezes the execution environment" when the handler's promise resolves (Lambda developer guide,
 * execution environment lifecycle), so every attempt started must have been answered and recorded
 * by then; an attempt takes at most VIDPIPE_WEBHOOK_TIMEOUT_SECONDS (10 s).
 *
 * Runs in the VPC (ElastiCache is there) and reaches receivers through its NAT gateway.
 */
import type { Layer } from "effect"
import { Effect, ManagedRuntime } from "effect"
import { lambdaConfiguredLayer, lambdaLayerConfig } from "../../layers/fromConfig.ts"
import { httpWebhookSenderConfig } from "../../layers/webhooks/HttpWebhookSender.ts"
import { dispatchUntilIdle } from "../../programs/webhookDelivery.ts"
import { WebhookSettings } from "../../services/WebhookSettings.ts"
import type { WebhookSettingsShape } from "../../services/WebhookSettings.ts"
import { deliveryUrlConfig, publicUrlConfig } from "../http/uploadConfig.ts"
import { webhookSettingsConfig } from "../http/webhookConfig.ts"

/** What one run uses: the job store, the webhook store and the sender. */
export type WebhooksServices = Effect.Services<ReturnType<typeof dispatchUntilIdle>>

export interface WebhooksResult {
  readonly passes: number
}

export type WebhooksHandler = ((event?: unknown, context?: unknown) => Promise<WebhooksResult>) & {
  readonly dispose: () => Promise<void>
}

/** The longest run: within a one-minute schedule, leaving the last attempt its 10 s before the 70 s timeout. */
export const defaultWindowMillis = 50_000

/** What is left of the invocation, when Lambda's context says (`getRemainingTimeInMillis`). */
const remainingMillis = (context: unknown) => {
  if (typeof context !== "object" || context === null || !("getRemainingTimeInMillis" in context)) return undefined
  const remaining = context.getRemainingTimeInMillis
  return typeof remaining === "function" ? Number(remaining.call(context)) : undefined
}

/** Services are built on the first invocation and reused by later ones in this container. */
export const makeWebhooksHandler = <E>(
  servicesLayer: Layer.Layer<WebhooksServices, E>,
  settings: Effect.Effect<WebhookSettingsShape, unknown, never>,
  windowMillis = defaultWindowMillis,
  // Time kept back from the invocation's end for the last attempt (its timeout) and the reply.
  reserveMillis = 15_000
): WebhooksHandler => {
  const runtime = ManagedRuntime.make(servicesLayer)
  const handle = async (_event?: unknown, context?: unknown) => {
    const left = remainingMillis(context)
    const window = left === undefined ? windowMillis : Math.max(0, Math.min(windowMillis, left - reserveMillis))
    const passes = await runtime.runPromise(Effect.gen(function*() {
      const configured = yield* settings
      return yield* dispatchUntilIdle(window).pipe(Effect.provideService(WebhookSettings, configured))
    }))
    return { passes }
  }
  return Object.assign(handle, { dispose: () => runtime.dispose() })
}

let configured: WebhooksHandler | undefined

/** The event views link playback as the API's do: VIDPIPE_DELIVERY_URL, VIDPIPE_PLAYBACK… */
export const webhooksSettingsConfig = Effect.gen(function*() {
  return yield* webhookSettingsConfig(yield* deliveryUrlConfig(yield* publicUrlConfig))
})

/**
 * Everything `handler` reads from configuration: the backends and the sender's VIDPIPE_WEBHOOK_*
 * (what `lambdaConfiguredLayer` reads when it is built), and the event views' settings. The
 * infrastructure test runs it against the function's deployed environment.
 */
export const handlerConfig = Effect.all([lambdaLayerConfig, httpWebhookSenderConfig, webhooksSettingsConfig])

/** The deployed entry point: backends from `lambdaConfiguredLayer`, like the sweeper's. */
export const handler = (event?: unknown, context?: unknown): Promise<WebhooksResult> => {
  configured ??= makeWebhooksHandler(lambdaConfiguredLayer, webhooksSettingsConfig)
  return configured(event, context)
}
