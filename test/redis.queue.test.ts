/**
 * The JobQueue contract against Redis Streams, plus what only Redis can get wrong: scripts
 * surviving `SCRIPT FLUSH`, and the PEL naming the consumer that holds a delivery.
 */
import { randomUUID } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import type { Redis } from "ioredis"
import type { RedisQueueOptions } from "../src/layers/redis/RedisJobQueue.ts"
import { redisJobQueueLayer } from "../src/layers/redis/RedisJobQueue.ts"
import { RedisConnection, redisConnectionLayer } from "../src/layers/redis/RedisConnection.ts"
import { JobQueue } from "../src/services/JobQueue.ts"
import { jobQueueContract } from "./contracts/jobQueueContract.ts"

const url = process.env["VIDPIPE_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379/0"

const deleteKeys = async (client: Redis, prefix: string) => {
  let cursor = "0"
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500)
    if (keys.length > 0) await client.del(...keys)
    cursor = next
  } while (cursor !== "0")
}

/** A connection under a fresh prefix whose keys are removed when the layer is released. */
const testConnection = () => {
  const cleanup = Layer.effectDiscard(Effect.gen(function*() {
    const { client, prefix } = yield* RedisConnection
    yield* Effect.addFinalizer(() => Effect.promise(() => deleteKeys(client, prefix)))
  }))
  return cleanup.pipe(Layer.provideMerge(redisConnectionLayer(url, `vidpipe-test-${randomUUID()}`)))
}

const queueLayer = (options: RedisQueueOptions) => redisJobQueueLayer(options).pipe(Layer.provideMerge(testConnection()))

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
