/**
 * Pure edits of job records, shared by every program that changes a job.
 */
import type { Strategy } from "../domain/Chunking.ts"
import { chunkLabel } from "../domain/Chunking.ts"
import type { ErrorInfo, Job, JobStatus, TaskState } from "../domain/Job.ts"
import type { Task } from "../domain/Task.ts"

export const newJobId = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`

/** A file name safe to use as the last part of a storage key (no folders, no control characters). */
export const safeFileName = (name: string) => {
  const base = name.split(/[\\/]/).pop() ?? ""
  const cleaned = base.normalize("NFC").replace(/[\u0000-\u001f\u007f]/g, "").replace(/^\.+/, "").trim()
  return cleaned.length > 0 ? cleaned.slice(0, 200) : "source"
}

export const newJob = (input: {
  readonly id: string
  readonly fileName: string
  readonly sourceKey: string
  readonly outputPrefix: string
  readonly segmentSeconds: number
  readonly requestedLadder?: ReadonlyArray<number> | undefined
  readonly strategy?: Strategy | undefined
  readonly now: number
  readonly status?: JobStatus
}): Job => ({
  id: input.id,
  status: input.status ?? "queued",
  createdAt: input.now,
  updatedAt: input.now,
  fileName: input.fileName,
  sourceKey: input.sourceKey,
  outputPrefix: input.outputPrefix,
  segmentSeconds: input.segmentSeconds,
  ...(input.requestedLadder === undefined ? {} : { requestedLadder: input.requestedLadder }),
  ...(input.strategy === undefined ? {} : { strategy: input.strategy }),
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
  attempts: 0
})

export const updateTask = (job: Job, taskId: string, change: (task: TaskState) => TaskState, now: number): Job => ({
  ...job,
  updatedAt: now,
  tasks: job.tasks.map((task) => (task.taskId === taskId ? change(task) : task))
})

/** Marks a job failed with its first error; later errors do not overwrite the first. */
export const failJob = (job: Job, error: ErrorInfo, now: number): Job =>
  job.status === "failed" || job.status === "ready"
    ? job
    : { ...job, status: "failed", error, updatedAt: now, finishedAt: now }
