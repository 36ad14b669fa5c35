/**
 * API keys: every `/v1` endpoint needs an `x-api-key` header naming one of the configured keys.
 * The middleware definition is what the API (and its OpenAPI document) declares; `apiKeysLayer`
 * is the server side. On AWS, API Gateway checks the keys first and this stays as a second check.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { Effect, Layer, Redacted } from "effect"
import { HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { InvalidApiKey, InvalidApiKeyResponse, MissingApiKey, MissingApiKeyResponse } from "./ApiErrors.ts"

export const apiKeyHeader = "x-api-key"

export class ApiKeys extends HttpApiMiddleware.Service<ApiKeys>()("vidpipe/api/ApiKeys", {
  security: { apiKey: HttpApiSecurity.apiKey({ key: apiKeyHeader, in: "header" }) },
  error: [MissingApiKeyResponse, InvalidApiKeyResponse]
}) {}

// Comparing fixed-size digests keeps the time independent of where (and whether) a key differs,
// and of the keys' lengths.
const digest = (key: string) => createHash("sha256").update(key, "utf8").digest()

/** True when `presented` is one of `keys`; checks every key, without an early exit. */
export const makeKeyCheck = (keys: ReadonlyArray<string>) => {
  const digests = keys.filter((key) => key.length > 0).map(digest)
  return (presented: string) => {
    const candidate = digest(presented)
    let found = false
    for (const known of digests) found = timingSafeEqual(known, candidate) || found
    return found
  }
}

export const apiKeysLayer = (keys: ReadonlyArray<string>) => {
  const isKnown = makeKeyCheck(keys)
  return Layer.succeed(
    ApiKeys,
    ApiKeys.of({
      apiKey: (httpEffect, { credential }) => {
        const presented = Redacted.value(credential)
        if (presented.length === 0) {
          return Effect.fail(new MissingApiKey({ message: `send your API key in the ${apiKeyHeader} header` }))
        }
        if (!isKnown(presented)) return Effect.fail(new InvalidApiKey({ message: "the API key is not valid" }))
        return httpEffect
      }
    })
  )
}
