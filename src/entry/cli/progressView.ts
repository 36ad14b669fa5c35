/**
 * Shows a job's per-task progress: live bars redrawn in place on a terminal, plain lines
 * (one per change of state or each quarter done) otherwise. Writes to stderr so stdout stays
 * clean for results.
 */
import { Effect } from "effect"
import type { Job, TaskState } from "../../domain/Job.ts"
import { isTerminal } from "../../domain/Job.ts"

const barWidth = 24

const bar = (fraction: number) => {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * barWidth)
  return `${"█".repeat(filled)}${"░".repeat(barWidth - filled)}`
}

const percent = (fraction: number) => `${Math.floor(fraction * 100)}%`.padStart(4)

export interface ProgressView {
  readonly update: (job: Job) => Effect.Effect<void>
  /** Leaves the terminal tidy (final state drawn, cursor after it). */
  readonly close: Effect.Effect<void>
}

const terminalView = (stream: NodeJS.WriteStream): ProgressView => {
  let drawnLines = 0
  let last: Job | undefined
  const draw = (job: Job) => {
    const labelWidth = Math.max(8, ...job.tasks.map((t) => t.label.length))
    const lines = [
      `job ${job.id}: ${job.status}`,
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
  const milestone = (task: TaskState) => `${task.status}:${Math.floor(task.progress * 4)}`
  return {
    update: (job) => Effect.sync(() => {
      const jobLine = () => {
        if (job.status === jobStatus) return
        jobStatus = job.status
        stream.write(`job ${job.id}: ${job.status}\n`)
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
