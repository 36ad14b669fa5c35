/**
 * The `KillMe` registry on Redis: a sorted set `KillMe` (instance → idle since) and a sorted set of
 * last sightings, both updated in one script with Redis's clock.
 */
import { Duration, Effect, Layer, Schema } from "effect"
import { CoordinatorFailed } from "../../domain/Errors.ts"
import { IdleRegistry } from "../../services/IdleRegistry.ts"
import { RedisConnection } from "../../services/RedisConnection.ts"
import { defineScripts, redisCall } from "./RedisConnection.ts"
import { decodeScriptReply } from "./scriptReply.ts"

/** KEYS: KillMe zset, seen zset. ARGV: instance. Keeps the first idle time, refreshes the sighting. */
const markIdleScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[1])
return now
`

/** KEYS: KillMe, seen. ARGV: freshWithinMs. Drops stale entries, returns {instance, idleSince, seenAt}... */
const idleScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - tonumber(ARGV[1])))
for _, id in ipairs(stale) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
local out = {}
local idle = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #idle, 2 do
  table.insert(out, {idle[i], idle[i + 1], redis.call('ZSCORE', KEYS[2], idle[i]) or idle[i + 1]})
end
return out
`
/** Scores come back as Redis prints them: strings of milliseconds. */
const IdleReply = Schema.Array(Schema.Tuple([Schema.String, Schema.FiniteFromString, Schema.FiniteFromString]))

export const makeRedisIdleRegistry = Effect.gen(function*() {
  const { client, prefix } = yield* RedisConnection
  const redis = defineScripts(client, 2, { vidpipeMarkIdle: markIdleScript, vidpipeIdle: idleScript })
  const killMe = `${prefix}:KillMe`
  const seen = `${prefix}:KillMe:seen`
  const call = <A>(operation: string, run: () => Promise<A>) =>
    redisCall(run, (reason) => new CoordinatorFailed({ operation, reason, retryable: true }))
  return IdleRegistry.of({
    markIdle: (instanceId) => call("markIdle", () => redis.vidpipeMarkIdle(killMe, seen, instanceId)).pipe(Effect.asVoid),
    markBusy: (instanceId) => call("markBusy", () => client.multi().zrem(killMe, instanceId).zrem(seen, instanceId).exec()).pipe(Effect.asVoid),
    idle: (freshWithin) =>
      call("idle", () => redis.vidpipeIdle(killMe, seen, Duration.toMillis(Duration.fromInputUnsafe(freshWithin)))).pipe(
        Effect.flatMap(decodeScriptReply(IdleReply, (reason) => new CoordinatorFailed({ operation: "idle", reason, retryable: false }))),
        Effect.map((rows) => rows.map(([instanceId, idleSince, seenAt]) => ({ instanceId, idleSince, seenAt })))
      )
  })
})

export const redisIdleRegistryLayer = Layer.effect(IdleRegistry, makeRedisIdleRegistry)
