/**
 * CORS, per path prefix, for `vidpipe serve` and the API Lambda alike (both serve the routes of
 * `api/routes.ts`, which installs the API's policy).
 *
 * A browser calling the API from another origin first sends a preflight: `OPTIONS` with `Origin`,
 * `Access-Control-Request-Method` and `Access-Control-Request-Headers`, and without `x-api-key`
 * (a preflight carries no credentials). It is answered here, before the key check, and every other
 * response under the prefix gets the allow headers too. On AWS, API Gateway's `OPTIONS` method
 * needs no key and is routed to the Lambda, because "your backend is responsible for returning the
 * Access-Control-Allow-Origin and Access-Control-Allow-Headers headers, because a proxy
 * integration doesn't return an integration response" (API Gateway Developer Guide, "Enabling
 * CORS for a REST API resource").
 *
 * Effect's `HttpRouter.cors` is not used: it applies to every route of the server (the API and the
 * delivery route would overwrite each other's headers), and an empty origin list means `*` there.
 */
import { Config, Effect } from "effect"
import { HttpEffect, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { InvalidConfiguration } from "../../layers/InvalidConfiguration.ts"

/** `*` (any origin), or the exact origins allowed; an empty list allows no other origin. */
export type AllowedOrigins = "*" | ReadonlyArray<string>

export interface CorsPolicy {
  readonly origins: AllowedOrigins
  readonly methods: ReadonlyArray<string>
  /** Request headers a page may send. */
  readonly headers: ReadonlyArray<string>
  /** Response headers a page may read beyond the CORS-safelisted ones. */
  readonly exposedHeaders?: ReadonlyArray<string>
  /** How long a browser may reuse a preflight's answer. */
  readonly maxAgeSeconds: number
}

const pathOf = (url: string) => {
  try {
    return new URL(url, "http://localhost").pathname
  } catch {
    return undefined
  }
}

/** The allow-origin value for this request's `Origin`, or undefined when it is not allowed. */
export const allowedOrigin = (origins: AllowedOrigins, origin: string | undefined) =>
  origins === "*" ? "*" : origin !== undefined && origins.includes(origin) ? origin : undefined

/**
 * Global router middleware for requests whose path is `prefix` or under it (`/v1`: `/v1/jobs`);
 * others pass untouched. `OPTIONS` is answered 204 at once; a disallowed origin gets no allow
 * headers, so the browser refuses the call.
 */
export const corsUnder = (prefix: string, policy: CorsPolicy) => {
  const base = prefix.replace(/\/+$/, "")
  const applies = (url: string) => {
    const path = pathOf(url)
    return path !== undefined && (base === "" || path === base || path.startsWith(`${base}/`))
  }
  // A list answers differently per Origin: shared caches must key on it.
  const vary = policy.origins === "*" ? {} : { vary: "Origin" }
  const common = (origin: string) => ({
    "access-control-allow-origin": origin,
    ...(policy.exposedHeaders === undefined || policy.exposedHeaders.length === 0
      ? {}
      : { "access-control-expose-headers": policy.exposedHeaders.join(", ") })
  })
  const preflight = (origin: string) => ({
    ...common(origin),
    "access-control-allow-methods": policy.methods.join(", "),
    "access-control-allow-headers": policy.headers.join(", "),
    "access-control-max-age": String(policy.maxAgeSeconds)
  })
  return HttpRouter.middleware((httpEffect) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      if (!applies(request.url)) return httpEffect
      const origin = allowedOrigin(policy.origins, request.headers["origin"])
      if (request.method === "OPTIONS") {
        return Effect.succeed(HttpServerResponse.empty({ status: 204, headers: { ...vary, ...(origin === undefined ? {} : preflight(origin)) } }))
      }
      // Also on responses made from failures (401, 404, 503): a page can read why it was refused.
      return HttpEffect.appendPreResponseHandler((_request, response) =>
        Effect.succeed(HttpServerResponse.setHeaders(response, { ...vary, ...(origin === undefined ? {} : common(origin)) }))
      ).pipe(Effect.andThen(httpEffect))
    }), { global: true })
}

/** `a, b` → the origins; each must be exactly `scheme://host[:port]`, or `*` alone. */
export const parseOrigins = (variable: string, value: string): Effect.Effect<AllowedOrigins, InvalidConfiguration> => {
  const list = value.split(",").map((o) => o.trim()).filter((o) => o !== "")
  if (list.length === 1 && list[0] === "*") return Effect.succeed("*")
  const wrong = list.find((o) => !URL.canParse(o) || new URL(o).origin !== o)
  return wrong === undefined
    ? Effect.succeed(list)
    : Effect.fail(new InvalidConfiguration({ variable, value: wrong, expected: "comma-separated origins (https://app.example.com) or * alone" }))
}

/**
 * VIDPIPE_CORS_ORIGINS: the origins whose pages may call the API (and, on `vidpipe serve`, upload).
 * Default none: the API key is a bearer secret, and a page that holds it could otherwise spend it
 * from any site's visitors' browsers, or drive a `vidpipe serve` on 127.0.0.1 from any page its
 * user opens; `vidpipe serve`'s own web app is same-origin and needs no CORS.
 */
export const corsOriginsConfig = Effect.gen(function*() {
  return yield* parseOrigins("VIDPIPE_CORS_ORIGINS", yield* Config.String("VIDPIPE_CORS_ORIGINS").pipe(Config.withDefault("")))
})

/** The `/v1` API: its methods, and the two headers its calls send. */
export const apiCorsPolicy = (origins: AllowedOrigins): CorsPolicy => ({
  origins,
  methods: ["GET", "POST", "DELETE"],
  headers: ["x-api-key", "content-type"],
  maxAgeSeconds: 600
})
