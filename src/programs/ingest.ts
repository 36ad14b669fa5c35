/**
 * Ingest: probe an uploaded source, refuse what cannot become a presentation, plan the ladder
 * and the tasks — one per rung (`rendition`) or one per chunk of time (`chunk`), plus one for
 * audio — and enqueue them. Safe to run twice for the same job (a duplicated upload event): the
 * first plan is kept, tasks are re-sent and the queue's deduplication drops them.
 */
import { Clock, Config, Effect } from "effect"
import type { ChunkPolicy } from "../domain/Chunking.ts"
import { audioRidesWithFirstChunk, defaultChunkPolicy, planChunks, resolveStrategy } from "../domain/Chunking.ts"
import type { Job, JobPlan } from "../domain/Job.ts"
import { errorInfo } from "../domain/Job.ts"
import type { Rung } from "../domain/Ladder.ts"
import { planLadder } from "../domain/Ladder.ts"
import type { MediaProbe } from "../domain/Probe.ts"
import type { SourceCaption } from "../domain/Captions.ts"
import { textSubtitleCodecs } from "../domain/Captions.ts"
import { posterSpecFor, storyboardLayoutFor } from "../domain/Storyboard.ts"
import type { AudioEncoding, PictureTask, Task } from "../domain/Task.ts"
import { audioTaskId, chunkTaskId, videoTaskId } from "../domain/Task.ts"
import { ChunkPlanning } from "../services/ChunkPlanning.ts"
import { Ffmpeg } from "../services/Ffmpeg.ts"
import { JobStore } from "../services/JobStore.ts"
import { PipelineMetrics } from "../services/PipelineMetrics.ts"
import { PipelineSettings } from "../services/PipelineSettings.ts"
import { Storage } from "../services/Storage.ts"
import { failJob, initialTaskState } from "./jobRecords.ts"
import { enqueueTask } from "./taskMessages.ts"
import type { EncodeRates } from "../domain/WorkEstimate.ts"
import { defaultEncodeRates, estimateTaskSeconds } from "../domain/WorkEstimate.ts"

const audioSampleRates = new Set([44100, 48000])

/** The chunk policy ingest plans with; reads VIDPIPE_CHUNK_WORKERS unless `ChunkPlanning` says. */
export const chunkPolicy = Effect.gen(function*() {
  const planning = yield* ChunkPlanning
  const workers = planning.workers ?? (yield* Config.Int("VIDPIPE_CHUNK_WORKERS").pipe(
    Config.withDefault(defaultChunkPolicy.workers),
    Effect.orElseSucceed(() => defaultChunkPolicy.workers)
  ))
  return { ...defaultChunkPolicy, workers: Math.max(1, workers) } satisfies ChunkPolicy
})

/** The job's plan: its rungs, whether it has audio, and how the video is divided into tasks. */
export const planJob = (job: Job, probe: MediaProbe, rungs: ReadonlyArray<Rung>, policy: ChunkPolicy = defaultChunkPolicy): JobPlan => {
  const strategy = resolveStrategy(job.strategy ?? "rendition", probe.durationSeconds, job.segmentSeconds, policy)
  return {
    segmentSeconds: job.segmentSeconds,
    rungs,
    audio: probe.audio !== null,
    strategy,
    ...(strategy === "chunk" ? { chunks: planChunks(probe.durationSeconds, job.segmentSeconds, policy) } : {}),
    ...(strategy === "chunk" && probe.audio !== null && audioRidesWithFirstChunk(policy) ? { audioInFirstChunk: true } : {})
  }
}

/**
 * The tasks of a job, from its recorded plan (a job planned before strategies existed, or not
 * yet planned, is divided per rendition), in the order a single worker would best take them
 * (audio is quickest). Audio is a task of its own unless the plan has it ride in chunk 1.
 */
/** The job's tasks, each with its encode estimate (`rates`: this deployment's, PipelineSettings). */
export const planTasks = (job: Job, probe: MediaProbe, rungs: ReadonlyArray<Rung>, rates: EncodeRates = defaultEncodeRates): ReadonlyArray<Task> =>
  planTasksUnestimated(job, probe, rungs).map((task) => ({ ...task, estimatedSeconds: estimateTaskSeconds(task, probe, rates) }))

