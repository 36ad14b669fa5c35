/**
 * WebhookSender over node:http/https. Every POST resolves the host again and connects only to the
 * address it checked (hostAddress.ts): a name that pointed at a public address when the endpoint
 * was registered and at 10.0.0.1 now is not called. Redirects are not followed (a 3xx is a failed
 * attempt), at most `maxResponseBytes` of an answer are read, and an attempt ends after `timeout`.
 *
 * Configuration:
 *   VIDPIPE_WEBHOOK_ALLOW_PRIVATE  1: allow loopback, private and link-local addresses (tests,
 *                                  self-hosted receivers on the same network); default refused
 *   VIDPIPE_WEBHOOK_DNS_SERVERS    comma-separated servers ("10.0.0.2", "127.0.0.1:5353") to ask
 *                                  instead of the machine's resolver
 *   VIDPIPE_WEBHOOK_TIMEOUT_SECONDS  one attempt's limit, connect to last byte (default 10)
 */
import * as http from "node:http"
import * as https from "node:https"
import { Config, Effect, Layer } from "effect"
import { WebhookUrlRefused } from "../../domain/Errors.ts"
import { InvalidConfiguration } from "../InvalidConfiguration.ts"
import type { WebhookOutcome, WebhookPost } from "../../services/WebhookSender.ts"
import { WebhookSender } from "../../services/WebhookSender.ts"
import type { ResolveHost } from "./hostAddress.ts"
import { AddressRefused, lookupPinnedTo, pinnedAddress, resolverUsing, systemResolver } from "./hostAddress.ts"

export interface HttpWebhookSenderOptions {
  readonly allowPrivate: boolean
  readonly resolve: ResolveHost
  readonly timeoutMillis: number
  readonly maxResponseBytes?: number
}

/** What of an answer is read before the connection is dropped: receivers should answer with little. */
const defaultMaxResponseBytes = 64 * 1024

/** The URL if vidpipe would call it: http or https, no credentials in it. */
const parseUrl = (url: string): URL | string => {
  if (!URL.canParse(url)) return `${JSON.stringify(url)} is not a URL`
  const parsed = new URL(url)
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return `the URL must be http or https, not ${parsed.protocol.slice(0, -1)}`
  if (parsed.username !== "" || parsed.password !== "") return "the URL must not carry a user name or password"
  return parsed
}

const reasonOf = (error: unknown) => error instanceof Error ? error.message : String(error)

/** One POST to an address already checked; resolves with the status or the error, never rejects. */
const postTo = (url: URL, request: WebhookPost, options: HttpWebhookSenderOptions, pinned: Parameters<typeof lookupPinnedTo>[0]) =>
  new Promise<Omit<WebhookOutcome, "latencyMs">>((resolve) => {
    const client = url.protocol === "https:" ? https : http
    const body = Buffer.from(request.body, "utf8")
    const req = client.request(url, {
      method: "POST",
      headers: { ...request.headers, "content-length": String(body.length) },
      lookup: lookupPinnedTo(pinned),
      timeout: options.timeoutMillis,
      // A fresh connection per attempt: nothing pooled outlives the address check.
      agent: false
    }, (res) => {
      let read = 0
      res.on("data", (chunk: Buffer) => {
        read += chunk.length
        if (read > (options.maxResponseBytes ?? defaultMaxResponseBytes)) res.destroy()
      })
      res.on("end", () => resolve({ statusCode: res.statusCode ?? 0 }))
      res.on("close", () => resolve({ statusCode: res.statusCode ?? 0 }))
      res.on("error", () => resolve({ statusCode: res.statusCode ?? 0 }))
    })
    const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${options.timeoutMillis} ms`)), options.timeoutMillis)
    req.on("timeout", () => req.destroy(new Error(`no answer within ${options.timeoutMillis} ms`)))
    req.on("error", (error) => resolve({ error: reasonOf(error) }))
    req.on("close", () => clearTimeout(deadline))
    req.end(body)
  })

export const makeHttpWebhookSender = (options: HttpWebhookSenderOptions) => {
  const pin = (url: URL) => pinnedAddress(url.hostname, { resolve: options.resolve, allowPrivate: options.allowPrivate })
  return WebhookSender.of({
    checkUrl: (url) =>
      Effect.gen(function*() {
        const parsed = parseUrl(url)
        if (typeof parsed === "string") return yield* new WebhookUrlRefused({ url, reason: parsed })
        yield* Effect.tryPromise({
          try: () => pin(parsed),
          catch: (error) => new WebhookUrlRefused({ url, reason: error instanceof AddressRefused ? error.reason : reasonOf(error) })
        })
      }),
    post: (request) =>
      Effect.promise(async () => {
        const started = performance.now()
        const parsed = parseUrl(request.url)
        const outcome = typeof parsed === "string"
          ? { error: parsed }
          : await pin(parsed).then(
            (pinned) => postTo(parsed, request, options, pinned),
            (error: unknown) => ({ error: error instanceof AddressRefused ? `refused: ${error.reason}` : reasonOf(error) })
          )
        return { ...outcome, latencyMs: Math.round(performance.now() - started) }
      })
  })
}

/** What the sender reads from configuration. */
export const httpWebhookSenderConfig = Effect.gen(function*() {
  const allow = (yield* Config.String("VIDPIPE_WEBHOOK_ALLOW_PRIVATE").pipe(Config.withDefault(""))).trim()
  if (!["", "0", "1", "true", "false"].includes(allow)) {
    return yield* new InvalidConfiguration({ variable: "VIDPIPE_WEBHOOK_ALLOW_PRIVATE", value: allow, expected: "1 or 0" })
  }
  const servers = (yield* Config.String("VIDPIPE_WEBHOOK_DNS_SERVERS").pipe(Config.withDefault(""))).split(",").map((s) => s.trim()).filter((s) => s !== "")
  const seconds = yield* Config.Number("VIDPIPE_WEBHOOK_TIMEOUT_SECONDS").pipe(Config.withDefault(10))
  if (!(seconds > 0 && seconds <= 60)) {
    return yield* new InvalidConfiguration({ variable: "VIDPIPE_WEBHOOK_TIMEOUT_SECONDS", value: String(seconds), expected: "seconds, more than 0 and at most 60" })
  }
  const options: HttpWebhookSenderOptions = {
    allowPrivate: allow === "1" || allow === "true",
    resolve: servers.length === 0 ? systemResolver : resolverUsing(servers),
    timeoutMillis: seconds * 1000
  }
  return options
})

export const httpWebhookSenderLayer = (options: HttpWebhookSenderOptions) => Layer.succeed(WebhookSender, makeHttpWebhookSender(options))

/** The sender as configured (VIDPIPE_WEBHOOK_*). */
export const configuredWebhookSenderLayer = Layer.unwrap(Effect.map(httpWebhookSenderConfig, httpWebhookSenderLayer))
