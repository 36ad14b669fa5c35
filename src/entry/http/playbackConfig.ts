/**
 * How delivery is reached, from configuration:
 *   VIDPIPE_PLAYBACK                 `public` (default: a presentation is reachable by its job id)
 *                                    or `signed` (only with a token the API gives the job's owner)
 *   VIDPIPE_PLAYBACK_SECRET          the tokens' HMAC key (a secret, never printed); required when
 *                                    several processes deliver or sign, random per process otherwise
 *   VIDPIPE_PLAYBACK_TOKEN_SECONDS   how long a token works (default 7200: a long film, watched once)
 */
import { randomBytes } from "node:crypto"
import { Config, Effect, Redacted } from "effect"
import { InvalidConfiguration } from "../../layers/InvalidConfiguration.ts"
import type { PlaybackAccess } from "./playbackToken.ts"

export const playbackConfig = Effect.gen(function*() {
  const mode = yield* Config.String("VIDPIPE_PLAYBACK").pipe(Config.withDefault("public"))
  if (mode === "public") {
    const access: PlaybackAccess = { mode: "public" }
    return access
  }
  if (mode !== "signed") {
    return yield* new InvalidConfiguration({ variable: "VIDPIPE_PLAYBACK", value: mode, expected: "public or signed" })
  }
  const secret = yield* Config.Redacted("VIDPIPE_PLAYBACK_SECRET").pipe(Config.withDefault(Redacted.make(randomBytes(32).toString("hex"))))
  const seconds = yield* Config.Int("VIDPIPE_PLAYBACK_TOKEN_SECONDS").pipe(Config.withDefault(7200))
  if (seconds < 1 || seconds > 7 * 24 * 3600) {
    return yield* new InvalidConfiguration({ variable: "VIDPIPE_PLAYBACK_TOKEN_SECONDS", value: String(seconds), expected: "between 1 and 604800" })
  }
  const access: PlaybackAccess = { mode: "signed", secret: Redacted.value(secret), tokenMillis: seconds * 1000 }
  return access
})
