/**
 * The service contracts run unchanged against the Redis layers, on a real Redis
 * (127.0.0.1:6379 unless VIDPIPE_TEST_REDIS_URL says otherwise).
 */
import { Layer } from "effect"
import { redisCoordinatorLayer } from "../../src/layers/redis/RedisCoordinator.ts"
import { redisIdleRegistryLayer } from "../../src/layers/redis/RedisIdleRegistry.ts"
import { redisJobStoreLayer } from "../../src/layers/redis/RedisJobStore.ts"
import { coordinatorContract } from "../contracts/coordinatorContract.ts"
import { idleRegistryContract } from "../contracts/idleRegistryContract.ts"
import { jobStoreContract } from "../contracts/jobStoreContract.ts"
import { webhookStoreContract } from "../contracts/webhookStoreContract.ts"
import { redisWebhookStoreLayer } from "../../src/layers/redis/RedisWebhookStore.ts"
import { testRedisConnection } from "../support/redis.ts"

coordinatorContract("redis (Lua)", () => redisCoordinatorLayer.pipe(Layer.provideMerge(testRedisConnection())))
jobStoreContract("redis", () => redisJobStoreLayer.pipe(Layer.provideMerge(testRedisConnection())))
idleRegistryContract("redis (KillMe)", () => redisIdleRegistryLayer.pipe(Layer.provideMerge(testRedisConnection())))
webhookStoreContract("redis", () => redisWebhookStoreLayer.pipe(Layer.provideMerge(testRedisConnection())))
