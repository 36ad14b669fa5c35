/**
 * Finalizers that lose their lease at the worst moments, as chaos runs can make them: one stalls
 * past its lease (a Redis outage, a long pause) while another worker's sweeper takes over; one
 * dies between the coordinator's record of the finalization and the job's. Either way the job is
 * ready with one finalization and one manifest write. In-process layers with scripted encodes;
 * the faults come through the FaultInjection hook after the lease is won, and the hook is also
 * how the test knows the lease was won (not merely that every task is done).
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Layer, Option, References } from "effect"
import { embeddedLayer } from "../../src/layers/embedded.ts"
import { areaFoldersUnder } from "../../src/layers/local/FolderStorage.ts"
import { FaultInjection } from "../../src/services/FaultInjection.ts"
import { defaultPipelineSettings, PipelineSettings } from "../../src/services/PipelineSettings.ts"
import { sweepOnce } from "../../src/programs/sweeper.ts"
import { runWorker } from "../../src/programs/worker.ts"
import { Coordinator } from "../../src/services/Coordinator.ts"
import { JobQueue } from "../../src/services/JobQueue.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { Storage } from "../../src/services/Storage.ts"
import { makeScriptedFfmpeg, submitScriptedJob } from "../support/scriptedFfmpeg.ts"
import * as NodeServices from "@effect/platform-node/NodeServices"

/**
 * The finalize lease. Waits for its expiry are read from the lease itself on the coordinator's
 * clock, so a busy machine only makes them longer; its length only has to cover the few
 * in-process steps a test takes while it must still be live (checked, not assumed).
 */
const leaseLength = Duration.seconds(2)

/** How long to wait for a scripted job's tasks to run and a worker to win the lease. */
const leaseWonWithin = Duration.seconds(15)

/** In-process deployment with the lease above, scripted encodes and `afterLeaseWon` as the fault. */
const environment = (root: string, afterLeaseWon: Effect.Effect<void>) =>
  Layer.mergeAll(
    NodeServices.layer,
    embeddedLayer({ folders: areaFoldersUnder(root) }),
    makeScriptedFfmpeg({ encodeMillis: 20 }).layer,
    Layer.succeed(PipelineSettings, { ...defaultPipelineSettings, pollSeconds: 1, finalizeLease: leaseLength }),
    Layer.succeed(FaultInjection, { afterLeaseWon, afterMarkedReady: Effect.void }),
    Layer.succeed(References.MinimumLogLevel, "Error")
  )

const temporaryFolder = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-lease-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

/**
 * The fault: the first lease winner says so (`won`), then does `then` (stalls until released, or
 * forever). Later winners (the sweeper) go straight on. `winners` counts every winner.
 */
const firstWinnerDoes = Effect.fnUntraced(function*(then: Effect.Effect<void>) {
  const won = yield* Deferred.make<void>()
  let winners = 0
  const afterLeaseWon = Effect.suspend(() => (winners++ === 0 ? Deferred.succeed(won, undefined).pipe(Effect.andThen(then)) : Effect.void))
  return { won, afterLeaseWon, winners: () => winners }
})

/** Submits a job, starts a worker, and returns once that worker has won the job's lease (its fault hook ran), with the lease. */
const runToLease = (won: Deferred.Deferred<void>) =>
  Effect.gen(function*() {
    const { id } = yield* submitScriptedJob
    yield* Effect.forkScoped(runWorker("finalizer"))
    yield* Deferred.await(won).pipe(
      Effect.timeoutOrElse({
        duration: leaseWonWithin,
        orElse: () => Effect.die(new Error(`no finalizer won the lease of job ${id} within ${Duration.format(leaseWonWithin)}`))
      })
    )
    const lease = (yield* (yield* Coordinator).state(id)).lease
    assert.isTrue(Option.isSome(lease), "the coordinator records the lease the finalizer won")
    return { id, lease: Option.getOrThrow(lease) }
  })

/** Sleeps until `at` (epoch ms) is in the past on the Clock the coordinator and sweeper read. */
const sleepUntilPast = (at: number) =>
  Effect.gen(function*() {
    for (let now = yield* Clock.currentTimeMillis; now <= at; now = yield* Clock.currentTimeMillis) yield* Effect.sleep(at - now + 1)
  })

