/**
 * The worker's delivery handling on the embedded layers: in-place retries, hand-back to the
 * queue, permanent failures, heartbeats that outlast the visibility timeout, and duplicate
 * deliveries that must not finalize twice. Encoding is scripted (see scriptedFfmpeg.ts) so the
 * timing of failures is exact; real ffmpeg runs in the end-to-end suites.
 *
 * Real time, with margins for a loaded machine: a heartbeat every 300 ms keeps a 2 s visibility
 * (1.7 s of slack for a late timer), and the tests wait for what they assert on (the queue drained,
 * both workers in the idle set) instead of sleeping for a guessed while.
 */
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, References, Schedule, Schema } from "effect"
import type { Job } from "../../src/domain/Job.ts"
import type { AudioTask } from "../../src/domain/Task.ts"
import { messageIdentity, QueuedTaskJson } from "../../src/domain/Task.ts"
import { areaFoldersUnder, folderStorageLayer } from "../../src/layers/local/FolderStorage.ts"
import type { LocalFleetControlShape } from "../../src/layers/local/LocalFleetControl.ts"
import { logMetricsLayer } from "../../src/layers/local/LogMetrics.ts"
import { memoryCoordinatorLayer } from "../../src/layers/local/MemoryCoordinator.ts"
import { memoryJobQueueLayer } from "../../src/layers/local/MemoryJobQueue.ts"
import { memoryJobStoreLayer } from "../../src/layers/local/MemoryJobStore.ts"
import { awaitJob } from "../../src/programs/awaitJob.ts"
import type { PipelineSettingsShape } from "../../src/services/PipelineSettings.ts"
import { PipelineSettings } from "../../src/services/PipelineSettings.ts"
import { sweepOnce } from "../../src/programs/sweeper.ts"
import { runWorker } from "../../src/programs/worker.ts"
import { FleetControl } from "../../src/services/FleetControl.ts"
import { IdleRegistry } from "../../src/services/IdleRegistry.ts"
import { JobQueue } from "../../src/services/JobQueue.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { PipelineMetrics } from "../../src/services/PipelineMetrics.ts"
import { Storage } from "../../src/services/Storage.ts"
import type { Script } from "../support/scriptedFfmpeg.ts"
import { makeScriptedFfmpeg, submitScriptedJob } from "../support/scriptedFfmpeg.ts"
import { fastSettings, scriptedWorkers } from "../support/scriptedWorkers.ts"


const environment = (script: Script, settings: Partial<PipelineSettingsShape> = {}) => {
  const workers = scriptedWorkers({ script, settings: { ...fastSettings, ...settings }, queueVisibility: "1 second", logLevel: "Error" })
  return { calls: workers.ffmpeg.calls, provide: workers.provide }
}

/** Stores a source, creates the job, ingests it and starts `workers` worker fibers. */
const startJob = (workers: number) =>
  Effect.gen(function*() {
    const { id, tasks } = yield* submitScriptedJob
    for (let i = 1; i <= workers; i++) yield* Effect.forkScoped(runWorker(`w${i}`))
    return { id, tasks }
  })

const finish = (jobId: string) => awaitJob(jobId, undefined, 50).pipe(Effect.timeout("30 seconds"))

/** Polls `check` every 50 ms until it holds; the deadline is generous, it only turns a hang into a failure. */
const eventually = <A, E, R>(check: Effect.Effect<A | undefined, E, R>, what: string, within: Duration.Input = "30 seconds") =>
  check.pipe(
    Effect.flatMap((value) => value === undefined ? Effect.fail(`not yet: ${what}` as const) : Effect.succeed(value)),
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeoutOrElse({ duration: within, orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) })
  )

