/**
 * The webhook dispatcher's settings, from configuration:
 *   VIDPIPE_WEBHOOK_RETRY_SECONDS      the back-off after a first failed attempt; it doubles per
 *                                      attempt up to an hour (default 30)
 *   VIDPIPE_WEBHOOK_RETRY_FOR_SECONDS  how long a delivery is retried (default 86400, a day)
 *   VIDPIPE_WEBHOOK_POLL_SECONDS       how often the dispatcher looks for work (default 1)
 *   VIDPIPE_WEBHOOK_DISPATCH           on (default) | off: whether `vidpipe worker` runs a dispatcher
 * and where the job views in events link playback (VIDPIPE_DELIVERY_URL, VIDPIPE_PLAYBACK…), as
 * the API's own views do. The sender's own settings (private addresses, DNS, timeout) are read by
 * layers/webhooks/HttpWebhookSender.ts.
 */
import { Config, Effect } from "effect"
import { defaultRetryPolicy } from "../../domain/Webhooks.ts"
import { InvalidConfiguration } from "../../layers/InvalidConfiguration.ts"
import type { WebhookSettingsShape } from "../../services/WebhookSettings.ts"
import { defaultWebhookSettings } from "../../services/WebhookSettings.ts"
import { playbackConfig } from "./playbackConfig.ts"
import { ownerViewAt } from "./playbackToken.ts"

const positiveSeconds = (variable: string, fallbackMs: number, maximum: number) =>
  Effect.gen(function*() {
    const seconds = yield* Config.Number(variable).pipe(Config.withDefault(fallbackMs / 1000))
    if (!(seconds > 0 && seconds <= maximum)) {
      return yield* new InvalidConfiguration({ variable, value: String(seconds), expected: `seconds, more than 0 and at most ${maximum}` })
    }
    return Math.round(seconds * 1000)
  })

/** VIDPIPE_WEBHOOK_DISPATCH: `on` (default) runs a dispatcher in this worker process, `off` leaves it to others. */
export const webhookDispatchConfig = Effect.gen(function*() {
  const value = (yield* Config.String("VIDPIPE_WEBHOOK_DISPATCH").pipe(Config.withDefault("on"))).trim()
  if (value !== "on" && value !== "off") return yield* new InvalidConfiguration({ variable: "VIDPIPE_WEBHOOK_DISPATCH", value, expected: "on or off" })
  return value === "on"
})

export const webhookSettingsConfig = (deliveryBase: string) =>
  Effect.gen(function*() {
    const settings: WebhookSettingsShape = {
      ...defaultWebhookSettings,
      // The views events carry: as `GET /v1/jobs/{id}` shows them.
      viewOf: ownerViewAt(yield* playbackConfig, deliveryBase),
      retry: {
        ...defaultRetryPolicy,
        firstDelayMs: yield* positiveSeconds("VIDPIPE_WEBHOOK_RETRY_SECONDS", defaultRetryPolicy.firstDelayMs, 3600),
        giveUpAfterMs: yield* positiveSeconds("VIDPIPE_WEBHOOK_RETRY_FOR_SECONDS", defaultRetryPolicy.giveUpAfterMs, 7 * 24 * 3600)
      },
      pollMillis: yield* positiveSeconds("VIDPIPE_WEBHOOK_POLL_SECONDS", defaultWebhookSettings.pollMillis, 60)
    }
    return settings
  })
