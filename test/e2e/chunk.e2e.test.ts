/**
 * The chunk strategy end to end with real ffmpeg: `vidpipe process --strategy chunk` on a 25 fps
 * stereo clip, a 29.97 fps clip without audio, and a 24 fps mono 44.1 kHz clip with one worker
 * (whose audio rides in chunk 1). The stitched presentation must be seamless —
 * every source frame exactly once, where the source has it, at a constant step; keyframes
 * exactly on the segment boundaries; one segment timeline for every rung; audio and video
 * starting together — valid against the DASH schema, and playable in dash.js across chunk
 * boundaries. Then the API:
 * `strategy` in the create-job body (a bad value is a 400 naming the field) reaching a ready
 * chunked job through `vidpipe serve`.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPresentationServer } from "../../src/entry/http/presentationServer.ts"
import { playDash } from "../support/browser.ts"
import { lastJsonLine, runVidpipe } from "../support/cli.ts"
import { makeClip } from "../support/clips.ts"
import { checkPresentation, firstPresentationTimes, frameCount, framePsnr, sourceFrameCount } from "../support/dashInspect.ts"
import { waitFor } from "../support/fleet.ts"
import { startServer } from "../support/server.ts"

let workdir = ""
beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-chunk-e2e-"))
})
afterAll(async () => {
  await fs.rm(workdir, { recursive: true, force: true })
})

/** Serves a presentation folder with the player page, for as long as the returned scope is open. */
const servePresentation = async (root: string) => {
  const scope = Scope.makeUnsafe()
  const base = await Effect.runPromise(startPresentationServer({ root, port: 0, logAddress: false }).pipe(Scope.provide(scope)))
  return { player: `${base}/player?src=${encodeURIComponent("/manifest.mpd")}`, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

interface Case {
  readonly name: string
  readonly width: number
  readonly height: number
  readonly frameRate: string
  readonly durationSeconds: number
  readonly audioChannels: number
  readonly sampleRate: number
  readonly ladder: string
  readonly workers: number
  readonly rungs: ReadonlyArray<string>
  /** Chunk boundaries the plan puts in this clip (seconds). */
  readonly chunkStarts: ReadonlyArray<number>
}

const cases: ReadonlyArray<Case> = [
  {
    name: "720p25-stereo", width: 1280, height: 720, frameRate: "25", durationSeconds: 24, audioChannels: 2, sampleRate: 48000,
    ladder: "720,480,360", workers: 3, rungs: ["720p", "480p", "360p"], chunkStarts: [0, 8, 16]
  },
  {
    name: "540p29.97-silent", width: 960, height: 540, frameRate: "30000/1001", durationSeconds: 25, audioChannels: 0, sampleRate: 48000,
    ladder: "540,360", workers: 2, rungs: ["540p", "360p"], chunkStarts: [0, 12]
  },
  {
    // One worker: the audio rides in chunk 1's ffmpeg (no audio task), read from a second opening of the source.
    name: "240p24-mono44k-one-worker", width: 426, height: 240, frameRate: "24", durationSeconds: 38, audioChannels: 1, sampleRate: 44100,
    ladder: "240", workers: 1, rungs: ["240p"], chunkStarts: [0, 20]
  }
]

/** Runs `vidpipe process --strategy chunk` and checks that the stitched presentation is seamless. */
const processAndCheck = async (clip: Case) => {
  const input = await makeClip({
    output: path.join(workdir, `${clip.name}.mp4`),
    durationSeconds: clip.durationSeconds,
    width: clip.width,
    height: clip.height,
    frameRate: clip.frameRate,
    audioChannels: clip.audioChannels,
    sampleRate: clip.sampleRate
  })
  const out = path.join(workdir, `${clip.name}-out`)
  const started = Date.now()
  const result = await runVidpipe(
    ["process", input, "--out", out, "--json", "--strategy", "chunk", "--workers", String(clip.workers), "--ladder", clip.ladder],
    { env: { VIDPIPE_DATA_DIR: path.join(workdir, "data") }, timeoutMs: 300_000 }
  )
  expect(result.code, result.stderr).toBe(0)
  const summary = lastJsonLine(result.stdout)
  expect(summary.status).toBe("ready")
  // The chunks ran as their own tasks, labelled with their spans.
  const chunkLines = [...new Set(result.stderr.match(/chunk \d+\/\d+ \d\d:\d\d–\d\d:\d\d/g) ?? [])]
  expect(chunkLines.map((line) => Number(/(\d\d):(\d\d)–/.exec(line)![2]))).toEqual(clip.chunkStarts)

  const manifest = summary.manifest as string
  const report = await checkPresentation(manifest)
  expect(report.problems).toEqual([])
  expect(report.schemaValid, report.schemaOutput).toBe(true)
  expect(report.timelinesAligned).toBe(true)
  expect(report.allSegmentsStartOnKeyframe).toBe(true)
  expect(report.video.map((r) => r.id).sort()).toEqual([...clip.rungs].sort())
  const reference = report.video[0]!
  for (const rung of report.video) {
    // Identical segment timelines across rungs: every start and every duration.
    expect(rung.startTimes, rung.id).toEqual(reference.startTimes)
    expect(rung.durations, rung.id).toEqual(reference.durations)
  }
  // Chunk boundaries are segment boundaries.
  for (const start of clip.chunkStarts) {
    expect(reference.startTimes.some((t) => Math.abs(t - start) < 1 / 29), `a segment starts at ${start} s`).toBe(true)
  }

  const frames = await sourceFrameCount(input)
  for (const id of clip.rungs) {
    const count = await frameCount(manifest, id)
    // Every source frame exactly once: none lost or doubled where chunks meet.
    expect(count.frames, id).toBe(frames)
    expect(count.constantStep, `${id} steps ${count.steps.join(", ")}`).toBe(true)
    expect(count.firstPts, id).toBe(0)
    // Keyframes exactly at the segment starts, and nowhere else.
    expect(count.keyframeTimes.length, id).toBe(reference.segmentCount)
    count.keyframeTimes.forEach((t, i) => expect(t, `${id} keyframe ${i}`).toBeCloseTo(reference.startTimes[i]!, 3))
  }

  // Every frame shows the source frame of its time: the top rung (the source's size) against the
  // source scores well above what one misplaced frame would (about 22 dB for this pattern).
  const psnr = await framePsnr(manifest, clip.rungs[0]!, input)
  expect(psnr.length).toBe(frames)
  expect(Math.min(...psnr)).toBeGreaterThan(32)

  const starts = await firstPresentationTimes(manifest)
  expect(starts.video).toBe(0)
  if (clip.audioChannels > 0) {
    expect(report.audio).toMatchObject({ channels: clip.audioChannels, sampleRate: clip.sampleRate })
    // Audio starts within one AAC frame (1024 samples) of the video.
    expect(Math.abs(starts.audio! - starts.video!)).toBeLessThanOrEqual(1024 / clip.sampleRate + 1e-6)
    // The whole track, however the video was cut.
    expect(report.audio?.totalDuration).toBeGreaterThan(clip.durationSeconds - 0.05)
    // Planned for one worker, audio is no task of its own: chunk 1 encodes it.
    expect(/^\s*audio: queued/m.test(result.stderr), "an audio task").toBe(clip.workers > 1)
    expect(result.stderr.includes("+ audio: queued"), "audio riding with chunk 1").toBe(clip.workers === 1)
  } else {
    expect(report.audio).toBeUndefined()
  }
  return { out, elapsedMs: Date.now() - started, segments: reference.segmentCount }
}

describe("vidpipe process --strategy chunk", () => {
  it("720p25 stereo in three chunks: seamless, valid, and plays across chunk boundaries in dash.js", async () => {
    const { out } = await processAndCheck(cases[0]!)
    const server = await servePresentation(out)
    try {
      // ABR across the first chunk boundary (8 s), then the lowest rung pinned across the second (16 s).
      const across = await playDash(server.player, { startAt: 7, minAdvanceSeconds: 2.5, timeoutMs: 45_000 })
      expect(across.errors).toEqual([])
      expect(across.currentTime).toBeGreaterThanOrEqual(9.5)
      const pinned = await playDash(server.player, { startAt: 15, minAdvanceSeconds: 2.5, timeoutMs: 45_000, representation: "360p" })
      expect(pinned.errors).toEqual([])
      expect([pinned.videoWidth, pinned.videoHeight]).toEqual([640, 360])
      expect(pinned.currentTime).toBeGreaterThanOrEqual(17.5)
    } finally {
      await server.close()
    }
  }, 360_000)

  it("29.97 fps without audio in two chunks: every frame once at a constant step", async () => {
    await processAndCheck(cases[1]!)
  }, 300_000)

  it("one worker, mono 44.1 kHz in two chunks: chunk 1 encodes the audio, the same bytes an audio task writes", async () => {
    const clip = cases[2]!
    const { out } = await processAndCheck(clip)
    // The same source with two workers has an audio task of its own: its output is identical.
    const apart = path.join(workdir, `${clip.name}-audio-task`)
    const result = await runVidpipe(
      ["process", path.join(workdir, `${clip.name}.mp4`), "--out", apart, "--json", "--strategy", "chunk", "--workers", "2", "--ladder", clip.ladder],
      { env: { VIDPIPE_DATA_DIR: path.join(workdir, "data") } }
    )
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/^\s*audio: queued/m)
    const files = async (folder: string) => {
      const names = (await fs.readdir(folder)).sort()
      return Promise.all(names.map(async (name) => [name, (await fs.readFile(path.join(folder, name))).toString("base64")]))
    }
    const riding = await files(path.join(out, "audio"))
    expect(riding.length).toBe(12) // the HLS playlist, init and ceil(38 / 4) segments
    expect(riding).toEqual(await files(path.join(apart, "audio")))
    const audioSet = (mpd: string) => mpd.slice(mpd.indexOf(`contentType="audio"`))
    expect(audioSet(await fs.readFile(path.join(out, "manifest.mpd"), "utf8"))).toEqual(audioSet(await fs.readFile(path.join(apart, "manifest.mpd"), "utf8")))
  }, 300_000)

  it("a video stream shorter than the file: chunks past its end are empty and the video ends where the source's does", async () => {
    // 10 s of video in a 20 s file: the second chunk (12–20 s) has no frames.
    const clipped = path.join(workdir, "short-video.mp4")
    await promisify(execFile)("ffmpeg", [
      "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=10",
      "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=20", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", clipped
    ])
    const out = path.join(workdir, "short-video-out")
    const result = await runVidpipe(["process", clipped, "--out", out, "--json", "--strategy", "chunk", "--workers", "2"], {
      env: { VIDPIPE_DATA_DIR: path.join(workdir, "data") }
    })
    expect(result.code, result.stderr).toBe(0)
    const manifest = lastJsonLine(result.stdout).manifest as string
    const report = await checkPresentation(manifest, { durationTolerance: 11 })
    expect(report.problems).toEqual([])
    expect(report.videoDuration).toBeCloseTo(10, 1)
    expect(report.audio?.totalDuration).toBeGreaterThan(19.9)
    expect((await frameCount(manifest, report.video[0]!.id)).frames).toBe(await sourceFrameCount(clipped))
  }, 120_000)

  it("29.97 fps past 32 s: rendition and chunk tasks cut the same segments, each one GOP", async () => {
    // Every ninth GOP at 29.97 fps is 119 frames, a little under 4 s: it must still be a segment.
    const input = await makeClip({ output: path.join(workdir, "ntsc.mp4"), durationSeconds: 44, width: 320, height: 240, frameRate: "30000/1001", audioChannels: 0 })
    const timelines = await Promise.all(["rendition", "chunk"].map(async (strategy) => {
      const out = path.join(workdir, `ntsc-${strategy}`)
      const result = await runVidpipe(["process", input, "--out", out, "--json", "--strategy", strategy, "--workers", "2", "--ladder", "240"], {
        env: { VIDPIPE_DATA_DIR: path.join(workdir, `data-${strategy}`) }
      })
      expect(result.code, result.stderr).toBe(0)
      const report = await checkPresentation(path.join(out, "manifest.mpd"))
      expect(report.problems).toEqual([])
      return report.video[0]!.durations
    }))
    expect(timelines[1]).toEqual(timelines[0])
    expect(Math.max(...timelines[0]!)).toBeLessThan(4.01)
    expect(timelines[0]!.length).toBe(11)
  }, 180_000)
})

describe("the API's strategy", () => {
  it("refuses an unknown strategy naming the field, and runs a chunked job to ready", async () => {
    const storage = path.join(workdir, "serve")
    const clip = await makeClip({ output: path.join(workdir, "api.mp4"), durationSeconds: 16, width: 640, height: 360 })
    const bytes = await fs.readFile(clip)
    const server = await startServer(["--workers", "2"], { VIDPIPE_STORAGE: `file://${storage}` })
    try {
      const create = (strategy: string) =>
        server.api("/v1/jobs", { method: "POST", body: JSON.stringify({ fileName: "api.mp4", contentLength: bytes.length, ladder: [360, 240], strategy }) })
      const refused = await create("sideways")
      expect(refused.status).toBe(400)
      expect((await refused.json()).error).toMatchObject({ _tag: "BadRequest", field: "strategy" })

      const created = await create("chunk")
      expect(created.status).toBe(201)
      const { jobId, upload } = await created.json()
      const put = await fetch(upload.url, { method: "PUT", body: bytes })
      expect(put.status, await put.text()).toBe(200)
      const job = await waitFor(async () => {
        const view = await (await server.api(`/v1/jobs/${jobId}`)).json()
        if (view.status === "failed") throw new Error(`job failed: ${JSON.stringify(view.error)}`)
        return view.status === "ready" ? view : undefined
      }, 120_000, `job ${jobId} to be ready`)
      expect(job.tasks.map((t: any) => t.kind)).toEqual(["audio", "chunk", "chunk"])
      expect(job.tasks.map((t: any) => t.label)).toEqual(["audio", "chunk 1/2 00:00–00:08", "chunk 2/2 00:08–00:16"])
      expect(job.renditions.map((r: any) => `${r.width}x${r.height}`)).toEqual(["640x360", "426x240"])
      const report = await checkPresentation(path.join(storage, "outputs", jobId, "manifest.mpd"))
      expect(report.problems).toEqual([])
      expect((await frameCount(path.join(storage, "outputs", jobId, "manifest.mpd"), "240p")).frames).toBe(await sourceFrameCount(clip))
    } finally {
      await server.stop()
    }
  }, 180_000)
})
