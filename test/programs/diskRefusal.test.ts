/**
 * The failure policy for a disk too small (workerFailures.ts, worker.ts), with scripted ffmpeg on
 * the embedded layers: the refusing worker hands the task back visible at once, records no failed
 * task and stays off the queue for its pause (not taking the task back in a tight loop); another
 * worker finishes the job. A refusal on the last allowed receive fails the job with the reason.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Effect, Schedule } from "effect"
import { makeLocalSourceCopies } from "../../src/layers/local/LocalSourceCopies.ts"
import { awaitJob } from "../../src/programs/awaitJob.ts"
import { runWorker } from "../../src/programs/worker.ts"
import { JobQueue } from "../../src/services/JobQueue.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { PipelineMetrics } from "../../src/services/PipelineMetrics.ts"
import { SourceCopies } from "../../src/services/SourceCopies.ts"
import { submitScriptedJob } from "../support/scriptedFfmpeg.ts"
import { fastSettings, scriptedWorkers } from "../support/scriptedWorkers.ts"

const eventually = <A, E, R>(check: Effect.Effect<A | undefined, E, R>, what: string, within: Duration.Input = "30 seconds") =>
  check.pipe(
    Effect.flatMap((value) => value === undefined ? Effect.fail(`not yet: ${what}` as const) : Effect.succeed(value)),
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeoutOrElse({ duration: within, orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) })
  )

/** Copies in a fresh folder (removed with the scope); `freeBytes` 0 makes a disk that refuses every task. */
const copiesIn = (options: { readonly full: boolean; readonly refusalPause: Duration.Input }) =>
  Effect.gen(function*() {
    const folder = yield* Effect.acquireRelease(
      Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-refusal-copies-"))),
      (made) => Effect.promise(() => fs.rm(made, { recursive: true, force: true }))
    )
    const copies = makeLocalSourceCopies({ folder, refusalPause: options.refusalPause, ...(options.full ? { freeBytes: () => Promise.resolve(0) } : {}) })
    return { folder, copies }
  })

const refusalOf = (jobId: string) =>
  Effect.gen(function*() {
    const job = yield* (yield* JobStore).get(jobId)
    return job.tasks.find((task) => task.error?._tag === "DiskTooSmall")
  })

describe("a worker whose disk is too small", () => {
  it.live("hands the task back at once, records no failure, pauses, and another worker does the job", () => {
    const workers = scriptedWorkers({ settings: fastSettings, logLevel: "None" })
    return workers.provide(Effect.scoped(Effect.gen(function*() {
      const queue = yield* JobQueue
      const full = yield* copiesIn({ full: true, refusalPause: "4 seconds" })
      const roomy = yield* copiesIn({ full: false, refusalPause: "4 seconds" })
      const { id, tasks } = yield* submitScriptedJob
      yield* Effect.forkScoped(runWorker("small").pipe(Effect.provideService(SourceCopies, full.copies)))
      const refused = yield* eventually(refusalOf(id), "a refusal")
      assert.strictEqual(refused.status, "queued")
      assert.match(refused.error?.message ?? "", /not enough free disk/)
      // Visible again at once: a failure's backoff would keep it in flight for 2 s (2^receiveCount).
      yield* eventually(Effect.map(queue.depth, (depth) => (depth.visible === tasks.length ? true : undefined)), "the task visible again", "1 second")
      // The refusing worker stays off the queue for its pause: nothing is taken meanwhile.
      yield* Effect.sleep("1500 millis")
      assert.deepStrictEqual(yield* queue.depth, { visible: tasks.length, inFlight: 0, deadLettered: 0 })
      assert.strictEqual(workers.ffmpeg.calls.size, 0)

      yield* Effect.forkScoped(runWorker("roomy").pipe(Effect.provideService(SourceCopies, roomy.copies)))
      const job = yield* awaitJob(id, undefined, 50).pipe(Effect.timeout("30 seconds"))
      assert.strictEqual(job.status, "ready")
      assert.strictEqual(job.finalizeRuns, 1)
      assert.isTrue(job.tasks.every((task) => task.status === "done" && task.error === undefined))
      const totals = yield* (yield* PipelineMetrics).totals
      assert.isUndefined(totals["TasksFailed"], "a refusal is not a failed task")
      assert.strictEqual(totals["TasksCompleted"], tasks.length)
      assert.deepStrictEqual(yield* Effect.promise(() => fs.readdir(full.folder)), [], "the refusing worker copied nothing")
    })))
  })

  it.live("a refusal on the task's last allowed receive fails the job, saying why", () => {
    const workers = scriptedWorkers({ settings: fastSettings, logLevel: "None" })
    return workers.provide(Effect.scoped(Effect.gen(function*() {
      const full = yield* copiesIn({ full: true, refusalPause: "10 millis" })
      const { id } = yield* submitScriptedJob
      yield* Effect.forkScoped(runWorker("small").pipe(Effect.provideService(SourceCopies, full.copies)))
      const job = yield* awaitJob(id, undefined, 50).pipe(Effect.timeout("30 seconds"))
      assert.strictEqual(job.status, "failed")
      assert.strictEqual(job.error?._tag, "DiskTooSmall")
      assert.strictEqual(job.tasks.find((task) => task.status === "failed")?.attempts, fastSettings.maxReceiveCount)
      assert.strictEqual(workers.ffmpeg.calls.size, 0)
    })))
  })
})
