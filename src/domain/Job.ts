/**
 * A job: one source on its way to a published presentation, with per-task progress.
 */
import { Result, Schema } from "effect"
import type { CaptionTrack as CaptionTrackType } from "./Captions.ts"
import { captionLabel, CaptionTrack } from "./Captions.ts"
import { ChunkSpan, PlannedStrategy, stitchChunks, Strategy } from "./Chunking.ts"
import { masterPlaylistName } from "./Hls.ts"
import { Rung } from "./Ladder.ts"
import { MultipartLayout } from "./Multipart.ts"
import { MediaProbe } from "./Probe.ts"
import type { ChunkResult, Track } from "./Track.ts"
import { TaskResult } from "./Track.ts"

export const JobStatus = Schema.Literals(["awaiting-upload", "queued", "processing", "ready", "failed"])
export type JobStatus = typeof JobStatus.Type

export const isTerminal = (status: JobStatus) => status === "ready" || status === "failed"

export const TaskStatus = Schema.Literals(["queued", "running", "done", "failed"])
export type TaskStatus = typeof TaskStatus.Type

export const ErrorInfo = Schema.Struct({ _tag: Schema.String, message: Schema.String })
export type ErrorInfo = typeof ErrorInfo.Type

/** What anyone may see of a task: also the API's task view. */
export const taskProgressFields = {
  taskId: Schema.String,
  kind: Schema.Literals(["video", "audio", "chunk"]),
  label: Schema.String,
  status: TaskStatus,
  /** 0..1 of the source's duration encoded. */
  progress: Schema.Number,
  attempts: Schema.Int,
  error: Schema.optional(ErrorInfo)
}

export const TaskState = Schema.Struct({
  ...taskProgressFields,
  /** The task's encode estimate (domain/WorkEstimate.ts), for the backlog the fleet is sized on. */
  estimatedSeconds: Schema.optional(Schema.Number),
  /** What the task took, from taking it to its outputs stored (the `TaskSeconds` metric's value). */
  taskSeconds: Schema.optional(Schema.Number),
  worker: Schema.optional(Schema.String),
  result: Schema.optional(TaskResult)
})
export type TaskState = typeof TaskState.Type

export const JobPlan = Schema.Struct({
  segmentSeconds: Schema.Number,
  rungs: Schema.Array(Rung),
  audio: Schema.Boolean,
  /** How the video was divided into tasks; absent in records from before strategies (rendition). */
  strategy: Schema.optional(PlannedStrategy),
  /** The chunks, for the chunk strategy. */
  chunks: Schema.optional(Schema.Array(ChunkSpan)),
  /** The audio is encoded by chunk 1's ffmpeg rather than by an audio task (`audioRidesWithFirstChunk`). */
  audioInFirstChunk: Schema.optional(Schema.Boolean)
})
export type JobPlan = typeof JobPlan.Type

/** Every field of a job record but its outbox: also what an event keeps of the job at its moment. */
const jobFields = {
  id: Schema.String,
  status: JobStatus,
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
  fileName: Schema.String,
  sourceKey: Schema.String,
  /** Prefix of every output key in the outputs area; the manifest is `${outputPrefix}manifest.mpd`. */
  outputPrefix: Schema.String,
  /**
   * The id of the API key that created it (never the key): only that key, and admin keys, see the
   * job. Absent on jobs made before owners were recorded, and by the CLI (visible to admin keys).
   */
  owner: Schema.optional(Schema.String),
  requestedLadder: Schema.optional(Schema.Array(Schema.Int)),
  /** The source's multipart upload, for a source above the single-PUT threshold (absent: one PUT). */
  multipartUpload: Schema.optional(Schema.Struct({ uploadId: Schema.String, ...MultipartLayout.fields })),
  /** Whether to cut a storyboard (scrub thumbnails); absent means yes. The poster is always cut. */
  storyboard: Schema.optional(Schema.Boolean),
  /** Sidecar caption files given with the job, stored as WebVTT when it was created. */
  sidecarCaptions: Schema.optional(Schema.Array(CaptionTrack)),
  /** The strategy asked for; absent means rendition. Ingest resolves `auto` into `plan.strategy`. */
  strategy: Schema.optional(Strategy),
  segmentSeconds: Schema.Number,
  probe: Schema.optional(MediaProbe),
  plan: Schema.optional(JobPlan),
  tasks: Schema.Array(TaskState),
  error: Schema.optional(ErrorInfo),
  manifestKey: Schema.optional(Schema.String),
  /** The HLS master playlist beside the MPD (absent for a job finished before vidpipe wrote HLS). */
  hlsKey: Schema.optional(Schema.String),
  /** The poster JPEG and the storyboard's WebVTT beside the MPD, when the finalizer published them. */
  posterKey: Schema.optional(Schema.String),
  storyboardKey: Schema.optional(Schema.String),
  /** The caption tracks both manifests list (files relative to the output prefix), once ready. */
  captions: Schema.optional(Schema.Array(CaptionTrack)),
  /** How many finalizers wrote the manifest: 1 for every ready job (the write is create-if-absent). */
  manifestWrites: Schema.optional(Schema.Int),
  /** How many finalizers ran to the end for this job: 1 unless leases failed to exclude each other. */
  finalizeRuns: Schema.optional(Schema.Int),
  finishedAt: Schema.optional(Schema.Number)
}

