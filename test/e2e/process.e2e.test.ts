/**
 * `vidpipe process` end to end on generated clips of different shapes: the presentation
 * validates against the DASH schema, no rung is larger than the source, rungs are
 * segment-aligned, every video segment starts on a keyframe, and audio is there exactly
 * when the source has it; the HLS playlists beside it follow RFC 8216 over the same files.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { localWorkersFor } from "../../src/domain/LocalWorkers.ts"
import { checkPresentation, frameCount, readPresentation } from "../support/dashInspect.ts"
import { checkHls, hlsFrameCount } from "../support/hlsInspect.ts"
import { checkStoryboard } from "../support/storyboardInspect.ts"
import { lastJsonLine, runVidpipe } from "../support/cli.ts"
import { makeClip } from "../support/clips.ts"

const run = promisify(execFile)

interface ClipCase {
  readonly name: string
  readonly width: number
  readonly height: number
  readonly frameRate: string
  readonly audioChannels: number
  readonly sampleRate?: number
  readonly expectedRungs: ReadonlyArray<string>
  /** Run without `--workers`: the count comes from this machine's cores. */
  readonly machineWorkers?: true
}

const cases: ReadonlyArray<ClipCase> = [
  { name: "1080p30-stereo48k", width: 1920, height: 1080, frameRate: "30", audioChannels: 2, sampleRate: 48000, expectedRungs: ["1920x1080", "1280x720", "854x480", "640x360"] },
  { name: "720p25", width: 1280, height: 720, frameRate: "25", audioChannels: 2, sampleRate: 48000, expectedRungs: ["1280x720", "854x480", "640x360"] },
  { name: "portrait-720x1280", width: 720, height: 1280, frameRate: "30", audioChannels: 2, sampleRate: 48000, expectedRungs: ["720x1280", "480x854", "360x640"] },
  { name: "no-audio", width: 960, height: 540, frameRate: "30000/1001", audioChannels: 0, expectedRungs: ["854x480", "640x360"] },
  { name: "720p23.976", width: 1280, height: 720, frameRate: "24000/1001", audioChannels: 2, sampleRate: 48000, expectedRungs: ["1280x720", "854x480", "640x360"] },
  { name: "mono-44k1", width: 854, height: 480, frameRate: "24", audioChannels: 1, sampleRate: 44100, expectedRungs: ["854x480", "640x360"], machineWorkers: true }
]

let workdir = ""
beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-e2e-"))
})
afterAll(async () => {
  await fs.rm(workdir, { recursive: true, force: true })
})

