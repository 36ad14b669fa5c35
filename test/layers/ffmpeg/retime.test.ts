/**
 * The `fps` filter is paid for only where frames may be off the output grid (issue 18): ffprobe's
 * report decides (`framesOnGrid`), ingest records it on chunk tasks as `retime`, and the argument
 * builders follow it. The rule is checked against real ffmpeg: on a source it calls on the grid, a
 * chunk window encoded without the filter is byte-identical to the one with it; on a source with
 * frames dropped (variable rate) it says no, and leaving the filter out there would change the output.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { Result, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Rung } from "../../../src/domain/Ladder.ts"
import { planLadder } from "../../../src/domain/Ladder.ts"
import type { MediaProbe } from "../../../src/domain/Probe.ts"
import { FfprobeOutput, framesOnGrid, interpretProbe } from "../../../src/domain/Probe.ts"
import { chunkArguments, ladderCommandArguments, probeArguments } from "../../../src/layers/ffmpeg/arguments.ts"
import { needsRetiming, planTasks } from "../../../src/programs/ingest.ts"
import { newJob } from "../../../src/programs/jobRecords.ts"
import { makeClip } from "../../support/clips.ts"

const run = promisify(execFile)

/** What ffprobe reports for a 30 fps MP4 written by ffmpeg (12 s, 360 frames). */
const mp4Stream = {
  avg_frame_rate: "30/1", r_frame_rate: "30/1", time_base: "1/15360", start_time: "0.000000", duration: "12.000000", nb_frames: "360"
}

describe("framesOnGrid: only a stream whose report shows every frame on the grid", () => {
  it("says yes for a constant-rate MP4 starting at 0 and no when any fact is missing or off", () => {
    expect(framesOnGrid(mp4Stream, "30/1")).toBe(true)
    expect(framesOnGrid({ ...mp4Stream, avg_frame_rate: "30000/1001", r_frame_rate: "30000/1001", time_base: "1/30000", duration: "12.012000" }, "30000/1001")).toBe(true)
    const off: Array<[string, Partial<typeof mp4Stream>, string?]> = [
      ["variable rate (average differs)", { avg_frame_rate: "2997/100" }],
      ["a rate snapped to a standard one", {}, "30000/1001"],
      ["a rate capped at 60", { avg_frame_rate: "120/1", r_frame_rate: "120/1", nb_frames: "1440" }, "60/1"],
      ["Matroska's millisecond ticks", { time_base: "1/1000" }],
      ["a late first frame", { start_time: "0.033333" }],
      ["no start time", { start_time: undefined as unknown as string }],
      ["no frame count (Matroska, WebM)", { nb_frames: undefined as unknown as string }],
      ["frames missing for the duration", { nb_frames: "300" }]
    ]
    for (const [name, change, rate] of off) {
      const stream = Object.fromEntries(Object.entries({ ...mp4Stream, ...change }).filter(([, v]) => v !== undefined))
      expect(framesOnGrid(stream, rate ?? "30/1"), name).toBe(false)
    }
  })
})

const probeOf = (stream: Record<string, string>): MediaProbe => {
  const probed = interpretProbe({
    format: { format_name: "mov,mp4,m4a,3gp,3g2,mj2", duration: "12.000000" },
    streams: [{ codec_type: "video", codec_name: "h264", width: 1280, height: 720, pix_fmt: "yuv420p", field_order: "progressive", ...stream }]
  })
  if (Result.isFailure(probed)) throw new Error(probed.failure.message)
  return probed.success
}

const usesFps = (args: ReadonlyArray<string>) => args.some((arg) => arg.includes("fps=fps="))
const window = { index: 1, count: 3, firstSegment: 1, segmentCount: 1, startSeconds: 4, endSeconds: 8 }

