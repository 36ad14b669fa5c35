/**
 * One debug line per request: method, path, status and time. Only the path: the query string may
 * hold an upload's signature, and headers hold API keys, so neither is ever logged.
 */
import { Cause, Clock, Effect } from "effect"
import type { HttpServerResponse } from "effect/http"
import { HttpServerRequest } from "effect/http"

/** `/upload/abc?expires=…&signature=…` → `/upload/abc`. */
export const loggedPath = (url: string) => url.split(/[?#]/, 1)[0] ?? ""

export const requestLog = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, HttpServerRequest.HttpServerRequest | R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, HttpServerRequest.HttpServerRequest | R> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const started = yield* Clock.currentTimeMillis
    const line = (outcome: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.logDebug(`${request.method} ${loggedPath(request.url)} ${outcome} in ${now - started} ms`))
    return yield* app.pipe(
      Effect.tap((response) => line(String(response.status))),
      Effect.tapCause((cause) => line(Cause.hasInterruptsOnly(cause) ? "interrupted" : "failed"))
    )
  })
