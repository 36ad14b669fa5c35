/**
 * What `npm run chaos` found possible when Redis dies between running a command and answering
 * it: ioredis sends the unanswered command again after reconnecting (autoResendUnfulfilledCommands),
 * so a script that already ran runs a second time. A job update must still be applied once. The
 * moment is made exact with a proxy that lets Redis run the next script, then cuts the connection
 * instead of passing the reply on.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { redisConnectionLayer } from "../../src/layers/redis/RedisConnection.ts"
import { redisJobStoreLayer } from "../../src/layers/redis/RedisJobStore.ts"
import { newJob } from "../../src/programs/jobRecords.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { deletePrefix, testRedisUrl, uniquePrefix } from "../support/redis.ts"
import type { ProxiedConnection } from "../support/tcpProxy.ts"
import { startTcpProxy } from "../support/tcpProxy.ts"

/** A proxy whose `cutAfterNextScript` lets Redis run the next script (EVALSHA/EVAL), then drops its reply with the connection. */
const cuttingProxy = async (target: URL) => {
  let armed = false
  let cuts = 0
  const cutting = new WeakSet<ProxiedConnection>()
  const proxy = await startTcpProxy({ hostname: target.hostname, port: Number(target.port || 6379) }, {
    request: (chunk, connection) => {
      if (armed && /EVAL/i.test(chunk.toString("latin1"))) {
        armed = false
        cutting.add(connection)
      }
    },
    reply: (chunk, connection) => {
      if (!cutting.has(connection)) return connection.toClient(chunk)
      cuts++
      connection.cut()
    }
  })
  return {
    url: `redis://127.0.0.1:${proxy.port}${target.pathname}`,
    cutAfterNextScript: () => void (armed = true),
    cuts: () => cuts,
    close: proxy.close
  }
}

describe("Redis answers lost with the connection", () => {
  it.live("a job update whose reply was lost is applied once, not again when ioredis resends it", () =>
    Effect.gen(function*() {
      const prefix = uniquePrefix("lost-reply")
      const proxy = yield* Effect.acquireRelease(Effect.promise(() => cuttingProxy(new URL(testRedisUrl))), (p) =>
        Effect.promise(async () => {
          await p.close()
          await deletePrefix(testRedisUrl, prefix).catch(() => undefined)
        }))
      const layer = redisJobStoreLayer.pipe(Layer.provide(redisConnectionLayer(proxy.url, prefix)))
      yield* Effect.gen(function*() {
        const store = yield* JobStore
        const id = `j-${Math.random().toString(36).slice(2)}`
        const job = newJob({ id, fileName: "clip.mp4", sourceKey: `${id}/clip.mp4`, outputPrefix: `${id}/`, segmentSeconds: 4, now: 1 })

        proxy.cutAfterNextScript()
        yield* store.create(job)
        assert.strictEqual(proxy.cuts(), 1)
        assert.strictEqual((yield* store.get(id)).fileName, "clip.mp4", "a create whose reply was lost still succeeds")

        // What finalize does: a counter, which a second application would make 2.
        proxy.cutAfterNextScript()
        const updated = yield* store.update(id, (current) => ({ ...current, status: "ready", finalizeRuns: (current.finalizeRuns ?? 0) + 1 }))
        assert.strictEqual(proxy.cuts(), 2)
        assert.strictEqual(updated.finalizeRuns, 1)
        assert.strictEqual((yield* store.get(id)).finalizeRuns, 1)
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.scoped), 30_000)
})