describe("worker", () => {
  it.live("retries a transient failure in place and completes the job", () => {
    const env = environment({ step: (id, call) => (id === "720p" && call === 1 ? "transient" : "ok") })
    return env.provide(Effect.scoped(Effect.gen(function*() {
      const { id } = yield* startJob(2)
      const job = yield* finish(id)
      assert.strictEqual(job.status, "ready")
      assert.strictEqual(env.calls.get("720p"), 2)
      const totals = yield* (yield* PipelineMetrics).totals
      assert.strictEqual(totals["JobsFinalized"], 1)
      assert.isUndefined(totals["TasksFailed"])
    })))
  })

  it.live("hands a task back to the queue when in-place retries run out; the redelivery succeeds", () => {
    const env = environment({ step: (id, call) => (id === "720p" && call <= 2 ? "transient" : "ok") })
    return env.provide(Effect.scoped(Effect.gen(function*() {
      const { id } = yield* startJob(2)
      const job = yield* finish(id)
      assert.strictEqual(job.status, "ready")
      const task = job.tasks.find((t) => t.label.startsWith("720p"))!
      assert.strictEqual(task.attempts, 2, "second delivery")
      assert.strictEqual(env.calls.get("720p"), 3)
      assert.strictEqual((yield* (yield* PipelineMetrics).totals)["TasksFailed"], 1)
    })))
  })

  it.live("fails the job with the reason on a permanent failure, and publishes nothing", () => {
    const env = environment({ step: (id) => (id === "360p" ? "permanent" : "ok") })
    return env.provide(Effect.scoped(Effect.gen(function*() {
      const { id } = yield* startJob(2)
      const job = yield* finish(id)
      assert.strictEqual(job.status, "failed")
      assert.strictEqual(job.error?._tag, "FfmpegFailed")
      assert.match(job.error?.message ?? "", /scripted permanent failure/)
      assert.strictEqual(job.tasks.find((t) => t.label.startsWith("360p"))?.status, "failed")
      assert.isTrue(Option.isNone(yield* (yield* Storage).head("outputs", `${id}/manifest.mpd`)))
    })))
  })

  it.live("fails the job when a task still fails on its last allowed receive", () => {
    const env = environment({ step: (id) => (id === "audio" ? "transient" : "ok") }, { transientRetries: 0 })
    return env.provide(Effect.scoped(Effect.gen(function*() {
      const { id } = yield* startJob(1)
      const job = yield* finish(id)
      assert.strictEqual(job.status, "failed")
      assert.match(job.error?.message ?? "", /scripted transient failure \(call 3\)/)
      assert.strictEqual(env.calls.get("audio"), 3, "one encode per receive, maxReceiveCount = 3")
      // It used up its receives: the queue moves it to the dead-letter queue on the next receive.
      const queue = yield* JobQueue
      const depth = yield* eventually(Effect.map(queue.depth, (d) => (d.deadLettered === 1 ? d : undefined)), "the dead letter")
      assert.deepStrictEqual(depth, { visible: 0, inFlight: 0, deadLettered: 1 })
    })))
  })

  it.live("keeps a task longer than the visibility timeout invisible with heartbeats: encoded once", () => {
    // Each encode outlasts the 2 s visibility by a second, and two workers more than tasks stand
    // idle: a delivery whose heartbeats did not hold it would be received again, and encoded a
    // second time, while the first encode still runs.
    const env = environment({ encodeMillis: 3000 })
    return env.provide(Effect.scoped(Effect.gen(function*() {
      const { id, tasks } = yield* startJob(6)
      assert.isAtMost(tasks.length, 4)
      const job = yield* finish(id)
      assert.strictEqual(job.status, "ready")
      assert.deepStrictEqual([...env.calls.values()], tasks.map(() => 1))
      assert.strictEqual((yield* (yield* PipelineMetrics).totals)["TasksCompleted"], tasks.length)
    })))
  })

  it.live("duplicate deliveries of every task finalize the job exactly once", () => {
    const env = environment({ encodeMillis: 200 })
    return env.provide(Effect.scoped(Effect.gen(function*() {
      const queue = yield* JobQueue
      const { id, tasks } = yield* startJob(3)
      // What at-least-once delivery may do: the same tasks again, under new deduplication ids.
      for (const task of tasks) {
        yield* queue.send({ body: Schema.encodeSync(QueuedTaskJson)(task), ...messageIdentity({ ...task, attempt: 2 }) })
      }
      const job = yield* finish(id)
      assert.strictEqual(job.status, "ready")
      // Every duplicate handled: a worker deletes a message only after its delivery is done
      // (finalizing included), so once the queue is empty a second finalization would have happened.
      yield* eventually(Effect.map(queue.depth, (d) => (d.visible + d.inFlight === 0 ? true : undefined)), "the duplicates to drain")
      const totals = yield* (yield* PipelineMetrics).totals
      assert.strictEqual(totals["JobsFinalized"], 1)
      assert.isTrue(Option.isSome(yield* (yield* Storage).head("outputs", `${id}/manifest.mpd`)))
    })))
  })

  it.live("workers sharing one instance keep it protected until the last of them is idle again", () => {
    const env = environment({ encodeMillis: 400 })
    return env.provide(Effect.scoped(Effect.gen(function*() {
      // The embedded layer's fleet is the local one: its remembered protection is readable.
      const fleet = (yield* FleetControl) as LocalFleetControlShape
      const registry = yield* IdleRegistry
      const { id } = yield* startJob(2)
      // Encoding has started (each encode takes 400 ms, and there are more tasks than workers).
      yield* eventually(Effect.sync(() => (env.calls.size > 0 ? true : undefined)), "the first encode")
      assert.isTrue(yield* fleet.protectedNow, "protected while encoding")
      assert.deepStrictEqual(yield* registry.idle("1 minute"), [])
      const job = yield* finish(id)
      assert.strictEqual(job.status, "ready")
      // Both workers found the queue empty: each empty poll releases (if it is the last busy one)
      // before it registers idle, so with both registered the release has happened.
      const idle = yield* eventually(
        Effect.map(registry.idle("1 minute"), (entries) => (entries.length === 2 ? entries : undefined)),
        "both workers in the idle set"
      )
      assert.deepStrictEqual(idle.map((e) => e.instanceId).sort(), ["w1", "w2"])
      assert.isFalse(yield* fleet.protectedNow, "released once idle")
      assert.strictEqual(yield* fleet.changes, 2, "one protect, one release: never released while a worker still held a task")
      assert.isAtLeast((yield* (yield* PipelineMetrics).totals)["ScaleIn"] ?? 0, 2)
    })))
  })

  it.live("the sweeper re-sends the tasks of a job whose messages were lost", () => {
    const env = environment({}, { staleAfter: Duration.millis(500) })
    return env.provide(Effect.scoped(Effect.gen(function*() {
      const queue = yield* JobQueue
      const { id, tasks } = yield* startJob(0)
      // Lose every message (what a Redis without persistence does when it restarts).
      for (let lost = 0; lost < tasks.length;) {
        for (const message of yield* queue.receive({ maxMessages: 10, waitSeconds: 1 })) {
          yield* queue.delete(message.receipt)
          lost++
        }
      }
      // Past staleAfter (500 ms): a lower bound, which a slow machine only widens.
      yield* Effect.sleep("700 millis")
      yield* sweepOnce("sweeper")
      for (let i = 1; i <= 2; i++) yield* Effect.forkScoped(runWorker(`w${i}`))
      const job = yield* finish(id)
      assert.strictEqual(job.status, "ready")
      assert.strictEqual(job.finalizeRuns, 1)
    })))
  })
})

