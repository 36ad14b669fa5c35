/**
 * A Lua script's reply read through the Schema of what that script returns (ioredis hands over
 * Redis integers as numbers, bulk strings as strings, Lua tables as arrays). A reply of another
 * shape (a script edited without its reader, something in between answering for Redis) becomes
 * the caller's typed failure here, instead of a wrong number further on.
 */
import { Effect, Schema } from "effect"

export const decodeScriptReply = <S extends Schema.Decoder<unknown>, E>(schema: S, fail: (reason: string) => E) => {
  const decode = Schema.decodeUnknownEffect(schema)
  return (reply: unknown): Effect.Effect<S["Type"], E> =>
    Effect.mapError(decode(reply), (error) => fail(`unexpected reply from Redis: ${error.message.replace(/\s*\n\s*/g, " ")}`))
}
