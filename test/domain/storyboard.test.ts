/**
 * Storyboard rules (src/domain/Storyboard.ts): which frame is each thumbnail, how chunks' parts
 * join into one WebVTT of `#xywh` regions, and the sizes of thumbnails and poster. The same
 * selection run by ffmpeg is checked against real sheets in test/layers/ffmpeg/pictures.test.ts.
 */
import { describe, expect, it } from "vitest"
import type { StoryboardPart } from "../../src/domain/Pictures.ts"
import { buildStoryboardVtt, fitWithin, sheetsFor, storyboardLayoutFor, thumbnailAt, thumbnailsOfFrames } from "../../src/domain/Storyboard.ts"

describe("thumbnail selection", () => {
  it("takes the first frame at or after each multiple of the interval, at integer and NTSC rates", () => {
    expect([0, 1, 59, 60, 61, 120].map((n) => thumbnailAt(n / 30, 2, "30"))).toEqual([0, undefined, undefined, 1, undefined, 2])
    // 29.97 fps: 2 s falls between frames 59 (1.968 s) and 60 (2.002 s); frame 60 is thumbnail 1.
    const ntsc = (n: number) => (n * 1001) / 30000
    expect(thumbnailAt(ntsc(59), 2, "30000/1001")).toBeUndefined()
    expect(thumbnailAt(ntsc(60), 2, "30000/1001")).toBe(1)
    expect(thumbnailAt(ntsc(61), 2, "30000/1001")).toBeUndefined()
  })

  it("counts one thumbnail per interval over any span of frames, so chunks' parts meet without gap or overlap", () => {
    const rate = "30000/1001"
    // 60 s of frames cut at chunk boundaries of 4-second segments (frames 120, 360, ...).
    const whole = thumbnailsOfFrames(0, 1798, 2, rate)
    const cuts = [0, 120, 480, 960, 1798]
    const parts = cuts.slice(0, -1).map((start, i) => thumbnailsOfFrames(start, cuts[i + 1]! - start, 2, rate))
    expect(whole).toEqual({ first: 0, count: 30 })
    // Frame 959 (31.998 s) is within the quarter frame of slack before 32 s: thumbnail 16.
    expect(parts.map((p) => p.first)).toEqual([0, 2, 8, 17])
    expect(parts.reduce((sum, p) => sum + p.count, 0)).toBe(30)
    parts.slice(1).forEach((part, i) => expect(part.first).toBe(parts[i]!.first + parts[i]!.count))
  })
})

describe("storyboard WebVTT", () => {
  const part = (first: number, count: number, sheets: ReadonlyArray<string>): StoryboardPart => ({
    intervalSeconds: 2, width: 160, height: 90, columns: 10, rows: 1, first, count, sheets
  })

  it("maps each interval to its sheet and region, across parts and sheets, the last cue ending with the video", () => {
    const vtt = buildStoryboardVtt([part(12, 2, ["c0002-001.jpg"]), part(0, 12, ["c0001-001.jpg", "c0001-002.jpg"])], 27.5)
    expect(typeof vtt).toBe("string")
    const text = vtt as string
    expect(text.startsWith("WEBVTT\n\n")).toBe(true)
    const cues = text.trim().split("\n\n").slice(1)
    expect(cues).toHaveLength(14)
    expect(cues[0]).toBe("00:00:00.000 --> 00:00:02.000\nstoryboard/c0001-001.jpg#xywh=0,0,160,90")
    expect(cues[9]).toBe("00:00:18.000 --> 00:00:20.000\nstoryboard/c0001-001.jpg#xywh=1440,0,160,90")
    expect(cues[10]).toBe("00:00:20.000 --> 00:00:22.000\nstoryboard/c0001-002.jpg#xywh=0,0,160,90")
    expect(cues[13]).toBe("00:00:26.000 --> 00:00:27.500\nstoryboard/c0002-001.jpg#xywh=160,0,160,90")
  })

  it("refuses parts that leave thumbnails out", () => {
    expect(buildStoryboardVtt([part(0, 5, ["a.jpg"]), part(6, 4, ["b.jpg"])], 20)).toEqual({ missing: 5 })
    expect(buildStoryboardVtt([part(0, 5, ["a.jpg"])], 20)).toEqual({ missing: 5 })
    expect(buildStoryboardVtt([part(0, 12, ["a.jpg"])], 24)).toEqual({ missing: 10 })
  })
})

describe("picture sizes", () => {
  it("fits thumbnails and posters in their box with even sides, never enlarging", () => {
    expect(fitWithin(1920, 1080, 160)).toEqual({ width: 160, height: 90 })
    expect(fitWithin(1080, 1920, 160)).toEqual({ width: 90, height: 160 })
    expect(fitWithin(640, 360, 1280)).toEqual({ width: 640, height: 360 })
    expect(storyboardLayoutFor(1280, 720, 0, 32)).toMatchObject({ width: 160, height: 90, columns: 10, rows: 2 })
    expect(sheetsFor(17, { columns: 10, rows: 1 })).toBe(2)
  })
})
