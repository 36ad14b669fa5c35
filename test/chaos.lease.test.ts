/**
 * Finalizers that lose their lease at the worst moments, as chaos runs can make them: one stalls
 * past its lease (a Redis outage, a long pause) while another worker's sweeper takes over; one
 * dies between the coordinator's record of the finalization and the job's. Either way the job is
 * ready with one finalization and one manifest write. In-process layers with scripted encodes;
 * the faults come through the FaultInjection hook after the lease is won.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, References } from "effect"
import { embeddedLayer } from "../src/layers/embedded.ts"
import { areaFoldersUnder } from "../src/layers/local/FolderStorage.ts"
import { FaultInjection } from "../src/programs/FaultInjection.ts"
import { defaultPipelineSettings, PipelineSettings } from "../src/programs/PipelineSettings.ts"
import { sweepOnce } from "../src/programs/sweeper.ts"
import { runWorker } from "../src/programs/worker.ts"
import { Coordinator } from "../src/services/Coordinator.ts"
import { JobStore } from "../src/services/JobStore.ts"
import { Storage } from "../src/services/Storage.ts"
import { makeScriptedFfmpeg, submitScriptedJob } from "./support/scriptedFfmpeg.ts"

/** In-process deployment with a 1 s lease, scripted encodes and `afterLeaseWon` as the fault. */
const environment = (root: string, afterLeaseWon: Effect.Effect<void>) =>
  Layer.mergeAll(
    embeddedLayer({ folders: areaFoldersUnder(root) }),
    makeScriptedFfmpeg({ encodeMillis: 20 }).layer,
    Layer.succeed(PipelineSettings, { ...defaultPipelineSettings, pollSeconds: 1, finalizeLease: Duration.seconds(1) }),
    Layer.succeed(FaultInjection, { afterLeaseWon }),
    Layer.succeed(References.MinimumLogLevel, "Error")
  )

const temporaryFolder = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-lease-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

/** Submits a job, starts a worker, and returns once every task is done (its lease won). */
const runToLease = Effect.gen(function*() {
  const store = yield* JobStore
  const { id } = yield* submitScriptedJob
  yield* Effect.forkScoped(runWorker("finalizer"))
  while (!(yield* store.get(id)).tasks.every((t) => t.status === "done")) yield* Effect.sleep("20 millis")
  return id
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
      let stalls = 0
      // Only the first lease winner stalls, for longer than its lease.
      const stall = Effect.suspend(() => (stalls++ === 0 ? Effect.sleep("1800 millis") : Effect.void))
      yield* Effect.gen(function*() {
        const id = yield* runToLease
        assert.strictEqual(stalls, 1)
        yield* Effect.sleep("1200 millis") // its lease has expired
        yield* sweepOnce("sweeper")
        assert.strictEqual((yield* (yield* JobStore).get(id)).status, "ready")
        yield* Effect.sleep("1500 millis") // the stalled finalizer wakes up and goes on
        yield* expectPublishedOnce(id)
      }).pipe(Effect.provide(environment(yield* temporaryFolder, stall)))
    }).pipe(Effect.scoped), 20_000)

  it.live("died after the coordinator recorded the job finalized, before the job record did: the sweeper records it", () =>
    Effect.gen(function*() {
      yield* Effect.gen(function*() {
        // The finalizer never gets further than its lease; the test does what it did before dying.
        const id = yield* runToLease
        const coordinator = yield* Coordinator
        const lease = (yield* coordinator.state(id)).lease
        assert.isTrue(Option.isSome(lease))
        yield* (yield* Storage).put("outputs", `${id}/manifest.mpd`, "<MPD/>", { ifNoneMatch: true })
        assert.isTrue(yield* coordinator.markFinalized(Option.getOrThrow(lease)))
        yield* sweepOnce("sweeper")
        assert.notStrictEqual((yield* (yield* JobStore).get(id)).status, "ready", "not while a finalizer may still be recording it")
        yield* Effect.sleep("1100 millis")
        yield* sweepOnce("sweeper")
        yield* expectPublishedOnce(id)
      }).pipe(Effect.provide(environment(yield* temporaryFolder, Effect.never)))
    }).pipe(Effect.scoped), 20_000)
})
