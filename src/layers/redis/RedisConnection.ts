/**
 * One Redis connection per process (ioredis reconnects by itself after a restart or failover,
 * queueing commands meanwhile), and the key prefix that isolates a deployment or a test run.
 */
import { Context, Effect, Layer } from "effect"
import { Redis } from "ioredis"

export interface RedisConnectionShape {
  readonly client: Redis
  /** Every key starts with `${prefix}:`. */
  readonly prefix: string
}

export class RedisConnection extends Context.Service<RedisConnection, RedisConnectionShape>()("vidpipe/redis/RedisConnection") {}

export const redisConnectionLayer = (url: string, prefix: string) =>
  Layer.effect(
    RedisConnection,
    Effect.acquireRelease(
      Effect.sync(() => {
        const client = new Redis(url, {
          // A command waits through a short outage (reconnects are retried), then fails and is retried by the caller.
          maxRetriesPerRequest: 20,
          commandTimeout: 15_000,
          connectTimeout: 5_000,
          retryStrategy: (times) => Math.min(times * 100, 1_000)
        })
        // Connection errors are reported on each command; without a listener ioredis logs them itself.
        client.on("error", () => {})
        return RedisConnection.of({ client, prefix })
      }),
      ({ client }) => Effect.promise(() => client.quit().then(() => undefined, () => client.disconnect()))
    )
  )

/** Turns a rejected ioredis promise into a typed error of the caller's choosing. */
export const redisCall = <A, E>(run: () => Promise<A>, fail: (reason: string) => E) =>
  Effect.tryPromise({ try: run, catch: (error) => fail(error instanceof Error ? error.message : String(error)) })
