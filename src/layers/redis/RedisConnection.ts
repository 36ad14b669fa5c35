/**
 * One Redis connection per process (ioredis reconnects by itself after a restart or failover,
 * queueing commands meanwhile), and the key prefix that isolates a deployment or a test run;
 * the contract is services/RedisConnection.ts. Also the helpers the Redis layers share.
 */
import { Effect, Layer } from "effect"
import { Redis } from "ioredis"
import type { RedisOptions } from "ioredis"
import { RedisConnection } from "../../services/RedisConnection.ts"

/** The client settings callers may tune. */
export type ConnectionTuning = Pick<RedisOptions, "maxRetriesPerRequest" | "commandTimeout" | "connectTimeout" | "enableReadyCheck">

/** Options that suit a worker: a command waits through a short outage, then fails and is retried by the caller. */
const defaultClientOptions = {
  maxRetriesPerRequest: 20,
  commandTimeout: 15_000,
  connectTimeout: 5_000,
  retryStrategy: (times: number) => Math.min(times * 100, 1_000)
}

/** `overrides` tune the client for callers with other needs (the protector must fail fast). */
export const redisConnectionLayer = (url: string, prefix: string, overrides: ConnectionTuning = {}) =>
  Layer.effect(
    RedisConnection,
    Effect.acquireRelease(
      Effect.sync(() => {
        const client = new Redis(url, { ...defaultClientOptions, ...overrides })
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

export type ScriptCommand = (...args: Array<string | number>) => Promise<unknown>

/**
 * Registers Lua scripts as client commands, once per client. ioredis runs them by SHA and falls
 * back to sending the source on NOSCRIPT, so `SCRIPT FLUSH` or a failover just reloads them.
 */
export const defineScripts = <const Name extends string>(
  client: Redis,
  numberOfKeys: number,
  scripts: Readonly<Record<Name, string>>
): Readonly<Record<Name, ScriptCommand>> => {
  for (const [name, lua] of Object.entries<string>(scripts)) {
    if (!(name in client)) client.defineCommand(name, { numberOfKeys, lua })
  }
  const commands = client as unknown as Record<Name, ScriptCommand>
  return Object.fromEntries(Object.keys(scripts).map((name) => [name, commands[name as Name].bind(client)])) as Record<Name, ScriptCommand>
}