const planTasksUnestimated = (job: Job, probe: MediaProbe, rungs: ReadonlyArray<Rung>): ReadonlyArray<Task> => {
  const chunks = job.plan?.strategy === "chunk" ? job.plan.chunks ?? [] : []
  const videoTaskCount = chunks.length > 0 ? chunks.length : rungs.length
  // How chunk 1 encodes the audio, when the plan has it ride there.
  const ridingAudio = chunks.length > 0 && probe.audio !== null && job.plan?.audioInFirstChunk === true ? audioEncodingFor(probe.audio) : undefined
  const common = {
    jobId: job.id,
    attempt: 1,
    sourceKey: job.sourceKey,
    outputPrefix: job.outputPrefix,
    segmentSeconds: job.segmentSeconds,
    durationSeconds: probe.durationSeconds,
    totalTasks: videoTaskCount + (probe.audio === null || ridingAudio !== undefined ? 0 : 1)
  }
  // Pictures at the size the video is shown (the top rung's); the storyboard unless the job declines it.
  const shown = rungs[0] ?? { width: probe.video.displayWidth, height: probe.video.displayHeight }
  const poster = posterSpecFor(shown.width, shown.height, probe.durationSeconds)
  const picturesOf = (startSeconds: number, endSeconds: number, withPoster: boolean): PictureTask | undefined => {
    const storyboard = job.storyboard === false ? undefined : storyboardLayoutFor(shown.width, shown.height, startSeconds, endSeconds)
    return storyboard === undefined && !withPoster ? undefined : { ...(storyboard === undefined ? {} : { storyboard }), ...(withPoster ? { poster } : {}) }
  }
  const posterChunk = chunks.findLast((chunk) => chunk.startSeconds <= poster.atSeconds) ?? chunks[0]
  const withPictures = (pictures: PictureTask | undefined) => (pictures === undefined ? {} : { pictures })
  const video = chunks.length > 0
    ? chunks.map((chunk): Task => ({
      _tag: "chunk",
      ...common,
      taskId: chunkTaskId(job.id, chunk.index),
      chunk,
      rungs,
      frameRate: probe.video.frameRate,
      deinterlace: needsDeinterlacer(probe),
      retime: needsRetiming(probe),
      ...(chunk.index === 0 && ridingAudio !== undefined ? { audio: ridingAudio } : {}),
      ...withPictures(picturesOf(chunk.startSeconds, chunk.endSeconds, chunk === posterChunk))
    }))
    : rungs.map((rung, i): Task => ({
      _tag: "video",
      ...common,
      taskId: videoTaskId(job.id, rung.id),
      rung,
      frameRate: probe.video.frameRate,
      deinterlace: needsDeinterlacer(probe),
      // The smallest rung's encode is the quickest: it cuts the pictures for the job.
      ...(i === rungs.length - 1 ? withPictures(picturesOf(0, probe.durationSeconds, true)) : {})
    }))
  // The subtitle streams ride with the one task that reads the whole source anyway: the audio
  // task, else chunk 1 (which opens the source uncut for them), else the smallest rung's.
  const captions = sourceCaptionsOf(probe)
  const withCaptions = captions.length === 0 ? {} : { captions }
  if (probe.audio === null || ridingAudio !== undefined) {
    const carrier = video.find((task) => task._tag === "chunk" && task.chunk.index === 0) ?? video.at(-1)
    return video.map((task) => (task === carrier ? { ...task, ...withCaptions } : task))
  }
  const audio: Task = { _tag: "audio", ...common, taskId: audioTaskId(job.id), ...audioEncodingFor(probe.audio), ...withCaptions }
  return [audio, ...video]
}

/** The source's subtitle streams that can become WebVTT (text ones; bitmap subtitles cannot). */
export const sourceCaptionsOf = (probe: MediaProbe): ReadonlyArray<SourceCaption> =>
  (probe.subtitles ?? []).flatMap((subtitle, stream) =>
    textSubtitleCodecs.has(subtitle.codec) ? [{ stream, language: subtitle.language ?? "und" }] : []
  )

/**
 * Pay for the deinterlacer only where a frame may be interlaced: not when ffprobe says the stream
 * is progressive (most files), always when it says interlaced or cannot tell.
 */
export const needsDeinterlacer = (probe: MediaProbe) => probe.video.progressive !== true

/**
 * Pay for the `fps` filter only where frames may be off the output grid: not when ffprobe's
 * report shows a constant-rate stream already on it from 0 (`framesOnGrid`), always otherwise
 * (variable rate, a rate snapped or capped, Matroska's millisecond timestamps, a late start).
 */
export const needsRetiming = (probe: MediaProbe) => probe.video.onFrameGrid !== true

/** How the audio track is encoded: stereo at most (a surround source is downmixed so every player can decode it). */
export const audioEncodingFor = (audio: NonNullable<MediaProbe["audio"]>): AudioEncoding => {
  const channels = Math.min(2, Math.max(1, audio.channels))
  return {
    channels,
    sampleRate: audioSampleRates.has(audio.sampleRate) ? audio.sampleRate : 48000,
    bitrate: channels === 1 ? 96_000 : 128_000
  }
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
  // A second ingest keeps the first one's plan, so it sends the same tasks.
  const plan = job.plan ?? planJob(job, probe, rungs, yield* chunkPolicy)
  const tasks = planTasks({ ...job, plan }, probe, plan.rungs, (yield* PipelineSettings).encodeRates)
  const now = yield* Clock.currentTimeMillis
  yield* store.update(jobId, (current) => ({
    ...current,
    status: current.status === "awaiting-upload" ? "queued" : current.status,
    updatedAt: now,
    probe,
    plan: current.plan ?? plan,
    // A second ingest keeps the progress the first one's tasks made.
    tasks: current.tasks.length > 0 ? current.tasks : tasks.map(initialTaskState)
  }))
  yield* Effect.forEach(tasks, enqueueTask, { discard: true })
  yield* metrics.record("TasksEnqueued", tasks.length)
  yield* metrics.record("ScaleOut", tasks.length)
  const video = plan.strategy === "chunk" ? `${tasks.filter((t) => t._tag === "chunk").length} chunk(s) of ${plan.rungs.map((r) => r.id).join(", ")}` : plan.rungs.map((r) => r.id).join(", ")
  const audio = probe.audio === null ? "" : plan.audioInFirstChunk === true ? " + audio (in chunk 1)" : " + audio"
  yield* Effect.logInfo(`job ${jobId}: ${video}${audio} enqueued`)
  return { probe, tasks }
})
