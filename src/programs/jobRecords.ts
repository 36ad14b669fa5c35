/**
 * Pure edits of job records, shared by every program that changes a job.
 */
import { randomBytes } from "node:crypto"
import type { CaptionTrack } from "../domain/Captions.ts"
import type { Strategy } from "../domain/Chunking.ts"
import { chunkLabel } from "../domain/Chunking.ts"
import type { ErrorInfo, Job, JobStatus, TaskState } from "../domain/Job.ts"
import { recordEvent } from "../domain/jobEvents.ts"
import type { Task } from "../domain/Task.ts"

/** Where job ids get their randomness (the test checks it is the cryptographic source). */
export const jobIdRandomness: (size: number) => Uint8Array = randomBytes

/** Bytes of randomness in a job id: 128 bits. */
export const jobIdBytes = 16

/**
 * A job id: 128 bits from the cryptographic source, as 32 lowercase hex digits (URL-safe, and a
 * plain word in storage keys and FIFO group ids). An id is the only thing between the public and a
 * video's delivery path, so it must not be guessable or enumerable.
 */
export const newJobId = (random: (size: number) => Uint8Array = jobIdRandomness) => Buffer.from(random(jobIdBytes)).toString("hex")

/**
 * The most UTF-8 bytes a stored file name has. File systems allow 255 bytes per name, and folder
 * storage writes `<name>.<uuid>.partial` (45 bytes more) before renaming it into place.
 */
export const maxFileNameBytes = 200

const utf8Bytes = (text: string) => Buffer.byteLength(text, "utf8")

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" })

/** The longest start of `text` within `bytes` UTF-8 bytes that ends between two characters. */
const cutToBytes = (text: string, bytes: number) => {
  let kept = ""
  let used = 0
  for (const { segment } of graphemes.segment(text)) {
    used += utf8Bytes(segment)
    if (used > bytes) break
    kept += segment
  }
  return kept
}

/**
 * A file name safe to use as the last part of a storage key: no folders, no control characters,
 * no leading dots, well-formed Unicode (NFC), and at most `maxFileNameBytes` (a longer name keeps its
 * extension and loses the end of the rest).
 */
export const safeFileName = (name: string) => {
  const base = name.split(/[\\/]/).pop() ?? ""
  // Lone surrogates (not Unicode, and not encodable in a file name or an S3 key) go with the control characters.
  const cleaned = base.replace(/\p{Cs}/gu, "").normalize("NFC").replace(/[\u0000-\u001f\u007f]/g, "").replace(/^\.+/, "").trim()
  if (cleaned.length === 0) return "source"
  if (utf8Bytes(cleaned) <= maxFileNameBytes) return cleaned
  const dot = cleaned.lastIndexOf(".")
  const extension = dot > 0 && utf8Bytes(cleaned.slice(dot)) <= 16 ? cleaned.slice(dot) : ""
  const stem = cutToBytes(extension === "" ? cleaned : cleaned.slice(0, dot), maxFileNameBytes - utf8Bytes(extension)).trim()
  return stem.length > 0 ? `${stem}${extension}` : `source${extension}`
}

export const newJob = (input: {
  readonly id: string
  readonly fileName: string
  readonly sourceKey: string
  readonly outputPrefix: string
  readonly segmentSeconds: number
  readonly requestedLadder?: ReadonlyArray<number> | undefined
  readonly strategy?: Strategy | undefined
  /** False: no storyboard (the default cuts one). */
  readonly storyboard?: boolean | undefined
  readonly sidecarCaptions?: ReadonlyArray<CaptionTrack> | undefined
  readonly now: number
  readonly status?: JobStatus
  readonly owner?: string | undefined
  readonly multipartUpload?: Job["multipartUpload"]
}): Job => ({
  id: input.id,
  status: input.status ?? "queued",
  createdAt: input.now,
  updatedAt: input.now,
  fileName: input.fileName,
  sourceKey: input.sourceKey,
  outputPrefix: input.outputPrefix,
  ...(input.owner === undefined ? {} : { owner: input.owner }),
  segmentSeconds: input.segmentSeconds,
  ...(input.requestedLadder === undefined ? {} : { requestedLadder: input.requestedLadder }),
  ...(input.multipartUpload === undefined ? {} : { multipartUpload: input.multipartUpload }),
  ...(input.strategy === undefined ? {} : { strategy: input.strategy }),
  ...(input.storyboard === false ? { storyboard: false } : {}),
  ...(input.sidecarCaptions === undefined || input.sidecarCaptions.length === 0 ? {} : { sidecarCaptions: input.sidecarCaptions }),
  tasks: []
})

export const taskLabel = (task: Task) => {
  switch (task._tag) {
    case "video":
      return `${task.rung.id} ${task.rung.width}x${task.rung.height}`
    case "audio":
      return "audio"
    case "chunk":
      return `${chunkLabel(task.chunk)}${task.audio === undefined ? "" : " + audio"}`
  }
}

export const initialTaskState = (task: Task): TaskState => ({
  taskId: task.taskId,
  kind: task._tag,
  label: taskLabel(task),
  status: "queued",
  progress: 0,
  attempts: 0,
  ...(task.estimatedSeconds === undefined ? {} : { estimatedSeconds: task.estimatedSeconds })
})

export const updateTask = (job: Job, taskId: string, change: (task: TaskState) => TaskState, now: number): Job => ({
  ...job,
  updatedAt: now,
  tasks: job.tasks.map((task) => (task.taskId === taskId ? change(task) : task))
})

/** Marks a job failed with its first error (recording `job.failed`); later errors do not overwrite the first. */
export const failJob = (job: Job, error: ErrorInfo, now: number): Job =>
  job.status === "failed" || job.status === "ready"
    ? job
    : recordEvent({ ...job, status: "failed", error, updatedAt: now, finishedAt: now }, "job.failed", now)
