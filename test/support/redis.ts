/**
 * Redis for tests: the shared server at 127.0.0.1:6379 (or VIDPIPE_TEST_REDIS_URL), with a fresh
 * key prefix per layer so runs never see each other's keys, removed again afterwards.
 */
import { Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { redisConnectionLayer } from "../../src/layers/redis/RedisConnection.ts"
import { RedisConnection } from "../../src/services/RedisConnection.ts"

export const testRedisUrl = process.env["VIDPIPE_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379/0"

export const uniquePrefix = (label = "test") => `vidpipe-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`

/** Deletes every key under `prefix:` (SCAN, never KEYS, on a shared server). */
export const deletePrefix = async (url: string, prefix: string) => {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await client.connect()
    let cursor = "0"
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500)
      cursor = next
      if (keys.length > 0) await client.del(...keys)
    } while (cursor !== "0")
  } finally {
    client.disconnect()
  }
}

/** A RedisConnection under a fresh prefix whose keys are deleted when the layer is released. */
export const testRedisConnection = (url = testRedisUrl, label?: string) => {
  const prefix = uniquePrefix(label)
  const cleanup = Layer.effectDiscard(Effect.addFinalizer(() => Effect.promise(() => deletePrefix(url, prefix).catch(() => undefined))))
  return Layer.merge(redisConnectionLayer(url, prefix), cleanup)
}

export { RedisConnection }
