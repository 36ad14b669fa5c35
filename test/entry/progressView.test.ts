/**
 * The CLI's progress display (src/entry/cli/progressView.ts): on a terminal, bars redrawn in place;
 * elsewhere (a pipe, a log file, CI), one plain line per change of state or quarter done.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Job, JobStatus, TaskState } from "../../src/domain/Job.ts"
import { makeProgressView } from "../../src/entry/cli/progressView.ts"

/** What the view uses of a stream (write, isTTY, columns), recording what is written. */
const fakeStream = (isTTY: boolean, columns?: number) => {
  const written: Array<string> = []
  const stream = { isTTY, columns, write: (chunk: string) => written.push(chunk) > 0 }
  // The view only writes text and reads these two fields: the rest of a WriteStream is not needed.
  return { stream: stream as unknown as NodeJS.WriteStream, written }
}

const task = (label: string, status: TaskState["status"], progress: number, error?: string): TaskState => ({
  taskId: `t-${label}`,
  kind: label === "audio" ? "audio" : "video",
  label,
  status,
  progress,
  attempts: 1,
  ...(error === undefined ? {} : { error: { _tag: "FfmpegFailed", message: error } })
})

const job = (status: JobStatus, tasks: ReadonlyArray<TaskState>): Job => ({
  id: "j-1",
  status,
  createdAt: 0,
  updatedAt: 0,
  fileName: "clip.mp4",
  sourceKey: "j-1/source",
  outputPrefix: "j-1/",
  segmentSeconds: 4,
  tasks
})

const show = (view: ReturnType<typeof makeProgressView>, ...jobs: ReadonlyArray<Job>) =>
  Effect.runSync(Effect.forEach(jobs, view.update, { discard: true }))

describe("progress view, not on a terminal", () => {
  it("writes a line per job status and per task milestone (state, or each quarter), nothing for the same news twice", () => {
    const { stream, written } = fakeStream(false)
    const view = makeProgressView(stream)
    show(
      view,
      job("queued", [task("720p", "queued", 0), task("audio", "queued", 0)]),
      job("queued", [task("720p", "queued", 0), task("audio", "queued", 0)]),
      job("processing", [task("720p", "running", 0.1), task("audio", "running", 0.2)]),
      job("processing", [task("720p", "running", 0.2), task("audio", "running", 0.24)]),
      job("processing", [task("720p", "running", 0.26), task("audio", "done", 1)])
    )
    expect(written.join("")).toBe([
      "job j-1: queued",
      "  720p: queued 0%",
      "  audio: queued 0%",
      "job j-1: processing",
      "  720p: running 10%",
      "  audio: running 20%",
      "  720p: running 26%",
      "  audio: done 100%",
      ""
    ].join("\n"))
  })

  it("says a job's end after its tasks' news, with the reason of a failed task", () => {
    const { stream, written } = fakeStream(false)
    const view = makeProgressView(stream)
    show(
      view,
      job("processing", [task("720p", "running", 0.5)]),
      job("failed", [task("720p", "failed", 0.5, "ffmpeg exited with 1")])
    )
    Effect.runSync(view.close)
    expect(written.join("")).toBe([
      "job j-1: processing",
      "  720p: running 50%",
      "  720p: failed 50% (ffmpeg exited with 1)",
      "job j-1: failed",
      ""
    ].join("\n"))
  })
})

describe("progress view, on a terminal", () => {
  const clearLine = "\x1b[2K"

  it("draws a bar per task, then redraws the same lines in place", () => {
    const { stream, written } = fakeStream(true, 120)
    const view = makeProgressView(stream)
    show(view, job("processing", [task("720p", "running", 0.5), task("audio", "queued", 0)]))
    expect(written).toEqual([
      [
        `${clearLine}job j-1: processing`,
        `${clearLine}  720p      ${"█".repeat(12)}${"░".repeat(12)}  50%  running`,
        `${clearLine}  audio     ${"░".repeat(24)}   0%  queued`
      ].join("\n") + "\n"
    ])
    show(view, job("ready", [task("720p", "done", 1), task("audio", "done", 1)]))
    // Up three lines (what was drawn), then the same three lines again.
    expect(written[1]!.startsWith(`\x1b[3A${clearLine}job j-1: ready\n`)).toBe(true)
    expect(written[1]).toContain(`  720p      ${"█".repeat(24)} 100%  done`)
  })

  it("cuts lines to the terminal's width, and on close draws the last state once more", () => {
    const { stream, written } = fakeStream(true, 20)
    const view = makeProgressView(stream)
    Effect.runSync(view.close)
    expect(written).toEqual([])
    show(view, job("processing", [task("a-very-long-rung-label", "running", 0.25, "retrying")]))
    const lines = written[0]!.split("\n").filter((line) => line !== "")
    expect(lines.map((line) => line.replace(clearLine, "").length)).toEqual([19, 19])
    Effect.runSync(view.close)
    expect(written[1]).toBe(`\x1b[2A${written[0]}`)
  })
})
