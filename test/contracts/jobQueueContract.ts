/**
 * The JobQueue contract: SQS FIFO semantics, checked against any layer. Runs on real time with
 * whole-second visibility timeouts so that network backends (Redis, an SQS peer) can run it too.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { JobQueue } from "../../src/services/JobQueue.ts"

export interface QueueUnderTest {
  readonly maxReceiveCount: number
  readonly defaultVisibilitySeconds: number
}

export const jobQueueContract = (
  name: string,
  makeLayer: (options: QueueUnderTest) => Layer.Layer<JobQueue, unknown>
) =>
  describe(`JobQueue contract: ${name}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, JobQueue>, options: Partial<QueueUnderTest> = {}) =>
      effect.pipe(Effect.provide(makeLayer({ maxReceiveCount: 3, defaultVisibilitySeconds: 30, ...options })))

    const message = (id: string, group = id) => ({ body: `body-${id}`, groupId: group, deduplicationId: id })

    it.live("delivers a sent message once, with its body, group and a receive count of 1", () =>
      run(Effect.gen(function*() {
        const queue = yield* JobQueue
        const sent = yield* queue.send(message("a"))
        const [received, ...rest] = yield* queue.receive({ waitSeconds: 1 })
        assert.strictEqual(rest.length, 0)
        assert.strictEqual(received!.messageId, sent.messageId)
        assert.strictEqual(received!.body, "body-a")
        assert.strictEqual(received!.groupId, "a")
        assert.strictEqual(received!.receiveCount, 1)
        yield* queue.delete(received!.receipt)
        assert.deepStrictEqual(yield* queue.receive({ waitSeconds: 0 }), [])
      })))

    it.live("drops a send whose deduplication id was seen within the window", () =>
      run(Effect.gen(function*() {
        const queue = yield* JobQueue
        const first = yield* queue.send(message("dup"))
        const second = yield* queue.send({ ...message("dup"), body: "other" })
        assert.isFalse(first.duplicate)
        assert.isTrue(second.duplicate)
        assert.strictEqual(second.messageId, first.messageId)
        const received = yield* queue.receive({ maxMessages: 10, waitSeconds: 1 })
        assert.deepStrictEqual(received.map((m) => m.body), ["body-dup"])
      })))

    it.live("locks a message group while one of its messages is in flight, and keeps FIFO order", () =>
      run(Effect.gen(function*() {
        const queue = yield* JobQueue
        yield* queue.send(message("g1", "group"))
        yield* queue.send(message("g2", "group"))
        const [first] = yield* queue.receive({ waitSeconds: 1 })
        assert.strictEqual(first!.body, "body-g1")
        assert.deepStrictEqual(yield* queue.receive({ waitSeconds: 0 }), [], "group is locked while g1 is in flight")
        yield* queue.delete(first!.receipt)
        const [second] = yield* queue.receive({ waitSeconds: 1 })
        assert.strictEqual(second!.body, "body-g2")
      })))

    it.live("delivers messages of different groups to different receivers at once", () =>
      run(Effect.gen(function*() {
        const queue = yield* JobQueue
        yield* queue.send(message("x"))
        yield* queue.send(message("y"))
        const one = yield* queue.receive({ waitSeconds: 1 })
        const two = yield* queue.receive({ waitSeconds: 1 })
        assert.deepStrictEqual([...one, ...two].map((m) => m.body).sort(), ["body-x", "body-y"])
      })))

    it.live("redelivers after the visibility timeout with a higher receive count; the old receipt is void", () =>
      run(Effect.gen(function*() {
        const queue = yield* JobQueue
        yield* queue.send(message("v"))
        const [first] = yield* queue.receive({ waitSeconds: 1, visibility: "1 second" })
        const [again] = yield* queue.receive({ waitSeconds: 5, visibility: "30 seconds" })
        assert.strictEqual(again!.messageId, first!.messageId)
        assert.strictEqual(again!.receiveCount, 2)
        const stale = yield* Effect.flip(queue.delete(first!.receipt))
        assert.strictEqual(stale._tag, "ReceiptExpired")
        yield* queue.delete(again!.receipt)
        assert.strictEqual((yield* queue.depth).visible + (yield* queue.depth).inFlight, 0)
      })))

    it.live("keeps a message hidden while its visibility is extended (heartbeat)", () =>
      run(Effect.gen(function*() {
        const queue = yield* JobQueue
        yield* queue.send(message("hb"))
        const [received] = yield* queue.receive({ waitSeconds: 1, visibility: "1 second" })
        yield* queue.extendVisibility(received!.receipt, "4 seconds")
        yield* Effect.sleep("1500 millis")
        assert.deepStrictEqual(yield* queue.receive({ waitSeconds: 0 }), [], "still hidden after the first timeout")
        const depth = yield* queue.depth
        assert.strictEqual(depth.inFlight, 1)
        yield* queue.delete(received!.receipt)
      })))

    it.live("moves a message to the dead-letter queue after maxReceiveCount receives", () =>
      run(Effect.gen(function*() {
        const queue = yield* JobQueue
        yield* queue.send(message("poison"))
        for (let attempt = 1; attempt <= 2; attempt++) {
          const [received] = yield* queue.receive({ waitSeconds: 3, visibility: "1 second" })
          assert.strictEqual(received!.receiveCount, attempt)
        }
        assert.deepStrictEqual(yield* queue.receive({ waitSeconds: 2, visibility: "1 second" }), [])
        const dead = yield* queue.deadLetters
        assert.deepStrictEqual(dead.map((m) => m.body), ["body-poison"])
        assert.strictEqual((yield* queue.depth).deadLettered, 1)
      }), { maxReceiveCount: 2 }))

    // SQS returns at most 10 messages per receive: a listing that peeks (visibility 0) sees the
    // same oldest 10 every time, and letters nobody deletes pile up in front of the rest.
    it.live("lists every dead letter past the first ten, and deleting them empties the dead-letter queue", () =>
      run(Effect.gen(function*() {
        const queue = yield* JobQueue
        const count = 25
        const bodies = Array.from({ length: count }, (_, i) => `body-d${i}`).sort()
        yield* Effect.forEach(Array.from({ length: count }, (_, i) => message(`d${i}`)), queue.send, { discard: true })
        // Each received once and never deleted: with maxReceiveCount 1, the next receive after the
        // visibility timeout dead-letters it. The bounds only turn a hang into a failure.
        let received = 0
        for (let round = 0; received < count; round++) {
          assert.isBelow(round, 50, "every message is received once")
          received += (yield* queue.receive({ maxMessages: 10, waitSeconds: 1, visibility: "1 second" })).length
        }
        for (let round = 0; (yield* queue.depth).deadLettered < count; round++) {
          assert.isBelow(round, 50, "every message reaches the dead-letter queue")
          assert.deepStrictEqual(yield* queue.receive({ maxMessages: 10, waitSeconds: 2 }), [])
        }
        const listed = yield* queue.deadLetters
        assert.deepStrictEqual(listed.map((letter) => letter.body).sort(), bodies, "one listing holds all 25")
        for (const letter of listed) yield* queue.deleteDeadLetter(letter.receipt)
        yield* queue.deleteDeadLetter(listed[0]!.receipt) // twice: harmless
        assert.deepStrictEqual(yield* queue.deadLetters, [])
        assert.deepStrictEqual(yield* queue.depth, { visible: 0, inFlight: 0, deadLettered: 0 })
      }), { maxReceiveCount: 1 }))

    it.live("wakes a long poll as soon as a message arrives", () =>
      run(Effect.gen(function*() {
        const queue = yield* JobQueue
        const started = Date.now()
        const poll = yield* Effect.forkChild(queue.receive({ waitSeconds: 10 }))
        yield* Effect.sleep("300 millis")
        yield* queue.send(message("wake"))
        const received = yield* Fiber.join(poll)
        assert.strictEqual(received.length, 1)
        assert.isBelow(Date.now() - started, 3000)
      })))

    it.live("an empty long poll returns empty after its wait", () =>
      run(Effect.gen(function*() {
        const queue = yield* JobQueue
        const started = Date.now()
        assert.deepStrictEqual(yield* queue.receive({ waitSeconds: 1 }), [])
        assert.isAtLeast(Date.now() - started, 900)
      })))

    it.live("concurrent receivers get every message exactly once", () =>
      run(Effect.gen(function*() {
        const queue = yield* JobQueue
        const count = 12
        yield* Effect.forEach(Array.from({ length: count }, (_, i) => message(`c${i}`)), queue.send, { discard: true })
        const seen: Array<string> = []
        const receiver = Effect.gen(function*() {
          while (true) {
            const batch = yield* queue.receive({ waitSeconds: 1, maxMessages: 2 })
            if (batch.length === 0) return
            for (const m of batch) {
              seen.push(m.body)
              yield* queue.delete(m.receipt)
            }
          }
        })
        yield* Effect.all(Array.from({ length: 5 }, () => receiver), { concurrency: "unbounded" })
        assert.strictEqual(seen.length, count)
        assert.strictEqual(new Set(seen).size, count)
      })))

    it.live("deleting twice with the same receipt is harmless: the message is gone and never comes back", () =>
      run(Effect.gen(function*() {
        const queue = yield* JobQueue
        const empty = { visible: 0, inFlight: 0, deadLettered: 0 }
        yield* queue.send(message("twice"))
        // A short visibility: a delivery that was not really deleted would be visible again after 1 s.
        const [received] = yield* queue.receive({ waitSeconds: 1, visibility: "1 second" })
        assert.strictEqual(received!.body, "body-twice")
        yield* queue.delete(received!.receipt)
        assert.deepStrictEqual(yield* queue.depth, empty, "after the first delete")
        yield* queue.delete(received!.receipt)
        assert.deepStrictEqual(yield* queue.depth, empty, "after the second delete")
        // Long-poll well past that visibility timeout: a message still queued (or re-queued) returns.
        assert.deepStrictEqual(yield* queue.receive({ waitSeconds: 3, maxMessages: 10 }), [], "the message never comes back")
        assert.deepStrictEqual(yield* queue.depth, empty, "after the visibility timeout")
      })))
  })
