/**
 * The Redis connection every Redis-backed layer shares: one client per process, and the key
 * prefix that isolates a deployment or a test run. Built by `redisConnectionLayer`
 * (layers/redis/RedisConnection.ts).
 */
import { Context } from "effect"
import type { Redis } from "ioredis"

export interface RedisConnectionShape {
  readonly client: Redis
  /** Every key starts with `${prefix}:`. */
  readonly prefix: string
}

export class RedisConnection extends Context.Service<RedisConnection, RedisConnectionShape>()("vidpipe/redis/RedisConnection") {}
