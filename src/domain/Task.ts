/**
 * A unit of work on the queue. Every task carries what a worker needs to do it without asking
 * anyone else: the source, where outputs go, and the encoding parameters.
 */
import { Schema } from "effect"
import { ChunkSpan } from "./Chunking.ts"
import { SourceCaption } from "./Captions.ts"
import { Rung } from "./Ladder.ts"
import { PosterSpec, StoryboardLayout } from "./Pictures.ts"

/** How the audio track is encoded (AAC), wherever it is encoded. */
export const AudioEncoding = Schema.Struct({
  channels: Schema.Int,
  sampleRate: Schema.Int,
  bitrate: Schema.Int
})
export type AudioEncoding = typeof AudioEncoding.Type

const TaskCommon = {
  jobId: Schema.String,
  /** Stable across redeliveries and retries: the FIFO message group and the completion record key. */
  taskId: Schema.String,
  /** Raised by a deliberate retry so the queue's deduplication lets the new message through. */
  attempt: Schema.Int,
  sourceKey: Schema.String,
  outputPrefix: Schema.String,
  segmentSeconds: Schema.Number,
  durationSeconds: Schema.Number,
  /** How many tasks the job has: the coordinator compares completions with it. */
  totalTasks: Schema.Int,
  /** Estimated encode seconds (WorkEstimate.ts): the work the fleet is sized on. Absent in older tasks. */
  estimatedSeconds: Schema.optionalKey(Schema.Number)
}

/** Whether frames may need the deinterlacer; absent (a task from before this was decided) means yes. */
const deinterlace = Schema.optionalKey(Schema.Boolean)
/** Whether frames must be put on the output rate's grid (the `fps` filter); absent (an older task) means yes. */
const retime = Schema.optionalKey(Schema.Boolean)

/** The pictures a task cuts from the frames it decodes (domain/Storyboard.ts); absent: none. */
export const PictureTask = Schema.Struct({
  storyboard: Schema.optional(StoryboardLayout),
  poster: Schema.optional(PosterSpec)
})
export type PictureTask = typeof PictureTask.Type
const pictures = Schema.optionalKey(PictureTask)
/** The source's text subtitle streams, extracted as WebVTT by the one task that reads the whole source. */
const captions = Schema.optionalKey(Schema.Array(SourceCaption))

export const VideoTask = Schema.TaggedStruct("video", {
  ...TaskCommon,
  rung: Rung,
  frameRate: Schema.String,
  deinterlace,
  pictures,
  captions
})
export type VideoTask = typeof VideoTask.Type

export const AudioTask = Schema.TaggedStruct("audio", {
  ...TaskCommon,
  ...AudioEncoding.fields,
  captions
})
export type AudioTask = typeof AudioTask.Type

/** Every rung of one time span, from one decode of the source (the `chunk` strategy). */
export const ChunkTask = Schema.TaggedStruct("chunk", {
  ...TaskCommon,
  chunk: ChunkSpan,
  rungs: Schema.Array(Rung),
  frameRate: Schema.String,
  deinterlace,
  retime,
  /** The audio track rides in this chunk's ffmpeg instead of a task of its own (a job planned for one worker). */
  audio: Schema.optional(AudioEncoding),
  pictures,
  captions
})
export type ChunkTask = typeof ChunkTask.Type

/** An encoding task: one rung, the audio track, or one span of time of every rung. */
export const Task = Schema.Union([VideoTask, AudioTask, ChunkTask])
export type Task = typeof Task.Type

/**
 * Probe the source, plan the ladder and enqueue the job's encoding tasks (`ingest`). Sent when an
 * upload lands, and done by a worker: workers have ffprobe, and the upload's receiver (the ingest
 * Lambda, an API-only `vidpipe serve`) need not (docs/deploy.md, "Where uploads are probed").
 */
export const PlanTask = Schema.TaggedStruct("plan", {
  jobId: Schema.String,
  taskId: Schema.String,
  attempt: Schema.Int,
  sourceKey: Schema.String
})
export type PlanTask = typeof PlanTask.Type

/** Everything that travels on the queue: a job's plan, or one of its encoding tasks. */
export const QueuedTask = Schema.Union([PlanTask, VideoTask, AudioTask, ChunkTask])
export type QueuedTask = typeof QueuedTask.Type

export const QueuedTaskJson = Schema.fromJsonString(QueuedTask)

export const videoTaskId = (jobId: string, rungId: string) => `${jobId}.video.${rungId}`
export const audioTaskId = (jobId: string) => `${jobId}.audio`
export const chunkTaskId = (jobId: string, index: number) => `${jobId}.chunk.${index}`
export const planTaskId = (jobId: string) => `${jobId}.plan`

/** What a task's storyboard sheets are named by, apart from other tasks' of the job: "c0001" for chunk 1, "r" for a rung. */
export const sheetPrefixOf = (task: Pick<VideoTask, "_tag"> | Pick<ChunkTask, "_tag" | "chunk">) =>
  task._tag === "chunk" ? `c${String(task.chunk.index + 1).padStart(4, "0")}` : "r"

/** Where a rung's files go, relative to the job's output prefix. */
export const videoDirectory = (rungId: string) => `video/${rungId}`
export const audioDirectory = "audio"

/** The queue identities of a task (SQS FIFO: one message group per task, dedup per attempt). */
export const messageIdentity = (task: Pick<QueuedTask, "taskId" | "attempt">) => ({
  groupId: task.taskId,
  deduplicationId: `${task.taskId}.${task.attempt}`
})