describe("sweeper and the dead-letter queue", () => {
  // A queue that dead-letters a message on its second receive, so letters are made in milliseconds.
  const layer = (folder: string) =>
    Layer.mergeAll(
      memoryJobQueueLayer({ maxReceiveCount: 1 }),
      memoryCoordinatorLayer,
      memoryJobStoreLayer,
      folderStorageLayer(areaFoldersUnder(folder)),
      logMetricsLayer,
      makeScriptedFfmpeg().layer,
      Layer.succeed(PipelineSettings, fastSettings),
      Layer.succeed(References.MinimumLogLevel, "None")
    )
  const audioTask = (jobId: string): AudioTask => ({
    _tag: "audio", jobId, taskId: `${jobId}.audio`, attempt: 0, sourceKey: `${jobId}/a.mp4`, outputPrefix: `${jobId}/`,
    segmentSeconds: 4, durationSeconds: 4, totalTasks: 1, channels: 2, sampleRate: 48000, bitrate: 128000
  })
  const jobAt = (id: string, updatedAt: number): Job => ({
    id, status: "processing", createdAt: updatedAt, updatedAt, fileName: "a.mp4", sourceKey: `${id}/a.mp4`, outputPrefix: `${id}/`, segmentSeconds: 4,
    tasks: [{ taskId: `${id}.audio`, kind: "audio", label: "audio", status: "running", progress: 0.5, attempts: fastSettings.maxReceiveCount }]
  })

  it.live("records each dead letter on its job then deletes it; keeps one whose job a worker may still report", () =>
    Effect.gen(function*() {
      const queue = yield* JobQueue
      const store = yield* JobStore
      const now = Date.now()
      const idle = Array.from({ length: 12 }, (_, i) => jobAt(`idle${i}`, now - 60_000))
      const busy = jobAt("busy", now + 60_000) // touched "now" for as long as this test runs
      for (const job of [...idle, busy]) yield* store.create(job)
      for (const jobId of [...idle.map((j) => j.id), busy.id, "deleted-job"]) {
        const task = audioTask(jobId)
        yield* queue.send({ body: Schema.encodeSync(QueuedTaskJson)(task), ...messageIdentity(task) })
      }
      yield* queue.send({ body: "not a task", groupId: "junk", deduplicationId: "junk" })
      // Received once and never deleted: the next receive after the 1 ms visibility dead-letters them.
      for (let round = 0; (yield* queue.depth).deadLettered < 15; round++) {
        assert.isBelow(round, 100, "every message reaches the dead-letter queue")
        yield* queue.receive({ maxMessages: 10, visibility: "1 millis" })
        yield* Effect.sleep("5 millis")
      }

      yield* sweepOnce("sweeper")

      for (const job of idle) {
        const after = yield* store.get(job.id)
        assert.deepStrictEqual([after.status, after.error?._tag], ["failed", "TaskDeadLettered"], job.id)
      }
      assert.strictEqual((yield* store.get("busy")).status, "processing")
      assert.deepStrictEqual((yield* queue.deadLetters).map((letter) => JSON.parse(letter.body).jobId), ["busy"])
    }).pipe(Effect.provide(layer(path.join(os.tmpdir(), `vidpipe-dead-${Math.random().toString(36).slice(2)}`)))))
})
