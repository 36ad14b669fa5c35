/**
 * What `vidpipe submit --api` shows on stderr while it uploads: bytes sent across the parts, speed,
 * parts stored. On a terminal a line redrawn in place; otherwise a line at each quarter. (With
 * `--wait`, the job's tasks are then shown by progressView.ts, from the API's job view.) stdout
 * stays clean for results.
 */
import { Effect } from "effect"
import type { UploadProgress } from "./apiUpload.ts"
import { bar, percent } from "./progressView.ts"

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
    `upload ${fileName}: ${bar(progress.sent / progress.total)} ${percent(progress.sent / progress.total)}  ${mib(progress.sent)} of ${mib(progress.total)}  ${speed(progress)}` +
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