describe("the fps filter, only where frames may be off the grid", () => {
  it("is recorded on every chunk task by ingest", () => {
    for (const [stream, expected] of [[mp4Stream, false], [{ ...mp4Stream, time_base: "1/1000" }, true]] as const) {
      const probe = probeOf(stream)
      expect(needsRetiming(probe)).toBe(expected)
      const rungs = planLadder(probe)
      const job = newJob({ id: "j", fileName: "a.mp4", sourceKey: "j/a.mp4", outputPrefix: "j/", segmentSeconds: 4, now: 0 })
      const tasks = planTasks({ ...job, plan: { segmentSeconds: 4, rungs, audio: false, strategy: "chunk", chunks: [window] } }, probe, rungs)
      for (const task of tasks) if (task._tag === "chunk") expect(task.retime).toBe(expected)
    }
  })

  it("is in the chunk and one-command graphs only when wanted (and when a task does not say)", () => {
    const [rung] = planLadder(probeOf(mp4Stream))
    const chunk = (retime: boolean | undefined) =>
      chunkArguments({ input: "in.mp4", outputDir: "out", rungs: [rung!], frameRate: "30/1", segmentSeconds: 4, chunk: window, retime })
    const ladder = (retime: boolean | undefined) =>
      ladderCommandArguments({ input: "in.mp4", outputDir: "out", rungs: [rung!], frameRate: "30/1", segmentSeconds: 4, retime })
    for (const build of [chunk, ladder]) {
      expect(usesFps(build(false))).toBe(false)
      expect(usesFps(build(true))).toBe(true)
      expect(usesFps(build(undefined))).toBe(true)
    }
    // The window is still cut: seek and trim stay.
    expect(chunk(false).join(" ")).toMatch(/-ss \S+ -t \S+ -i in\.mp4 .*trim=end_frame=120/)
  })
})

describe("the rule against real ffmpeg", () => {
  let folder: string
  beforeAll(async () => {
    folder = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-retime-"))
  })
  afterAll(async () => {
    await fs.rm(folder, { recursive: true, force: true })
  })

  const probeFile = async (file: string) => {
    const { stdout } = await run("ffprobe", probeArguments(file))
    const probed = interpretProbe(Schema.decodeUnknownSync(FfprobeOutput)(JSON.parse(stdout)))
    if (Result.isFailure(probed)) throw new Error(probed.failure.message)
    return probed.success
  }

  /** The middle chunk's video, as one file (init + segments), encoded with or without the filter. */
  const encodeWindow = async (input: string, probe: MediaProbe, retime: boolean) => {
    const out = path.join(folder, `${path.basename(input)}-${retime}`)
    await fs.mkdir(out, { recursive: true })
    const rung: Rung = { id: "180p", width: 320, height: 180, maxBitrate: 400_000 }
    const args = chunkArguments({ input, outputDir: out, rungs: [rung], frameRate: probe.video.frameRate, segmentSeconds: 2, deinterlace: false, retime, chunk: { index: 1, count: 3, firstSegment: 1, segmentCount: 1, startSeconds: 2, endSeconds: 4 } })
    await run("ffmpeg", args.filter((arg, i, all) => arg !== "-progress" && all[i - 1] !== "-progress"))
    const names = (await fs.readdir(out)).filter((name) => name.endsWith(".mp4") || name.endsWith(".m4s")).sort()
    return Buffer.concat(await Promise.all(names.map((name) => fs.readFile(path.join(out, name)))))
  }

  it("a source it calls on the grid encodes byte-identically without the filter", async () => {
    const clip = await makeClip({ output: path.join(folder, "ntsc.mp4"), durationSeconds: 6, width: 320, height: 180, frameRate: "30000/1001", audioChannels: 0 })
    const probe = await probeFile(clip)
    expect(probe.video.onFrameGrid).toBe(true)
    const [withFilter, without] = [await encodeWindow(clip, probe, true), await encodeWindow(clip, probe, false)]
    expect(without.length).toBeGreaterThan(1000)
    expect(without.equals(withFilter)).toBe(true)
  }, 60_000)

  it("a variable-rate source (frames dropped) is not on the grid, and there the filter changes the output", async () => {
    const clip = path.join(folder, "vfr.mp4")
    await run("ffmpeg", [
      "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=6",
      "-vf", "select='not(eq(mod(n\\,7)\\,3))'", "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "ultrafast", clip
    ])
    const probe = await probeFile(clip)
    expect(probe.video.onFrameGrid).toBe(false)
    const [withFilter, without] = [await encodeWindow(clip, probe, true), await encodeWindow(clip, probe, false)]
    expect(without.equals(withFilter)).toBe(false)
  }, 60_000)
})
