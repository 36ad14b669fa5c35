/**
 * An upload's plan task, done by a worker (the receiver of an upload — the ingest Lambda, an
 * API-only `serve` — runs no ffprobe): the worker probes, plans and enqueues the job's tasks; a
 * refusal fails the job with the reason; a transient failure hands the plan back; the last allowed
 * receive fails the job instead of leaving it to the dead-letter queue. The sweeper re-sends a
 * plan that was lost, and fails the job of a plan that dead-lettered. Embedded layers, scripted
 * probing and encoding (the end-to-end suites run real ffprobe).
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Schema } from "effect"
import { planTaskId, QueuedTaskJson } from "../../src/domain/Task.ts"
import { acceptUpload } from "../../src/programs/acceptUpload.ts"
import { awaitJob } from "../../src/programs/awaitJob.ts"
import { newJob } from "../../src/programs/jobRecords.ts"
import type { PipelineSettingsShape } from "../../src/services/PipelineSettings.ts"
import { sweepOnce } from "../../src/programs/sweeper.ts"
import { runWorker } from "../../src/programs/worker.ts"
import { JobQueue } from "../../src/services/JobQueue.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { PipelineMetrics } from "../../src/services/PipelineMetrics.ts"
import { Storage } from "../../src/services/Storage.ts"
import type { Script } from "../support/scriptedFfmpeg.ts"
import { fastSettings, scriptedWorkers } from "../support/scriptedWorkers.ts"


const environment = (script: Script, settings: Partial<PipelineSettingsShape> = {}, queueReceives?: number) =>
  scriptedWorkers({ script, settings: { ...fastSettings, ...settings }, queueVisibility: "1 second", ...(queueReceives === undefined ? {} : { queueReceives }) })

/** An upload that has landed: the source stored, the job awaiting it, then accepted. */
const upload = Effect.gen(function*() {
  const id = `job${Math.random().toString(36).slice(2, 8)}`
  yield* (yield* Storage).put("uploads", `${id}/clip.mp4`, "not really a video")
  const now = yield* Clock.currentTimeMillis
  yield* (yield* JobStore).create(newJob({ id, fileName: "clip.mp4", sourceKey: `${id}/clip.mp4`, outputPrefix: `${id}/`, segmentSeconds: 4, now, status: "awaiting-upload" }))
  yield* acceptUpload(id)
  return id
})

const startWorkers = (count: number) =>
  Effect.gen(function*() {
    for (let i = 1; i <= count; i++) yield* Effect.forkScoped(runWorker(`w${i}`))
  })

const finish = (jobId: string) => awaitJob(jobId, undefined, 50).pipe(Effect.timeout("30 seconds"))

describe("a worker plans an uploaded job", () => {
  it.live("accepting an upload only records it and sends the plan; a worker probes, plans and encodes it", () => {
    const env = environment({})
    return env.provide(Effect.scoped(Effect.gen(function*() {
      const id = yield* upload
      const accepted = yield* (yield* JobStore).get(id)
      assert.deepStrictEqual([accepted.status, accepted.tasks.length, env.ffmpeg.probes.count], ["queued", 0, 0])
      const [message] = yield* (yield* JobQueue).receive({ maxMessages: 10, visibility: "1 millis" })
      assert.deepStrictEqual(Schema.decodeUnknownSync(QueuedTaskJson)(message?.body), { _tag: "plan", jobId: id, taskId: planTaskId(id), attempt: 1, sourceKey: `${id}/clip.mp4` })
      const totals = yield* (yield* PipelineMetrics).totals
      assert.deepStrictEqual([totals["ScaleOut"], totals["TasksEnqueued"]], [1, 1], "the upload's scale-out signal")

      yield* startWorkers(2)
      const job = yield* finish(id)
      assert.strictEqual(job.status, "ready")
      assert.isAbove(job.tasks.length, 1)
      assert.strictEqual(env.ffmpeg.probes.count, 1)
    })))
  })

  it.live("a probe refusal fails the job with the reason, and the plan is not received again", () => {
    const env = environment({ probeStep: () => "permanent" })
    return env.provide(Effect.scoped(Effect.gen(function*() {
      const id = yield* upload
      yield* startWorkers(1)
      const job = yield* finish(id)
      assert.strictEqual(job.status, "failed")
      assert.match(job.error?.message ?? "", /scripted permanent failure \(probe 1\)/)
      assert.lengthOf(job.tasks, 0)
      // Past a visibility timeout: a plan handed back instead of deleted would have been probed again.
      yield* Effect.sleep("2500 millis")
      assert.strictEqual(env.ffmpeg.probes.count, 1)
      assert.deepStrictEqual(yield* (yield* JobQueue).depth, { visible: 0, inFlight: 0, deadLettered: 0 })
    })))
  })

  it.live("a transient probe failure hands the plan back; a later receive plans it", () => {
    // One in-place retry per receive: probes 1 and 2 fail on the first receive, 3 succeeds on the second.
    const env = environment({ probeStep: (call) => (call <= 2 ? "transient" : "ok") })
    return env.provide(Effect.scoped(Effect.gen(function*() {
      const id = yield* upload
      yield* startWorkers(1)
      const job = yield* finish(id)
      assert.strictEqual(job.status, "ready")
      assert.strictEqual(env.ffmpeg.probes.count, 3)
    })))
  })

  it.live("a probe failing on every receive fails the job on the last one, not in the dead-letter queue", () => {
    const env = environment({ probeStep: () => "transient" }, { transientRetries: 0 })
    return env.provide(Effect.scoped(Effect.gen(function*() {
      const id = yield* upload
      yield* startWorkers(1)
      const job = yield* finish(id)
      assert.strictEqual(job.status, "failed")
      assert.match(job.error?.message ?? "", /scripted transient failure \(probe 3\)/)
      assert.strictEqual(env.ffmpeg.probes.count, 3, "one probe per receive, maxReceiveCount = 3")
      assert.strictEqual((yield* (yield* PipelineMetrics).totals)["JobsFailed"], 1)
      assert.deepStrictEqual(yield* (yield* JobQueue).depth, { visible: 0, inFlight: 0, deadLettered: 0 })
    })))
  })
})

