/**
 * API keys: every `/v1` endpoint needs an `x-api-key` header naming one of the configured keys.
 * The middleware definition is what the API (and its OpenAPI document) declares; `apiKeysLayer`
 * is the server side. On AWS, API Gateway checks the keys first and this stays as a second check.
 *
 * The middleware provides the `ApiCaller`: the key's id (what a job records as its owner, never
 * the key) and whether it is an admin key. A configured key is a plain key or `sha256:<hex>` (the
 * SHA-256 of the key, so a configuration need not hold a usable secret); the id is derived from
 * that digest, so a key has the same id in either form. Behind API Gateway the id is the usage
 * plan key's id (`requestContext.identity.apiKeyId`), which the Lambda passes on (`gatewayKeyIdHeader`).
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import { HttpServerRequest } from "effect/http"
import { HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { InvalidApiKey, InvalidApiKeyResponse, MissingApiKey, MissingApiKeyResponse } from "./ApiErrors.ts"

export const apiKeyHeader = "x-api-key"

/**
 * Set by the API Lambda from API Gateway's `requestContext.identity.apiKeyId` (any copy a client
 * sent is dropped first); read only when the routes are built with `gatewayKeyIds`.
 */
export const gatewayKeyIdHeader = "x-vidpipe-gateway-key-id"

/** Who is calling: the owner id jobs record, and whether the key sees every job. */
export interface ApiCallerShape {
  readonly keyId: string
  readonly admin: boolean
}

export class ApiCaller extends Context.Service<ApiCaller, ApiCallerShape>()("vidpipe/api/ApiCaller") {}

export class ApiKeys extends HttpApiMiddleware.Service<ApiKeys, { provides: ApiCaller }>()("vidpipe/api/ApiKeys", {
  security: { apiKey: HttpApiSecurity.apiKey({ key: apiKeyHeader, in: "header" }) },
  error: [MissingApiKeyResponse, InvalidApiKeyResponse]
}) {}

/** A configuration entry that is neither a key nor `sha256:` and 64 hex digits. */
export class InvalidKeyEntry extends Schema.TaggedError<InvalidKeyEntry>()("InvalidKeyEntry", {
  position: Schema.Int
}) {
  override get message() {
    return `API key entry ${this.position} starts with sha256: but is not followed by 64 hex digits`
  }
}

interface KnownKey {
  readonly digest: Buffer
  readonly keyId: string
  readonly admin: boolean
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest()

/** Not reversible and not a secret: 96 bits of the digest's own digest. */
const keyIdOf = (digest: Buffer) => `key_${sha256(digest).toString("hex").slice(0, 24)}`

/** The id a job records for a key (also for a key configured as `sha256:`). */
export const keyIdFor = (key: string) => keyIdOf(sha256(key))

const parseEntry = (entry: string, position: number, admin: boolean): KnownKey | InvalidKeyEntry => {
  if (!entry.startsWith("sha256:")) {
    const digest = sha256(entry)
    return { digest, keyId: keyIdOf(digest), admin }
  }
  const hex = entry.slice("sha256:".length)
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return new InvalidKeyEntry({ position })
  const digest = Buffer.from(hex, "hex")
  return { digest, keyId: keyIdOf(digest), admin }
}

/** The configured keys; a key listed as both is an admin key. */
export interface KeyRing {
  readonly keys: ReadonlyArray<KnownKey>
}

export const makeKeyRing = (entries: { readonly keys: ReadonlyArray<string>; readonly adminKeys?: ReadonlyArray<string> }) =>
  Effect.gen(function*() {
    const parse = (list: ReadonlyArray<string>, admin: boolean, offset: number) =>
      Effect.forEach(list.filter((entry) => entry.length > 0), (entry, index) => {
        const parsed = parseEntry(entry, offset + index + 1, admin)
        return parsed instanceof InvalidKeyEntry ? Effect.fail(parsed) : Effect.succeed(parsed)
      })
    const users = yield* parse(entries.keys, false, 0)
    const admins = yield* parse(entries.adminKeys ?? [], true, users.length)
    const ring: KeyRing = { keys: [...admins, ...users] }
    return ring
  })

/**
 * The key `presented` is, or undefined. Fixed-size digests are compared with every known key,
 * without an early exit, so the time does not depend on where (or whether) a key differs.
 */
export const findKey = (ring: KeyRing, presented: string) => {
  const candidate = sha256(presented)
  let found: KnownKey | undefined
  for (const known of ring.keys) {
    if (timingSafeEqual(known.digest, candidate) && found === undefined) found = known
  }
  return found
}

export interface ApiKeysOptions {
  /** Owner ids from API Gateway's usage plan key (`gatewayKeyIdHeader`), when the request has one. */
  readonly gatewayKeyIds?: boolean
}

export const apiKeysLayer = (ring: KeyRing, options: ApiKeysOptions = {}) =>
  Layer.succeed(
    ApiKeys,
    ApiKeys.of({
      apiKey: (httpEffect, { credential }) =>
        Effect.gen(function*() {
          const presented = Redacted.value(credential)
          if (presented.length === 0) {
            return yield* new MissingApiKey({ message: `send your API key in the ${apiKeyHeader} header` })
          }
          const known = findKey(ring, presented)
          if (known === undefined) return yield* new InvalidApiKey({ message: "the API key is not valid" })
          const gatewayKeyId = options.gatewayKeyIds === true ? (yield* HttpServerRequest.HttpServerRequest).headers[gatewayKeyIdHeader] : undefined
          const keyId = gatewayKeyId !== undefined && gatewayKeyId.length > 0 ? `apigw_${gatewayKeyId}` : known.keyId
          return yield* Effect.provideService(httpEffect, ApiCaller, { keyId, admin: known.admin })
        })
    })
  )