/** The job as it was when an event happened (a job record without its outbox). */
export const JobSnapshot = Schema.Struct(jobFields)
export type JobSnapshot = typeof JobSnapshot.Type

export const JobEventType = Schema.Literals(["job.created", "upload.completed", "job.ready", "job.failed"])
export type JobEventType = typeof JobEventType.Type

/**
 * Something that happened to a job, recorded in the job record by the same write as the change
 * it reports (the transactional outbox), until the webhook relay has handed it to every endpoint.
 */
export const JobEvent = Schema.Struct({
  /** `evt_` + 128 random bits: what receivers deduplicate by. */
  id: Schema.String,
  type: JobEventType,
  /** Epoch ms. */
  at: Schema.Number,
  job: JobSnapshot
})
export type JobEvent = typeof JobEvent.Type

export const Job = Schema.Struct({
  ...jobFields,
  /** Events not yet relayed to webhook endpoints (absent or empty: none). */
  outbox: Schema.optional(Schema.Array(JobEvent))
})
export type Job = typeof Job.Type

export const manifestKeyOf = (job: Pick<Job, "outputPrefix">) => `${job.outputPrefix}manifest.mpd`
export const hlsKeyOf = (job: Pick<Job, "outputPrefix">) => `${job.outputPrefix}${masterPlaylistName}`

export const errorInfo = (error: { readonly _tag: string; readonly message: string }): ErrorInfo => ({
  _tag: error._tag,
  message: error.message
})

/**
 * The video tracks of a job's results: rendition tasks' own, or the chunks stitched into one per
 * rung (failing when they do not join up).
 */
export const videoTracksOf = (job: Pick<Job, "tasks">): Result.Result<ReadonlyArray<Track>, string> => {
  const results = job.tasks.flatMap((t) => (t.result === undefined ? [] : [t.result]))
  const chunks = results.filter((r): r is ChunkResult => r.kind === "chunk")
  if (chunks.length === 0) return Result.succeed(results.filter((r): r is Track => r.kind === "video"))
  return stitchChunks(chunks, job.tasks.filter((t) => t.kind === "chunk").length)
}

/** The audio track of a job's results: the audio task's, or the one that rode in a chunk. */
export const audioTrackOf = (job: Pick<Job, "tasks">): Track | undefined => {
  for (const { result } of job.tasks) {
    if (result?.kind === "audio") return result
    if (result?.kind === "chunk" && result.audio !== undefined) return result.audio
  }
  return undefined
}

/**
 * Every caption track of a job's results: the source's subtitle streams (in stream order), then
 * the sidecars, each labelled by its language, numbered where a language repeats.
 */
export const captionTracksOf = (job: Pick<Job, "tasks" | "sidecarCaptions">): ReadonlyArray<CaptionTrackType> => {
  const embedded = job.tasks.flatMap(({ result }) => result?.captions ?? [])
  const all = [...embedded, ...(job.sidecarCaptions ?? [])]
  const seen = new Map<string, number>()
  return all.map((caption) => {
    const ordinal = (seen.get(caption.language) ?? 0) + 1
    seen.set(caption.language, ordinal)
    return { ...caption, label: captionLabel(caption.language, ordinal) }
  })
}

/** The video rungs a finished job has, largest first, with their peak bitrates. */
export const renditionsOf = (job: Pick<Job, "tasks">) =>
  Result.getOrElse(videoTracksOf(job), () => [])
    .toSorted((a, b) => (b.width ?? 0) - (a.width ?? 0))
    .map((t) => ({ width: t.width ?? 0, height: t.height ?? 0, bitrate: t.bandwidth }))
