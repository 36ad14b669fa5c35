/**
 * Storyboard sheets and poster cut by real ffmpeg in the same command as the encode (issue 19):
 * a chunk cuts its own span's thumbnails, a rung task the whole video's, and the thumbnails each
 * sheet holds are exactly those the domain rule (`thumbnailAt`) counts — read off the sheets'
 * pixels: a filled cell per thumbnail, black after the last one.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { Effect, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ChunkSpan } from "../../../src/domain/Chunking.ts"
import type { Pictures, StoryboardLayout } from "../../../src/domain/Pictures.ts"
import type { Rung } from "../../../src/domain/Ladder.ts"
import { ffmpegCliLayer } from "../../../src/layers/ffmpeg/FfmpegCli.ts"
import { picturesFolder } from "../../../src/layers/ffmpeg/arguments.ts"
import type { EncodeEvent } from "../../../src/services/Ffmpeg.ts"
import { Ffmpeg } from "../../../src/services/Ffmpeg.ts"
import { makeClip } from "../../support/clips.ts"

const run = promisify(execFile)
const frameRate = "30000/1001"
const rung: Rung = { id: "360p", width: 640, height: 360, maxBitrate: 900_000 }
// Small sheets so that a chunk's thumbnails need more than one.
const layout: StoryboardLayout = { intervalSeconds: 1, width: 64, height: 36, columns: 3, rows: 2 }
const poster = { atSeconds: 10, width: 320, height: 180 }

let work: string
let clip: string
beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-pictures-"))
  clip = await makeClip({ output: path.join(work, "clip.mp4"), durationSeconds: 14, width: 640, height: 360, frameRate, audioChannels: 0 })
})
afterAll(() => fs.rm(work, { recursive: true, force: true }))

const lastEvent = (events: Stream.Stream<EncodeEvent, unknown, Ffmpeg>) =>
  Effect.runPromise(Stream.runCollect(events).pipe(Effect.map((all) => [...all].at(-1)), Effect.provide(ffmpegCliLayer())))

const withFfmpeg = (use: (ffmpeg: Ffmpeg["Service"]) => Stream.Stream<EncodeEvent, unknown>) =>
  Stream.unwrap(Effect.gen(function*() {
    return use(yield* Ffmpeg)
  }))

const chunk = (index: number, startSeconds: number, endSeconds: number): ChunkSpan =>
  ({ index, count: 2, firstSegment: startSeconds / 4, segmentCount: Math.ceil((endSeconds - startSeconds) / 4), startSeconds, endSeconds })

const encodeChunk = async (span: ChunkSpan, withPoster: boolean) => {
  const outputDir = path.join(work, `chunk-${span.index}`)
  const event = await lastEvent(withFfmpeg((ffmpeg) =>
    ffmpeg.encodeChunk({
      input: clip, outputDir, rungs: [rung], frameRate, segmentSeconds: 4, chunk: span, retime: true, deinterlace: false,
      pictures: { storyboard: layout, ...(withPoster ? { poster } : {}), sheetPrefix: `c${span.index + 1}` }
    })))
  if (event?._tag !== "ChunkFinished") throw new Error(`chunk ${span.index}: no result`)
  return { outputDir, pictures: event.result.pictures }
}

/** Mean brightness of each cell of a sheet, row by row. */
const cellBrightness = async (sheet: string) => {
  const width = layout.columns * layout.width
  const { stdout } = await run("ffmpeg", ["-v", "error", "-i", sheet, "-f", "rawvideo", "-pix_fmt", "gray", "-"], { encoding: "buffer", maxBuffer: 1 << 24 })
  return Array.from({ length: layout.columns * layout.rows }, (_, cell) => {
    const x0 = (cell % layout.columns) * layout.width
    const y0 = Math.floor(cell / layout.columns) * layout.height
    let sum = 0
    // Inside the cell, clear of JPEG ringing at its edges.
    for (let y = y0 + 4; y < y0 + layout.height - 4; y++) for (let x = x0 + 4; x < x0 + layout.width - 4; x++) sum += stdout[y * width + x]!
    return sum / ((layout.width - 8) * (layout.height - 8))
  })
}

/** Thumbnails actually on a task's sheets: filled cells, which must all come before the black ones. */
const filledCells = async (outputDir: string, pictures: Pictures | undefined) => {
  const sheets = pictures?.storyboard?.sheets ?? []
  const cells = (await Promise.all(sheets.map((sheet) => cellBrightness(path.join(picturesFolder(outputDir), "storyboard", sheet))))).flat()
  const filled = cells.filter((mean) => mean > 24).length
  expect(cells.slice(filled).every((mean) => mean < 8), `cells after the ${filled} filled ones are black`).toBe(true)
  return filled
}

describe("pictures cut in the encode's own command", () => {
  it("two chunks cut one thumbnail per second between them, as many as their sheets hold, and the poster in its chunk", async () => {
    const first = await encodeChunk(chunk(0, 0, 8), false)
    const second = await encodeChunk(chunk(1, 8, 14), true)
    // 14 s at 29.97 fps: frames 0…419, thumbnails at 0 s … 13 s; chunk 2 starts with frame 240 (8.008 s).
    expect(first.pictures?.storyboard).toMatchObject({ first: 0, count: 8, sheets: ["c1-001.jpg", "c1-002.jpg"] })
    expect(second.pictures?.storyboard).toMatchObject({ first: 8, count: 6, sheets: ["c2-001.jpg"] })
    expect(await filledCells(first.outputDir, first.pictures)).toBe(8)
    expect(await filledCells(second.outputDir, second.pictures)).toBe(6)
    expect(first.pictures?.poster).toBeUndefined()
    expect(second.pictures?.poster).toBe("poster.jpg")
    const { stdout } = await run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", path.join(picturesFolder(second.outputDir), "poster.jpg")])
    expect(stdout.trim()).toBe("mjpeg,320,180")
  })

  it("a rung task cuts the whole video's thumbnails from the output frame grid", async () => {
    const outputDir = path.join(work, "rung")
    const event = await lastEvent(withFfmpeg((ffmpeg) =>
      ffmpeg.encodeVideo({
        input: clip, outputDir, rung, frameRate, segmentSeconds: 4, durationSeconds: 14, deinterlace: false,
        pictures: { storyboard: layout, poster, sheetPrefix: "r" }
      })))
    if (event?._tag !== "Finished") throw new Error("no track")
    expect(event.track.pictures?.storyboard).toMatchObject({ first: 0, count: 14, sheets: ["r-001.jpg", "r-002.jpg", "r-003.jpg"] })
    expect(await filledCells(outputDir, event.track.pictures)).toBe(14)
    expect(event.track.pictures?.poster).toBe("poster.jpg")
  })
})