/** Runs `effect` and asserts it finished before `deadline`: what is checked after it only means something while the lease (or lease period) lasts. */
const beforeDeadline = <A, E, R>(deadline: number, what: string, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const result = yield* effect
    const finished = yield* Clock.currentTimeMillis
    assert.isBelow(finished, deadline, `${what} ran within the lease period (else the check after it proves nothing)`)
    return result
  })

/** Waits until every delivery was acknowledged: the worker returned from its task (and finalize). */
const queueDrained = Effect.gen(function*() {
  const queue = yield* JobQueue
  for (;;) {
    const depth = yield* queue.depth
    if (depth.visible + depth.inFlight === 0) return
    yield* Effect.sleep("20 millis")
  }
})

const expectPublishedOnce = (id: string) =>
  Effect.gen(function*() {
    const job = yield* (yield* JobStore).get(id)
    assert.strictEqual(job.status, "ready")
    assert.strictEqual(job.finalizeRuns, 1, "one finalizer held the lease to the end")
    assert.strictEqual(job.manifestWrites, 1)
    const manifests = (yield* (yield* Storage).list("outputs", `${id}/`)).filter((o) => o.key.endsWith("manifest.mpd"))
    assert.strictEqual(manifests.length, 1)
  })

describe("a finalizer whose lease ran out", () => {
  it.live("stalled past its lease while the sweeper published the job: one finalization, one manifest write", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      // The first lease winner stalls until released: past its lease, however long that takes.
      const fault = yield* firstWinnerDoes(Deferred.await(release))
      yield* Effect.gen(function*() {
        const store = yield* JobStore
        const { id, lease } = yield* runToLease(fault.won)
        // While the lease is live, the sweeper leaves the job to its finalizer.
        yield* beforeDeadline(lease.expiresAt, "the sweep", sweepOnce("sweeper"))
        assert.strictEqual(fault.winners(), 1, "nobody else won a live lease")
        assert.notStrictEqual((yield* store.get(id)).status, "ready")
        yield* sleepUntilPast(lease.expiresAt)
        yield* sweepOnce("sweeper")
        assert.strictEqual(fault.winners(), 2, "the sweeper won the expired lease")
        assert.strictEqual((yield* store.get(id)).status, "ready")
        // The stalled finalizer wakes up and goes on, to the end of its delivery.
        yield* Deferred.succeed(release, undefined)
        yield* queueDrained
        yield* expectPublishedOnce(id)
      }).pipe(Effect.provide(environment(yield* temporaryFolder, fault.afterLeaseWon)))
    }).pipe(Effect.scoped), 30_000)

  it.live("died after the coordinator recorded the job finalized, before the job record did: the sweeper records it", () =>
    Effect.gen(function*() {
      // The finalizer never gets further than its lease; the test does what it did before dying.
      const fault = yield* firstWinnerDoes(Effect.never)
      yield* Effect.gen(function*() {
        const store = yield* JobStore
        const { id, lease } = yield* runToLease(fault.won)
        const coordinator = yield* Coordinator
        yield* (yield* Storage).put("outputs", `${id}/manifest.mpd`, "<MPD/>", { ifNoneMatch: true })
        assert.isTrue(yield* coordinator.markFinalized(lease))
        // The sweeper waits a lease period after the job's last change before recording it.
        const lastChange = (yield* store.get(id)).updatedAt
        yield* beforeDeadline(lastChange + Duration.toMillis(leaseLength), "the sweep", sweepOnce("sweeper"))
        assert.notStrictEqual((yield* store.get(id)).status, "ready", "not while a finalizer may still be recording it")
        yield* sleepUntilPast(lastChange + Duration.toMillis(leaseLength))
        assert.strictEqual((yield* store.get(id)).updatedAt, lastChange, "nothing touched the job meanwhile")
        yield* sweepOnce("sweeper")
        assert.strictEqual(fault.winners(), 1, "no lease is granted for a finalized job")
        yield* expectPublishedOnce(id)
      }).pipe(Effect.provide(environment(yield* temporaryFolder, fault.afterLeaseWon)))
    }).pipe(Effect.scoped), 30_000)
})
