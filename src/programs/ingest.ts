/**
 * Ingest: probe an uploaded source, refuse what cannot become a presentation, plan the ladder
 * and enqueue one task per rung plus one for audio. Safe to run twice for the same job
 * (a duplicated upload event): tasks are re-sent and the queue's deduplication drops them.
 */
import { Clock, Effect } from "effect"
import type { Job } from "../domain/Job.ts"
import { errorInfo } from "../domain/Job.ts"
import { planLadder } from "../domain/Ladder.ts"
import type { MediaProbe } from "../domain/Probe.ts"
import type { Rung } from "../domain/Ladder.ts"
import type { Task } from "../domain/Task.ts"
import { audioTaskId, videoTaskId } from "../domain/Task.ts"
import { Ffmpeg } from "../services/Ffmpeg.ts"
import { JobStore } from "../services/JobStore.ts"
import { PipelineMetrics } from "../services/PipelineMetrics.ts"
import { Storage } from "../services/Storage.ts"
import { failJob, initialTaskState } from "./jobRecords.ts"
import { enqueueTask } from "./taskMessages.ts"

const audioSampleRates = new Set([44100, 48000])

/** The tasks of a job, in the order a single worker would best take them (audio is quickest). */
export const planTasks = (job: Job, probe: MediaProbe, rungs: ReadonlyArray<Rung>): ReadonlyArray<Task> => {
  const common = {
    jobId: job.id,
    attempt: 1,
    sourceKey: job.sourceKey,
    outputPrefix: job.outputPrefix,
    segmentSeconds: job.segmentSeconds,
    durationSeconds: probe.durationSeconds,
    totalTasks: rungs.length + (probe.audio === null ? 0 : 1)
  }
  const video = rungs.map((rung): Task => ({
    _tag: "video",
    ...common,
    taskId: videoTaskId(job.id, rung.id),
    rung,
    frameRate: probe.video.frameRate
  }))
  if (probe.audio === null) return video
  // Stereo at most: a surround source is downmixed so every player can decode it.
  const channels = Math.min(2, Math.max(1, probe.audio.channels))
  const audio: Task = {
    _tag: "audio",
    ...common,
    taskId: audioTaskId(job.id),
    channels,
    sampleRate: audioSampleRates.has(probe.audio.sampleRate) ? probe.audio.sampleRate : 48000,
    bitrate: channels === 1 ? 96_000 : 128_000
  }
  return [audio, ...video]
}

export const ingest = Effect.fn("ingest")(function*(jobId: string) {
  const store = yield* JobStore
  const storage = yield* Storage
  const ffmpeg = yield* Ffmpeg
  const metrics = yield* PipelineMetrics

  const job = yield* store.get(jobId)
  const input = yield* storage.readableUrl("uploads", job.sourceKey)
  const probe = yield* ffmpeg.probe(input).pipe(
    Effect.tapError((error) =>
      Effect.gen(function*() {
        if (error.retryable) return
        const now = yield* Clock.currentTimeMillis
        yield* store.update(jobId, (current) => failJob(current, errorInfo(error), now))
        yield* metrics.record("JobsFailed")
      })
    )
  )
  const rungs = planLadder(probe, job.requestedLadder)
  const tasks = planTasks(job, probe, rungs)
  const now = yield* Clock.currentTimeMillis
  yield* store.update(jobId, (current) => ({
    ...current,
    status: current.status === "awaiting-upload" ? "queued" : current.status,
    updatedAt: now,
    probe,
    plan: { segmentSeconds: job.segmentSeconds, rungs, audio: probe.audio !== null },
    // A second ingest keeps the progress the first one's tasks made.
    tasks: current.tasks.length > 0 ? current.tasks : tasks.map(initialTaskState)
  }))
  yield* Effect.forEach(tasks, enqueueTask, { discard: true })
  yield* metrics.record("TasksEnqueued", tasks.length)
  yield* metrics.record("ScaleOut", tasks.length)
  yield* Effect.logInfo(`job ${jobId}: ${rungs.map((r) => r.id).join(", ")}${probe.audio === null ? "" : " + audio"} enqueued`)
  return { probe, tasks }
})