describe("the sweeper and plan tasks", () => {
  it.live("re-sends the plan of a job uploaded but never planned (its plan was lost)", () => {
    const env = environment({}, { staleAfter: Duration.millis(500) })
    return env.provide(Effect.scoped(Effect.gen(function*() {
      const queue = yield* JobQueue
      const id = yield* upload
      const [lost] = yield* queue.receive({ maxMessages: 10 })
      yield* queue.delete(lost!.receipt)
      // A fresh job is left alone: only one untouched for staleAfter gets its plan again.
      yield* sweepOnce("sweeper")
      assert.strictEqual((yield* queue.depth).visible, 0)
      // Past staleAfter (500 ms): a lower bound, which a slow machine only widens.
      yield* Effect.sleep("700 millis")
      yield* sweepOnce("sweeper")
      assert.strictEqual((yield* queue.depth).visible, 1)
      yield* startWorkers(2)
      const job = yield* finish(id)
      assert.strictEqual(job.status, "ready")
      assert.strictEqual(job.finalizeRuns, 1)
    })))
  })

  it.live("accepts an upload whose source is whole in storage but was never accepted, and leaves one still awaiting its bytes", () => {
    const env = environment({}, { staleAfter: Duration.millis(500) })
    return env.provide(Effect.scoped(Effect.gen(function*() {
      const store = yield* JobStore
      const now = yield* Clock.currentTimeMillis
      const job = (id: string) => newJob({ id, fileName: "clip.mp4", sourceKey: `${id}/clip.mp4`, outputPrefix: `${id}/`, segmentSeconds: 4, now, status: "awaiting-upload" })
      // Uploaded (the source is there), but the acceptance was lost; and one never uploaded.
      yield* (yield* Storage).put("uploads", "lostaccept/clip.mp4", "not really a video")
      yield* store.create(job("lostaccept"))
      yield* store.create(job("neveruploaded"))
      yield* sweepOnce("sweeper")
      assert.strictEqual((yield* store.get("lostaccept")).status, "awaiting-upload", "not before staleAfter")
      // Past staleAfter (500 ms): a lower bound, which a slow machine only widens.
      yield* Effect.sleep("700 millis")
      yield* sweepOnce("sweeper")
      assert.strictEqual((yield* store.get("neveruploaded")).status, "awaiting-upload")
      yield* startWorkers(2)
      const accepted = yield* finish("lostaccept")
      assert.strictEqual(accepted.status, "ready")
    })))
  })

  it.live("fails the job of a dead-lettered plan (every worker that took it died planning it)", () => {
    // A queue that dead-letters a message on its second receive; a plan never reported back.
    const env = environment({}, { visibility: Duration.millis(200) }, 1)
    return env.provide(Effect.gen(function*() {
      const queue = yield* JobQueue
      const id = yield* upload
      for (let round = 0; (yield* queue.depth).deadLettered < 1; round++) {
        assert.isBelow(round, 100, "the plan reaches the dead-letter queue")
        yield* queue.receive({ maxMessages: 10, visibility: "1 millis" })
        yield* Effect.sleep("5 millis")
      }
      // Once the job was left untouched for a visibility timeout (200 ms; a lower bound).
      yield* Effect.sleep("250 millis")
      yield* sweepOnce("sweeper")
      const job = yield* (yield* JobStore).get(id)
      assert.deepStrictEqual([job.status, job.error?._tag], ["failed", "TaskDeadLettered"])
      assert.match(job.error?.message ?? "", new RegExp(`plan of job ${id}`))
      assert.lengthOf(yield* queue.deadLetters, 0)
    }))
  })
})
