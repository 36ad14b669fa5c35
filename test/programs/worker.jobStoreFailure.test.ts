/**
 * A job store that fails (a Redis blip) while a worker holds a task: the worker must not take the
 * failure for "the job was deleted" and acknowledge the task. It retries the read in place, and
 * when the store still fails it hands the task back to the queue; either way the job becomes
 * ready, finalized once.
 *
 * No timing luck: the store fails an exact number of reads (the next N `get`s the worker makes),
 * and the test waits for the job, polling the store without the fault.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { JobStoreFailed } from "../../src/domain/Errors.ts"
import { awaitJob } from "../../src/programs/awaitJob.ts"
import type { PipelineSettingsShape } from "../../src/services/PipelineSettings.ts"
import { defaultPipelineSettings } from "../../src/services/PipelineSettings.ts"
import { runWorker } from "../../src/programs/worker.ts"
import type { JobStoreShape } from "../../src/services/JobStore.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import type { Script } from "../support/scriptedFfmpeg.ts"
import { submitScriptedJob } from "../support/scriptedFfmpeg.ts"
import { scriptedWorkers } from "../support/scriptedWorkers.ts"

const settings: PipelineSettingsShape = {
  ...defaultPipelineSettings,
  pollSeconds: 1,
  visibility: Duration.seconds(10),
  heartbeatEvery: Duration.seconds(1),
  finalizeLease: Duration.seconds(5),
  maxReceiveCount: 5,
  transientRetries: 1
}

/** Makes the next N updates fail: set from a scripted encode, at the moment it fails. */
const updateFaults = { left: 0 }

/** The store as the worker sees it: its next `failures` reads fail, and `updateFaults.left` updates. */
const faultyReads = (store: JobStoreShape, failures: number, retryable: boolean) => {
  let left = failures
  const seen = { failed: 0 }
  const fault = (operation: string) => new JobStoreFailed({ operation, reason: "Connection is closed.", retryable })
  const faulty: JobStoreShape = {
    ...store,
    get: (jobId) =>
      Effect.suspend(() => {
        if (left <= 0) return store.get(jobId)
        left--
        seen.failed++
        return Effect.fail(fault("get"))
      }),
    update: (jobId, change) =>
      Effect.suspend(() => {
        if (updateFaults.left <= 0) return store.update(jobId, change)
        updateFaults.left--
        seen.failed++
        return Effect.fail(fault("update"))
      })
  }
  return { faulty, seen }
}

const run = (failures: number, retryable = true, script: Script = {}, overrides: Partial<PipelineSettingsShape> = {}) => {
  const workers = scriptedWorkers({ script, settings: { ...settings, ...overrides } })
  return Effect.gen(function*() {
    const { id, tasks } = yield* submitScriptedJob
    const { faulty, seen } = faultyReads(yield* JobStore, failures, retryable)
    // One worker: its first delivery meets every injected failure.
    yield* Effect.forkScoped(runWorker("w1").pipe(Effect.provideService(JobStore, faulty)))
    const job = yield* awaitJob(id, undefined, 50).pipe(Effect.timeout("30 seconds"))
    return { job, tasks, seen }
  }).pipe(Effect.scoped, workers.provide)
}

describe("worker, when the job store fails", () => {
  it.live("a read that fails a few times is retried in place: the task is not dropped, no redelivery", () =>
    Effect.gen(function*() {
      const { job, seen } = yield* run(2)
      assert.strictEqual(seen.failed, 2)
      assert.strictEqual(job.status, "ready")
      assert.strictEqual(job.finalizeRuns, 1)
      assert.deepStrictEqual(job.tasks.map((t) => t.attempts), job.tasks.map(() => 1))
    }))

  it.live("a store that keeps failing gets the task handed back; the redelivery completes the job once", () =>
    Effect.gen(function*() {
      // One read and three retries fail: the first delivery gives up and hands the task back.
      const { job, seen } = yield* run(4)
      assert.strictEqual(seen.failed, 4)
      assert.strictEqual(job.status, "ready", JSON.stringify(job.error))
      assert.strictEqual(job.finalizeRuns, 1)
      assert.strictEqual(job.manifestWrites, 1)
      // The task that met the failures was received again (attempts = receive count); no other was.
      assert.deepStrictEqual(job.tasks.map((t) => t.attempts).sort(), [...job.tasks.map(() => 1).slice(1), 2])
    }))

  it.live("a failure retrying cannot help (an unreadable record) is not retried in place, and still not taken for a deleted job", () =>
    Effect.gen(function*() {
      const { job, seen } = yield* run(1, false)
      assert.strictEqual(seen.failed, 1)
      assert.strictEqual(job.status, "ready")
      assert.deepStrictEqual(job.tasks.map((t) => t.attempts).sort(), [...job.tasks.map(() => 1).slice(1), 2])
    }))

  it.live("a task that fails while the store fails too still goes back to the queue at once, not after its visibility", () =>
    Effect.gen(function*() {
      // The audio encode fails once (transiently), and the store refuses the worker's next update:
      // the record of the retry. The hand-back must not depend on that record. The visibility is
      // 60 s: a task left in flight would outlast the 30 s the test waits, a hand-back takes 2 s.
      const script: Script = {
        step: (id, call) => {
          if (id !== "audio" || call !== 1) return "ok"
          updateFaults.left = 1
          return "transient"
        }
      }
      const { job, seen } = yield* run(0, true, script, { visibility: Duration.seconds(60), transientRetries: 0 })
      assert.strictEqual(seen.failed, 1)
      assert.strictEqual(job.status, "ready")
      assert.strictEqual(job.finalizeRuns, 1)
      assert.strictEqual(job.tasks.find((t) => t.label.startsWith("audio"))?.attempts, 2)
    }))

  it.live("a permanent failure the store cannot record is handed back, not dropped: the next delivery records it", () =>
    Effect.gen(function*() {
      // Every audio encode fails for good; the first failure meets a store that refuses the update.
      const script: Script = {
        step: (id, call) => {
          if (id !== "audio") return "ok"
          if (call === 1) updateFaults.left = 1
          return "permanent"
        }
      }
      const { job, seen } = yield* run(0, true, script, { visibility: Duration.seconds(60), transientRetries: 0 })
      assert.strictEqual(seen.failed, 1)
      assert.strictEqual(job.status, "failed")
      assert.strictEqual(job.error?._tag, "FfmpegFailed")
      assert.strictEqual(job.tasks.find((t) => t.label.startsWith("audio"))?.attempts, 2)
    }))
})
