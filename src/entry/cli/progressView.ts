/**
 * Shows a job's per-task progress: live bars redrawn in place on a terminal, plain lines
 * (one per change of state or each quarter done) otherwise. Writes to stderr so stdout stays
 * clean for results.
 */
import { Effect } from "effect"
import type { JobStatus, TaskStatus } from "../../domain/Job.ts"
import { isTerminal } from "../../domain/Job.ts"

const barWidth = 24

export const bar = (fraction: number) => {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * barWidth)
  return `${"█".repeat(filled)}${"░".repeat(barWidth - filled)}`
}

export const percent = (fraction: number) => `${Math.floor(Math.max(0, Math.min(1, fraction)) * 100)}%`.padStart(4)

/** What is shown of a task: the job record's, or the API's view of it (the same fields). */
interface ShownTask {
  readonly taskId: string
  readonly label: string
  readonly status: TaskStatus
  readonly progress: number
  readonly error?: { readonly message: string } | undefined
}

/** What is shown of a job: a record (`process`, `submit`) or an API job view (`submit --api`, by `jobId`). */
export type ShownJob = { readonly status: JobStatus; readonly tasks: ReadonlyArray<ShownTask> } & ({ readonly id: string } | { readonly jobId: string })

const idOf = (job: ShownJob) => ("id" in job ? job.id : job.jobId)

export interface ProgressView {
  readonly update: (job: ShownJob) => Effect.Effect<void>
  /** Leaves the terminal tidy (final state drawn, cursor after it). */
  readonly close: Effect.Effect<void>
}

const terminalView = (stream: NodeJS.WriteStream): ProgressView => {
  let drawnLines = 0
  let last: ShownJob | undefined
  const draw = (job: ShownJob) => {
    const labelWidth = Math.max(8, ...job.tasks.map((t) => t.label.length))
    const lines = [
      `job ${idOf(job)}: ${job.status}`,
      ...job.tasks.map((t) => `  ${t.label.padEnd(labelWidth)}  ${bar(t.progress)} ${percent(t.progress)}  ${t.status}${t.error ? ` (${t.error.message})` : ""}`)
    ]
    const up = drawnLines > 0 ? `\x1b[${drawnLines}A` : ""
    stream.write(up + lines.map((line) => `\x1b[2K${line.slice(0, (stream.columns || 120) - 1)}`).join("\n") + "\n")
    drawnLines = lines.length
  }
  return {
    update: (job) => Effect.sync(() => {
      last = job
      draw(job)
    }),
    close: Effect.sync(() => {
      if (last !== undefined) draw(last)
    })
  }
}

const lineView = (stream: NodeJS.WriteStream): ProgressView => {
  const reported = new Map<string, string>()
  let jobStatus = ""
  const milestone = (task: ShownTask) => `${task.status}:${Math.floor(task.progress * 4)}`
  return {
    update: (job) => Effect.sync(() => {
      const jobLine = () => {
        if (job.status === jobStatus) return
        jobStatus = job.status
        stream.write(`job ${idOf(job)}: ${job.status}\n`)
      }
      // A job's start is said before its tasks' news, its end after them.
      if (!isTerminal(job.status)) jobLine()
      for (const task of job.tasks) {
        const mark = milestone(task)
        if (reported.get(task.taskId) === mark) continue
        reported.set(task.taskId, mark)
        stream.write(`  ${task.label}: ${task.status} ${percent(task.progress).trim()}${task.error ? ` (${task.error.message})` : ""}\n`)
      }
      jobLine()
    }),
    close: Effect.void
  }
}

export const makeProgressView = (stream: NodeJS.WriteStream = process.stderr): ProgressView =>
  stream.isTTY ? terminalView(stream) : lineView(stream)
