/**
 * What `vidpipe submit --api` shows on stderr while it works: the upload (bytes sent across its
 * parts, speed, parts stored) and then, with `--wait`, the job's tasks as the API reports them.
 * On a terminal a live display redrawn in place; otherwise plain lines (each quarter of the
 * upload, each change of a task's state or quarter done). stdout stays clean for results.
 */
import { Effect } from "effect"
import type { JobView } from "../../domain/JobView.ts"
import type { UploadProgress } from "./apiUpload.ts"

const barWidth = 24

const bar = (fraction: number) => {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * barWidth)
  return `${"█".repeat(filled)}${"░".repeat(barWidth - filled)}`
}

const percent = (fraction: number) => `${Math.floor(Math.max(0, Math.min(1, fraction)) * 100)}%`

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`

export interface UploadView {
  readonly update: (progress: UploadProgress) => void
  /** The last state drawn, and a closing line with the average speed. */
  readonly close: (done: boolean) => Effect.Effect<void>
}

export const makeUploadView = (fileName: string, stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): UploadView => {
  const started = now()
  let last: UploadProgress | undefined
  let drawnAt = 0
  let quarter = -1
  const speed = (progress: UploadProgress) => {
    const seconds = (now() - started) / 1000
    return seconds > 0 ? `${(progress.sent / 1024 ** 2 / seconds).toFixed(1)} MiB/s` : ""
  }
  const line = (progress: UploadProgress) =>
    `upload ${fileName}: ${bar(progress.sent / progress.total)} ${percent(progress.sent / progress.total).padStart(4)}  ${mib(progress.sent)} of ${mib(progress.total)}  ${speed(progress)}` +
    (progress.partCount > 1 ? `  parts ${progress.partsDone}/${progress.partCount}` : "")
  const draw = (progress: UploadProgress) => {
    if (stream.isTTY) stream.write(`\r\x1b[2K${line(progress).slice(0, (stream.columns || 120) - 1)}`)
    else stream.write(`${line(progress)}\n`)
  }
  return {
    update: (progress) => {
      last = progress
      if (stream.isTTY) {
        if (now() - drawnAt < 100) return
        drawnAt = now()
        draw(progress)
        return
      }
      const reached = Math.floor((progress.sent / progress.total) * 4)
      if (reached <= quarter || reached >= 4) return
      quarter = reached
      draw(progress)
    },
    close: (done) =>
      Effect.sync(() => {
        if (last === undefined) return
        if (stream.isTTY) {
          draw(last)
          stream.write("\n")
        } else if (done) draw(last)
      })
  }
}

export interface JobProgressView {
  readonly update: (job: JobView) => Effect.Effect<void>
  readonly close: Effect.Effect<void>
}

export const makeJobProgressView = (stream: NodeJS.WriteStream = process.stderr): JobProgressView => {
  if (stream.isTTY) {
    let drawnLines = 0
    let last: JobView | undefined
    const draw = (job: JobView) => {
      const labelWidth = Math.max(8, ...job.tasks.map((t) => t.label.length))
      const lines = [
        `job ${job.jobId}: ${job.status}`,
        ...job.tasks.map((t) => `  ${t.label.padEnd(labelWidth)}  ${bar(t.progress)} ${percent(t.progress).padStart(4)}  ${t.status}${t.error ? ` (${t.error.message})` : ""}`)
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
  const reported = new Map<string, string>()
  let jobStatus = ""
  return {
    update: (job) => Effect.sync(() => {
      const jobLine = () => {
        if (job.status === jobStatus) return
        jobStatus = job.status
        stream.write(`job ${job.jobId}: ${job.status}\n`)
      }
      if (job.status !== "ready" && job.status !== "failed") jobLine()
      for (const task of job.tasks) {
        const mark = `${task.status}:${Math.floor(task.progress * 4)}`
        if (reported.get(task.taskId) === mark) continue
        reported.set(task.taskId, mark)
        stream.write(`  ${task.label}: ${task.status} ${percent(task.progress)}${task.error ? ` (${task.error.message})` : ""}\n`)
      }
      jobLine()
    }),
    close: Effect.void
  }
}
