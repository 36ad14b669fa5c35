/**
 * The HTTP side of webhooks: whether vidpipe will call a URL at all (SSRF: not a loopback,
 * private, link-local or metadata address, unless allowed), and one signed POST to it.
 */
import type { Effect } from "effect"
import { Context } from "effect"
import type { WebhookUrlRefused } from "../domain/Errors.ts"

export interface WebhookPost {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** What one attempt came to: a status, or why there was none. */
export interface WebhookOutcome {
  readonly statusCode?: number
  readonly error?: string
  readonly latencyMs: number
}

export interface WebhookSenderShape {
  /** Resolves the URL's host now and refuses it unless every address is public (or private ones are allowed). */
  readonly checkUrl: (url: string) => Effect.Effect<void, WebhookUrlRefused>
  /**
   * One POST, with the host resolved and checked again and the connection made to the checked
   * address; bounded in time and in how much of the answer is read. Never fails: a refused
   * address, a timeout or a reset is an outcome with `error`.
   */
  readonly post: (request: WebhookPost) => Effect.Effect<WebhookOutcome>
}

export class WebhookSender extends Context.Service<WebhookSender, WebhookSenderShape>()("vidpipe/WebhookSender") {}
