/**
 * Pictures for the player beside the video: a poster frame and a storyboard (scrub thumbnails).
 * Pure: no I/O. Both are cut from frames an encode already decodes (a chunk adds the thumbnails
 * of its own span), never by decoding the source again in a task of their own.
 *
 * The storyboard is sprite sheets of small thumbnails, one every `intervalSeconds`, and a WebVTT
 * file whose cue for each interval names a sheet and the thumbnail's region in it as a media
 * fragment, `sheet.jpg#xywh=x,y,w,h` (W3C Media Fragments URI 1.0, 4.2.1 "xywh" spatial
 * dimension): the format video.js, Plyr, JW Player and Shaka Player read for thumbnails.
 */
import { webVttTimestamp } from "./Captions.ts"
import { frameTime } from "./Chunking.ts"
import type { PosterSpec, StoryboardLayout, StoryboardPart } from "./Pictures.ts"
import { storyboardDirectory } from "./Pictures.ts"

/** Seconds between thumbnails: fine enough to scrub by, few enough to stay a small fraction of the bytes. */
export const defaultThumbnailInterval = 2
/** The longest side of a thumbnail, in pixels (the other follows the picture's shape, even). */
export const thumbnailLongestSide = 160
/** The longest side of the poster: enough for a player's frame before it starts. */
export const posterLongestSide = 1280
/** Thumbnails per row of a sheet, and at most this many rows. */
const sheetColumns = 10
const maxSheetRows = 10

const even = (value: number) => Math.max(2, 2 * Math.round(value / 2))

/** A picture of `width` x `height` scaled so its longest side is at most `longest`, even sides. */
export const fitWithin = (width: number, height: number, longest: number) => {
  const scale = Math.min(1, longest / Math.max(width, height))
  return { width: even(width * scale), height: even(height * scale) }
}

/** Thumbnails an encode of `[startSeconds, endSeconds)` cuts at most: sizes its sheets. */
const thumbnailsAtMost = (startSeconds: number, endSeconds: number, interval: number) =>
  Math.max(1, Math.ceil((endSeconds - startSeconds) / interval) + 1)

/** The layout for an encode of `[startSeconds, endSeconds)` of a video shown at `width` x `height`. */
export const storyboardLayoutFor = (width: number, height: number, startSeconds: number, endSeconds: number, intervalSeconds = defaultThumbnailInterval): StoryboardLayout => {
  const size = fitWithin(width, height, thumbnailLongestSide)
  const most = thumbnailsAtMost(startSeconds, endSeconds, intervalSeconds)
  return { intervalSeconds, ...size, columns: sheetColumns, rows: Math.min(maxSheetRows, Math.ceil(most / sheetColumns)) }
}

/** Where the poster is taken from: a quarter of the way in (past a black or titled opening), on the video's own frames. */
export const posterSpecFor = (width: number, height: number, durationSeconds: number): PosterSpec => ({
  atSeconds: Math.max(0, durationSeconds / 4),
  ...fitWithin(width, height, posterLongestSide)
})

/**
 * The thumbnail a frame at `seconds` is, if it is one: the first frame at or after each multiple
 * of the interval (a quarter of a frame's slack for rounding). `thumbnailSelect` in
 * layers/ffmpeg/arguments.ts is the same rule as an ffmpeg expression; they must agree.
 */
export const thumbnailAt = (seconds: number, intervalSeconds: number, frameRate: string): number | undefined => {
  const frame = frameTime(1, frameRate)
  const shifted = seconds + frame / 4
  const within = shifted - Math.floor(shifted / intervalSeconds) * intervalSeconds
  return within < frame ? Math.floor(shifted / intervalSeconds) : undefined
}

/** The thumbnails cut from frames `[firstFrame, firstFrame + frameCount)`: the first and how many. */
export const thumbnailsOfFrames = (firstFrame: number, frameCount: number, intervalSeconds: number, frameRate: string) => {
  let first: number | undefined
  let count = 0
  for (let n = firstFrame; n < firstFrame + frameCount; n++) {
    const k = thumbnailAt(frameTime(n, frameRate), intervalSeconds, frameRate)
    if (k === undefined) continue
    first ??= k
    count++
  }
  return { first: first ?? 0, count }
}

/** Sheets needed for `count` thumbnails. */
export const sheetsFor = (count: number, layout: Pick<StoryboardLayout, "columns" | "rows">) =>
  Math.ceil(count / (layout.columns * layout.rows))

/**
 * The storyboard's WebVTT: one cue per thumbnail, from its time to the next one's (the last to
 * the end of the video), naming its sheet (relative to the WebVTT file) and region. Fails when
 * the parts leave a thumbnail out or overlap.
 */
export const buildStoryboardVtt = (parts: ReadonlyArray<StoryboardPart>, durationSeconds: number): string | { readonly missing: number } => {
  const intervalSeconds = parts[0]?.intervalSeconds ?? 1
  if (parts.some((part) => part.intervalSeconds !== intervalSeconds)) return { missing: 0 }
  const ordered = [...parts].filter((part) => part.count > 0).sort((a, b) => a.first - b.first)
  const cues: Array<string> = []
  let next = 0
  for (const part of ordered) {
    if (part.first !== next) return { missing: next }
    for (let i = 0; i < part.count; i++) {
      const k = part.first + i
      const start = k * intervalSeconds
      if (start >= durationSeconds) break
      const perSheet = part.columns * part.rows
      const sheet = part.sheets[Math.floor(i / perSheet)]
      if (sheet === undefined) return { missing: k }
      const cell = i % perSheet
      const x = (cell % part.columns) * part.width
      const y = Math.floor(cell / part.columns) * part.height
      const end = Math.min(durationSeconds, start + intervalSeconds)
      cues.push(`${webVttTimestamp(start)} --> ${webVttTimestamp(end)}\n${storyboardDirectory}/${sheet}#xywh=${x},${y},${part.width},${part.height}`)
    }
    next = part.first + part.count
  }
  // Every interval that starts before the end has its thumbnail (the last may lack a frame of its own).
  if (Math.ceil(durationSeconds / intervalSeconds - 1e-9) - 1 > next) return { missing: next }
  return ["WEBVTT", "", ...cues.flatMap((cue) => [cue, ""])].join("\n")
}
