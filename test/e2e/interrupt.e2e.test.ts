/**
 * Ctrl-C (and SIGTERM) during `vidpipe process`, at many moments of a run: while Node starts, while
 * the source is stored, once tasks are queued, while encoders start, mid-encode, while a task's
 * outputs are stored, after a task is done, after the manifest is published. Each time the process
 * stops promptly, its ffmpeg children are gone, and every file and folder it created is removed:
 * the data folder, the output folder and its private temporary folder are exactly as before.
 *
 * The moments are events the run reports (its progress lines and debug log on stderr), not
 * sleeps, so they land in the same stage however busy the machine is.
 */
import { execFileSync } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { collect, startVidpipe } from "../support/cli.ts"
import { makeClip } from "../support/clips.ts"

let workdir = ""
let clip = ""
/** Node's compile cache lives outside the compared tree: it is Node's, not the run's. */
let compileCache = ""

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-sigint-"))
  compileCache = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-sigint-cache-"))
  await fs.mkdir(path.join(workdir, "tmp"))
  // 640x480 with audio: two rungs (480p, 360p) and an audio task, so two workers overlap; four
  // 4 s segments, so an encoder has written its first one a quarter of the way through.
  clip = await makeClip({ output: path.join(workdir, "clip.mp4"), durationSeconds: 16, width: 640, height: 480 })
})
// Each run starts from the same state: the clip and an empty temporary folder.
beforeEach(async () => {
  for (const entry of ["out", "data", "tmp"]) await fs.rm(path.join(workdir, entry), { recursive: true, force: true })
  await fs.mkdir(path.join(workdir, "tmp"))
})
afterAll(async () => {
  await fs.rm(workdir, { recursive: true, force: true })
  await fs.rm(compileCache, { recursive: true, force: true })
})

/** Every path under `root` (folders too), relative and sorted. */
const tree = async (root: string): Promise<ReadonlyArray<string>> =>
  (await fs.readdir(root, { recursive: true })).map(String).sort()

/** ffmpeg processes whose command line mentions `needle` (they read the job's copy of the source). */
const encodersMentioning = (needle: string) =>
  execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes(needle) && line.includes("ffmpeg"))

const startRun = () =>
  startVidpipe(["process", clip, "--out", path.join(workdir, "out", "clip"), "--workers", "2"], {
    cwd: workdir,
    env: {
      VIDPIPE_DATA_DIR: path.join(workdir, "data"),
      TMPDIR: path.join(workdir, "tmp"),
      NODE_COMPILE_CACHE: compileCache,
      VIDPIPE_LOG_LEVEL: "Debug"
    }
  })

/** Resolves when the child's stderr has shown `pattern` (its progress lines and debug log). */
const stderrShows = (child: ChildProcess, pattern: RegExp) =>
  new Promise<void>((resolve, reject) => {
    let seen = ""
    const onData = (chunk: Buffer) => {
      seen += chunk.toString()
      if (pattern.test(seen)) {
        child.stderr?.off("data", onData)
        resolve()
      }
    }
    child.stderr?.on("data", onData)
    child.once("close", () => reject(new Error(`the run ended before it showed ${pattern}:\n${seen}`)))
  })

const afterMillis = (ms: number) => () => new Promise<void>((resolve) => setTimeout(resolve, ms))
const onEvent = (pattern: RegExp) => (child: ChildProcess) => stderrShows(child, pattern)

/** Resolves once an encoder has finished a first media segment in its work folder, and is still running. */
const firstSegmentEncoded = async (child: ChildProcess) => {
  const tmp = path.join(workdir, "tmp")
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error("the run ended before a segment was encoded")
    const files = await fs.readdir(tmp, { recursive: true }).catch(() => [])
    if (files.map(String).some((file) => /vidpipe-task-[^/]+\/(.+\/)?seg-00001\.m4s$/.test(file))) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

interface Moment {
  readonly name: string
  readonly signal: "SIGINT" | "SIGTERM"
  readonly reached: (child: ChildProcess) => Promise<void>
}

const moments: ReadonlyArray<Moment> = [
  { name: "at once", signal: "SIGINT", reached: afterMillis(0) },
  { name: "after 150 ms", signal: "SIGTERM", reached: afterMillis(150) },
  { name: "after 300 ms", signal: "SIGINT", reached: afterMillis(300) },
  { name: "after 500 ms", signal: "SIGINT", reached: afterMillis(500) },
  { name: "when the tasks are queued", signal: "SIGINT", reached: onEvent(/enqueued/) },
  { name: "when the encoders start", signal: "SIGTERM", reached: onEvent(/: running 0%/) },
  { name: "mid-encode, a first segment written", signal: "SIGINT", reached: firstSegmentEncoded },
  { name: "when a task's encode ends and its outputs are stored", signal: "SIGINT", reached: onEvent(/: running 100%/) },
  { name: "after a task is done", signal: "SIGTERM", reached: onEvent(/TasksCompleted=1/) },
  { name: "after the manifest is published", signal: "SIGINT", reached: onEvent(/JobsFinalized=1/) }
]

describe("an interrupted vidpipe process leaves nothing behind", () => {
  it("an uninterrupted run, for comparison: the presentation stays, the source copy and its folders go", async () => {
    const before = await tree(workdir)
    const result = await collect(startRun(), 120_000)
    expect(result.code, result.stderr).toBe(0)
    const after = await tree(workdir)
    expect(after).toContain(path.join("out", "clip", "manifest.mpd"))
    expect(after.filter((entry) => !entry.startsWith("out")), "only the presentation was added").toEqual(before)
    await fs.rm(path.join(workdir, "out"), { recursive: true })
  })

  for (const moment of moments) {
    it(`${moment.signal} ${moment.name}`, async () => {
      const before = await tree(workdir)
      const child = startRun()
      const done = collect(child, 120_000)
      await moment.reached(child)
      const sent = Date.now()
      child.kill(moment.signal)
      const result = await done
      // ffmpeg gets SIGTERM and, a second later, SIGKILL; the rest is cleanup. A bound that holds
      // with both cores busy: the check is that it stops by itself, not how fast a loaded machine is.
      expect(Date.now() - sent).toBeLessThan(6_000)
      expect(encodersMentioning(workdir)).toEqual([])
      const after = await tree(workdir)
      if (result.code === 0) {
        // The signal came after the run had printed its result: then the presentation is whole.
        expect(after).toContain(path.join("out", "clip", "manifest.mpd"))
        expect(after.filter((entry) => !entry.startsWith("out")), "only the presentation was added").toEqual(before)
        return
      }
      // Before Node has installed its handlers the signal ends it; after, the run exits 130.
      expect(result.code === 130 || result.signal === moment.signal, `code ${result.code} signal ${result.signal}\n${result.stderr}`).toBe(true)
      expect(after, "every file and folder the run created is gone").toEqual(before)
    })
  }
})
