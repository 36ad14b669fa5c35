/**
 * The Coordinator contract: idempotent completions, exactly one finalizer at a time, fencing,
 * and re-election when a finalizer's lease runs out. Real time, so network backends can run it
 * (Redis leases run on Redis's clock). The margins: a 1 s lease must still be live one call after
 * it was granted (one in-process or Redis call, far under 1 s on a loaded machine), and the waits
 * for a lease to run out are 1.5 s, half a lease more than needed; sleeping longer only helps them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { Coordinator } from "../../src/services/Coordinator.ts"

export const coordinatorContract = (name: string, makeLayer: () => Layer.Layer<Coordinator, unknown>) =>
  describe(`Coordinator contract: ${name}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, Coordinator>) => effect.pipe(Effect.provide(makeLayer()))
    const job = () => `job-${Math.random().toString(36).slice(2)}`

    it.live("records completions idempotently and grants no lease before every task is complete", () =>
      run(Effect.gen(function*() {
        const coordinator = yield* Coordinator
        const jobId = job()
        const complete = (taskId: string) => coordinator.complete({ jobId, taskId, total: 3, owner: "w1", leaseFor: "30 seconds" })
        const first = yield* complete("a")
        const again = yield* complete("a")
        const second = yield* complete("b")
        assert.deepStrictEqual([first.completed, again.completed, second.completed], [1, 1, 2])
        assert.isTrue([first, again, second].every((o) => Option.isNone(o.lease)))
        const last = yield* complete("c")
        assert.strictEqual(last.completed, 3)
        assert.isTrue(Option.isSome(last.lease))
        const state = yield* coordinator.state(jobId)
        assert.deepStrictEqual([...state.completed].sort(), ["a", "b", "c"])
        assert.isFalse(state.finalized)
      })))

    it.live("gives exactly one winner under concurrent and duplicate completions", () =>
      run(Effect.gen(function*() {
        const coordinator = yield* Coordinator
        const jobId = job()
        const tasks = ["t1", "t2", "t3", "t4", "t5"]
        const calls = tasks.flatMap((taskId) => [1, 2, 3].map((n) => ({ taskId, owner: `${taskId}-${n}` })))
        const outcomes = yield* Effect.forEach(
          calls,
          ({ owner, taskId }) => coordinator.complete({ jobId, taskId, total: tasks.length, owner, leaseFor: "30 seconds" }),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(outcomes.filter((o) => Option.isSome(o.lease)).length, 1)
        // Still one winner: a live lease blocks every other claim.
        assert.isTrue(Option.isNone(yield* coordinator.claimFinalize({ jobId, owner: "late", leaseFor: "30 seconds" })))
      })))

    it.live("re-elects after the winner's lease expires, and fences the old winner out", () =>
      run(Effect.gen(function*() {
        const coordinator = yield* Coordinator
        const jobId = job()
        const won = yield* coordinator.complete({ jobId, taskId: "only", total: 1, owner: "dies", leaseFor: "1 second" })
        const firstLease = Option.getOrThrow(won.lease)
        // Redelivery of the same task while the lease is live: no new winner.
        const early = yield* coordinator.complete({ jobId, taskId: "only", total: 1, owner: "other", leaseFor: "30 seconds" })
        assert.isTrue(Option.isNone(early.lease))
        yield* Effect.sleep("1500 millis")
        const retaken = yield* coordinator.complete({ jobId, taskId: "only", total: 1, owner: "other", leaseFor: "30 seconds" })
        const secondLease = Option.getOrThrow(retaken.lease)
        assert.isAbove(secondLease.token, firstLease.token)
        assert.strictEqual(secondLease.owner, "other")
        assert.isFalse(yield* coordinator.markFinalized(firstLease), "the expired winner may not finalize")
        assert.isFalse(yield* coordinator.renewLease(firstLease, "30 seconds"))
        assert.isTrue(yield* coordinator.markFinalized(secondLease))
        assert.isTrue((yield* coordinator.state(jobId)).finalized)
        // A finalized job never grants a lease again (marking it finalized dropped the lease, so
        // only the finalized flag stands in the way).
        assert.isTrue(Option.isNone(yield* coordinator.claimFinalize({ jobId, owner: "third", leaseFor: "1 second" })))
        const after = yield* coordinator.complete({ jobId, taskId: "only", total: 1, owner: "third", leaseFor: "1 second" })
        assert.isTrue(Option.isNone(after.lease))
      })))

    it.live("claimFinalize recovers a whole job whose winner died, once", () =>
      run(Effect.gen(function*() {
        const coordinator = yield* Coordinator
        const jobId = job()
        yield* coordinator.complete({ jobId, taskId: "a", total: 1, owner: "dies", leaseFor: "1 second" })
        assert.isTrue(Option.isNone(yield* coordinator.claimFinalize({ jobId, owner: "sweeper", leaseFor: "30 seconds" })))
        yield* Effect.sleep("1500 millis")
        const claims = yield* Effect.forEach(
          ["s1", "s2", "s3"],
          (owner) => coordinator.claimFinalize({ jobId, owner, leaseFor: "30 seconds" }),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(claims.filter(Option.isSome).length, 1)
        assert.isTrue(Option.isNone(yield* coordinator.claimFinalize({ jobId: job(), owner: "s", leaseFor: "1 second" })), "unknown job")
      })))

    it.live("renewing keeps the lease; forget drops the job", () =>
      run(Effect.gen(function*() {
        const coordinator = yield* Coordinator
        const jobId = job()
        const won = yield* coordinator.complete({ jobId, taskId: "a", total: 1, owner: "w", leaseFor: "1 second" })
        const lease = Option.getOrThrow(won.lease)
        assert.isTrue(yield* coordinator.renewLease(lease, "5 seconds"))
        // Past the first 1 s lease, 3.5 s inside the renewed one.
        yield* Effect.sleep("1500 millis")
        assert.isTrue(Option.isNone(yield* coordinator.claimFinalize({ jobId, owner: "x", leaseFor: "1 second" })), "renewed lease still live")
        yield* coordinator.forget(jobId)
        const state = yield* coordinator.state(jobId)
        assert.deepStrictEqual([state.completed.length, state.finalized], [0, false])
      })))
  })