describe("vidpipe process", () => {
  for (const clip of cases) {
    it(`${clip.name}: a valid, aligned, keyframe-led presentation`, async () => {
      const input = await makeClip({
        output: path.join(workdir, `${clip.name}.mp4`),
        durationSeconds: 9,
        width: clip.width,
        height: clip.height,
        frameRate: clip.frameRate,
        audioChannels: clip.audioChannels,
        ...(clip.sampleRate === undefined ? {} : { sampleRate: clip.sampleRate })
      })
      const out = path.join(workdir, `${clip.name}-out`)
      const result = await runVidpipe(["process", input, "--out", out, "--json", ...(clip.machineWorkers ? [] : ["--workers", "2"])], {
        env: { VIDPIPE_DATA_DIR: path.join(workdir, "data") }
      })
      expect(result.code, result.stderr).toBe(0)
      const summary = lastJsonLine(result.stdout)
      expect(summary.status).toBe("ready")
      expect(summary.manifest).toBe(path.join(out, "manifest.mpd"))
      expect(summary.audio).toBe(clip.audioChannels > 0)
      expect(summary.workers).toBe(clip.machineWorkers ? localWorkersFor(os.availableParallelism()) : 2)
      // auto: chunks when every worker gets 8 s (9 s of video: one worker), renditions otherwise.
      expect(summary.strategy).toBe(summary.workers === 1 ? "chunk" : "rendition")
      expect(summary.renditions.map((r: { width: number; height: number }) => `${r.width}x${r.height}`)).toEqual(clip.expectedRungs)
      // The fixed costs by stage (stageTimings.ts): every stage present, the probe and reading back really measured.
      expect(Object.keys(summary.timings).sort()).toEqual(["finalizeMs", "fixedMs", "planMs", "probeMs", "readBackMs", "startupMs", "storeOutputsMs", "storeSourceMs"])
      expect(summary.timings.probeMs).toBeGreaterThan(0)
      expect(summary.timings.readBackMs).toBeGreaterThan(0)

      const report = await checkPresentation(summary.manifest)
      expect(report.problems).toEqual([])
      expect(report.schemaValid, report.schemaOutput).toBe(true)
      expect(report.timelinesAligned).toBe(true)
      expect(report.allSegmentsStartOnKeyframe).toBe(true)
      expect(report.video.length).toBe(clip.expectedRungs.length)
      const reference = report.video[0]!
      for (const rung of report.video) {
        expect(rung.width).toBeLessThanOrEqual(clip.width)
        expect(rung.height).toBeLessThanOrEqual(clip.height)
        expect(rung.width! % 2 + rung.height! % 2).toBe(0)
        expect(rung.segmentCount).toBe(reference.segmentCount)
        expect(rung.durations).toEqual(reference.durations)
        // The source's shape is kept: aspect ratio within rounding to even sizes.
        expect(Math.abs(rung.width! / rung.height! - clip.width / clip.height)).toBeLessThan(0.01)
      }
      expect(reference.segmentCount).toBe(3) // 9 s in 4 s segments
      if (clip.audioChannels > 0) {
        expect(report.audio).toBeDefined()
        expect(report.audio!.channels).toBe(clip.audioChannels)
        expect(report.audio!.sampleRate).toBe(clip.sampleRate)
      } else {
        expect(report.audio).toBeUndefined()
      }
      // HLS beside the MPD, over the very same files: RFC 8216's rules, every rung decoded by
      // ffmpeg's HLS demuxer to the DASH rung's frame count, and no byte of media written twice.
      const hls = await checkHls(path.join(out, "master.m3u8"))
      expect(hls.problems).toEqual([])
      expect(hls.variants.map((v) => v.attributes["RESOLUTION"]).sort()).toEqual([...clip.expectedRungs].sort())
      expect(hls.audio.length).toBe(clip.audioChannels > 0 ? 1 : 0)
      const presentation = await readPresentation(summary.manifest)
      const dashFiles = presentation.adaptationSets.flatMap((set) => set.representations.flatMap((rep) => [rep.segments[0]!.initUrl, ...rep.segments.map((s) => s.url)]))
      const hlsFiles = [...hls.variants, ...hls.audio].flatMap((entry) => entry.media.files)
      expect(new Set(hlsFiles)).toEqual(new Set(dashFiles))
      for (const variant of hls.variants) {
        const rungId = path.basename(path.dirname(variant.media.path))
        expect(await hlsFrameCount(variant.media.path), rungId).toBe((await frameCount(summary.manifest, rungId)).frames)
        const dashCodecs = presentation.adaptationSets.flatMap((set) => set.representations).find((rep) => rep.id === rungId)?.codecs
        expect(variant.attributes["CODECS"]?.split(",")[0]).toBe(dashCodecs)
      }
      const bytes = async (files: ReadonlyArray<string>) => (await Promise.all(files.map((file) => fs.stat(file).then((s) => s.size)))).reduce((a, b) => a + b, 0)
      const playlistBytes = await bytes([path.join(out, "master.m3u8"), ...[...hls.variants, ...hls.audio].map((entry) => entry.media.path)])
      expect(playlistBytes / (await bytes(dashFiles))).toBeLessThan(0.01)

      // The poster (at most 1280 on its longest side, the video's shape) and the storyboard: one
      // thumbnail every 2 s of the video, cut by whichever strategy ran, all on sheets beside it.
      expect(summary.poster).toBe(path.join(out, "poster.jpg"))
      const posterSize = (await run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", summary.poster])).stdout.trim().split(",")
      expect(posterSize[0]).toBe("mjpeg")
      const topSide = Math.max(...report.video.map((rung) => Math.max(rung.width!, rung.height!)))
      expect(Math.max(Number(posterSize[1]), Number(posterSize[2]))).toBe(Math.min(1280, topSide))
      expect(Math.abs(Number(posterSize[1]) / Number(posterSize[2]) - clip.width / clip.height)).toBeLessThan(0.02)
      expect(summary.storyboard).toBe(path.join(out, "storyboard.vtt"))
      const videoSeconds = reference.durations.reduce((a, b) => a + b, 0)
      const storyboard = await checkStoryboard(summary.storyboard, videoSeconds)
      expect(storyboard.problems).toEqual([])
      expect(storyboard.cues.length).toBe(Math.ceil(videoSeconds / 2))
      expect(storyboard.cues.every((cue) => Math.max(cue.region.w, cue.region.h) === 160)).toBe(true)

      // The working copy of the source is not left behind.
      const leftovers = await fs.readdir(path.join(workdir, "data", "uploads")).catch(() => [])
      expect(leftovers).toEqual([])
    })
  }
})

describe("vidpipe process --out", () => {
  it("replaces an earlier presentation in the folder, and refuses a folder holding anything else", async () => {
    const input = await makeClip({ output: path.join(workdir, "small.mp4"), durationSeconds: 4, width: 320, height: 180, audioChannels: 2 })
    const out = path.join(workdir, "again")
    const env = { VIDPIPE_DATA_DIR: path.join(workdir, "data") }
    for (const run of [1, 2]) {
      const result = await runVidpipe(["process", input, "--out", out, "--json"], { env })
      expect(result.code, `run ${run}: ${result.stderr}`).toBe(0)
    }
    expect((await fs.readdir(out)).sort()).toEqual(["audio", "manifest.mpd", "master.m3u8", "poster.jpg", "storyboard", "storyboard.vtt", "video"])

    const foreign = path.join(workdir, "foreign")
    await fs.mkdir(foreign, { recursive: true })
    await fs.writeFile(path.join(foreign, "notes.txt"), "mine")
    const refused = await runVidpipe(["process", input, "--out", foreign], { env })
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain("is not empty and holds no earlier vidpipe output")
    expect(await fs.readdir(foreign)).toEqual(["notes.txt"])
  })
})
