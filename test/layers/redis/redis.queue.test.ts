/**
 * The JobQueue contract against Redis Streams, plus what only Redis can get wrong: scripts
 * surviving `SCRIPT FLUSH`, and the PEL naming the consumer that holds a delivery.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import type { RedisQueueOptions } from "../../../src/layers/redis/RedisJobQueue.ts"
import { redisJobQueueLayer } from "../../../src/layers/redis/RedisJobQueue.ts"
import { RedisConnection } from "../../../src/services/RedisConnection.ts"
import { JobQueue } from "../../../src/services/JobQueue.ts"
import { jobQueueContract } from "../../contracts/jobQueueContract.ts"
import { testRedisConnection } from "../../support/redis.ts"

const queueLayer = (options: RedisQueueOptions) => redisJobQueueLayer(options).pipe(Layer.provideMerge(testRedisConnection()))

jobQueueContract("redis streams", (options) =>
  queueLayer({ maxReceiveCount: options.maxReceiveCount, defaultVisibility: Duration.seconds(options.defaultVisibilitySeconds) })
)

describe("RedisJobQueue", () => {
  const message = (id: string) => ({ body: `body-${id}`, groupId: id, deduplicationId: id })

  it.live("keeps working after SCRIPT FLUSH (scripts are reloaded)", () =>
    Effect.gen(function*() {
      const queue = yield* JobQueue
      const { client } = yield* RedisConnection
      yield* queue.send(message("before"))
      yield* Effect.promise(() => client.script("FLUSH"))
      yield* queue.send(message("after"))
      const received = yield* queue.receive({ maxMessages: 10, waitSeconds: 1 })
      assert.deepStrictEqual(received.map((m) => m.body), ["body-before", "body-after"])
      yield* Effect.promise(() => client.script("FLUSH"))
      yield* Effect.forEach(received, (m) => queue.delete(m.receipt), { discard: true })
      assert.deepStrictEqual(yield* queue.depth, { visible: 0, inFlight: 0, deadLettered: 0 })
    }).pipe(Effect.provide(queueLayer({}))))

  it.live("XPENDING names the consumer holding a delivery", () =>
    Effect.gen(function*() {
      const queue = yield* JobQueue
      const { client, prefix } = yield* RedisConnection
      const sent = yield* queue.send(message("pel"))
      const [received] = yield* queue.receive({ waitSeconds: 1 })
      assert.strictEqual(received!.messageId, sent.messageId)
      const pending = (yield* Effect.promise(() => client.xpending(`${prefix}:queue`, "workers", "-", "+", 10))) as Array<[string, string, number, number]>
      assert.deepStrictEqual(pending.map(([id, holder]) => [id, holder]), [[sent.messageId, "worker-under-test"]])
      yield* queue.delete(received!.receipt)
      assert.deepStrictEqual(yield* Effect.promise(() => client.xpending(`${prefix}:queue`, "workers", "-", "+", 10)), [])
    }).pipe(Effect.provide(queueLayer({ consumer: "worker-under-test" }))))
})
