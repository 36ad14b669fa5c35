/**
 * The API's keys from configuration, read as secrets (`Config.Redacted`: never in a log or an
 * error message):
 *   VIDPIPE_API_KEYS        comma-separated keys, each plain or `sha256:<64 hex>` (the SHA-256 of the
 *                           key, so the configuration need not hold a usable secret); each key sees
 *                           only its own jobs
 *   VIDPIPE_ADMIN_API_KEYS  the same forms; these keys see and manage every job
 * A malformed `sha256:` entry is refused by its position, not its value.
 */
import { Config, Effect, Redacted } from "effect"
import { InvalidConfiguration } from "../../../layers/InvalidConfiguration.ts"
import { makeKeyRing } from "./ApiKeys.ts"

const entriesOf = (variable: string) =>
  Config.Redacted(variable).pipe(
    Config.withDefault(Redacted.make("")),
    Config.map((value) => Redacted.value(value).split(",").map((entry) => entry.trim()).filter((entry) => entry.length > 0))
  )

export const apiKeysConfig = Effect.gen(function*() {
  const apiKeys = yield* entriesOf("VIDPIPE_API_KEYS")
  const adminApiKeys = yield* entriesOf("VIDPIPE_ADMIN_API_KEYS")
  // Checked here, so a bad entry stops the program at start with the variable's name.
  for (const [variable, keys] of [["VIDPIPE_API_KEYS", apiKeys], ["VIDPIPE_ADMIN_API_KEYS", adminApiKeys]] as const) {
    yield* makeKeyRing({ keys }).pipe(
      Effect.mapError((error) => new InvalidConfiguration({ variable, value: "(not shown: it holds keys)", expected: error.message }))
    )
  }
  return { apiKeys, adminApiKeys }
})
