/**
 * The Redis layers read every Lua script's reply through a Schema: a reply of another shape (here
 * a command registered under the script's name before the layer, as a script edited without its
 * reader would answer) is the layer's typed failure, not retryable, and never a wrong value.
 * The right shapes are covered by the contract suites (redis.contracts, redis.queue).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { makeRedisCoordinator } from "../../../src/layers/redis/RedisCoordinator.ts"
import { makeRedisIdleRegistry } from "../../../src/layers/redis/RedisIdleRegistry.ts"
import { makeRedisJobQueue } from "../../../src/layers/redis/RedisJobQueue.ts"
import { RedisConnection } from "../../../src/services/RedisConnection.ts"
import { testRedisConnection } from "../../support/redis.ts"

/** Registers `lua` under `name` on this connection's client, so the layer's own script of that name is not. */
const answerWith = (name: string, numberOfKeys: number, lua: string) =>
  Effect.gen(function*() {
    const { client } = yield* RedisConnection
    client.defineCommand(name, { numberOfKeys, lua })
  })

const connection = () => Layer.fresh(testRedisConnection(undefined, "replies"))

const expectUnexpectedReply = (error: { readonly _tag: string; readonly reason: string; readonly retryable: boolean }, tag: string) => {
  assert.strictEqual(error._tag, tag)
  assert.match(error.reason, /^unexpected reply from Redis: /)
  assert.isFalse(error.retryable)
}

describe("Redis script replies", () => {
  it.live("JobQueue: receive in the old flat shape, send and depth with a missing element, delete with a string", () =>
    Effect.gen(function*() {
      yield* answerWith("vidpipeQueueReceive", 6, "return {1000, -1, 'id-1', 'id-1/1/1000', 'body', 'group', 1}")
      yield* answerWith("vidpipeQueueSend", 6, "return {'id-1'}")
      yield* answerWith("vidpipeQueueDepth", 6, "return {1, 2}")
      yield* answerWith("vidpipeQueueDelete", 6, "return 'OK'")
      const queue = yield* makeRedisJobQueue()
      const received = yield* Effect.flip(queue.receive({ maxMessages: 1 }))
      expectUnexpectedReply(received, "QueueFailed")
      assert.include(received.reason, "Expected array")
      expectUnexpectedReply(yield* Effect.flip(queue.send({ body: "b", groupId: "g", deduplicationId: "d" })), "QueueFailed")
      expectUnexpectedReply(yield* Effect.flip(queue.depth), "QueueFailed")
      const deleted = yield* Effect.flip(queue.delete("id-1/1/1000"))
      if (deleted._tag !== "QueueFailed") return assert.fail(`expected QueueFailed, got ${deleted._tag}`)
      expectUnexpectedReply(deleted, "QueueFailed")
    }).pipe(Effect.provide(connection())))

  it.live("Coordinator: a completion without its lease fields, a renewal that answers 2", () =>
    Effect.gen(function*() {
      yield* answerWith("vidpipeComplete", 2, "return {1}")
      yield* answerWith("vidpipeRenew", 2, "return 2")
      const coordinator = yield* makeRedisCoordinator
      const completed = yield* Effect.flip(coordinator.complete({ jobId: "j", taskId: "t", total: 1, owner: "w", leaseFor: "1 minute" }))
      expectUnexpectedReply(completed, "CoordinatorFailed")
      const renewed = yield* Effect.flip(coordinator.renewLease({ jobId: "j", owner: "w", token: 1, expiresAt: 0 }, "1 minute"))
      expectUnexpectedReply(renewed, "CoordinatorFailed")
    }).pipe(Effect.provide(connection())))

  it.live("IdleRegistry: a row whose idle time is not a number", () =>
    Effect.gen(function*() {
      yield* answerWith("vidpipeIdle", 2, "return {{'i-1', 'soon', '1000'}}")
      const registry = yield* makeRedisIdleRegistry
      const idle = yield* Effect.flip(registry.idle("1 minute"))
      expectUnexpectedReply(idle, "CoordinatorFailed")
      assert.include(idle.reason, "finite number")
    }).pipe(Effect.provide(connection())))
})
