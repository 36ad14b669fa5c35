/**
 * The adaptive-bitrate ladder: which sizes to encode, never larger than the source.
 * A rung is named by its short side ("720p"), so a portrait phone clip gets the same tiers
 * as its landscape twin. Pure: no I/O.
 */
import { Schema } from "effect"
import type { MediaProbe } from "./Probe.ts"
import { frameRateValue } from "./Probe.ts"

export const Rung = Schema.Struct({
  id: Schema.String,
  width: Schema.Int,
  height: Schema.Int,
  /** Peak bitrate cap in bits per second (capped-CRF encoding). */
  maxBitrate: Schema.Int
})
export type Rung = typeof Rung.Type

export const defaultLadder: ReadonlyArray<number> = [1080, 720, 480, 360]

const evenFloor = (value: number) => Math.max(2, Math.floor(value / 2) * 2)
const evenRound = (value: number) => Math.max(2, Math.round(value / 2) * 2)

/**
 * Bitrate cap grows sub-linearly with pixels (5 Mb/s at 1080p), and by half again above 30 fps.
 */
export const bitrateFor = (width: number, height: number, frameRate: number): number => {
  const scale = Math.pow((width * height) / (1920 * 1080), 0.75)
  const motion = frameRate > 31 ? 1.5 : 1
  const kbps = Math.max(200, Math.round((5000 * scale * motion) / 50) * 50)
  return kbps * 1000
}

/** Size of a rung whose short side is `shortSide`, keeping the source's display aspect ratio. */
const sizeFor = (shortSide: number, sourceWidth: number, sourceHeight: number) => {
  const landscape = sourceWidth >= sourceHeight
  const longSide = (shortSide * (landscape ? sourceWidth / sourceHeight : sourceHeight / sourceWidth))
  const [width, height] = landscape ? [evenRound(longSide), shortSide] : [shortSide, evenRound(longSide)]
  // Rounding to even must never push a rung past the source.
  return { width: Math.min(width, evenFloor(sourceWidth)), height: Math.min(height, evenFloor(sourceHeight)) }
}

/**
 * Plans the rungs for a source: every requested short side that does not exceed the source's,
 * largest first; a source smaller than every requested rung gets one rung at its own size.
 */
export const planLadder = (probe: MediaProbe, requested: ReadonlyArray<number> = defaultLadder): ReadonlyArray<Rung> => {
  const { displayWidth, displayHeight } = probe.video
  const fps = frameRateValue(probe.video.frameRate)
  const sourceShort = Math.min(displayWidth, displayHeight)
  const shortSides = [...new Set(requested.map(evenFloor))].filter((s) => s <= sourceShort).sort((a, b) => b - a)
  const chosen = shortSides.length > 0 ? shortSides : [evenFloor(sourceShort)]
  return chosen.map((shortSide) => {
    const { width, height } = sizeFor(shortSide, displayWidth, displayHeight)
    return { id: `${shortSide}p`, width, height, maxBitrate: bitrateFor(width, height, fps) }
  })
}

/** Parses "1080,720,480" into short sides; undefined when the text is not a list of sizes. */
export const parseLadder = (text: string): ReadonlyArray<number> | undefined => {
  const values = text.split(",").map((part) => Number(part.trim().replace(/p$/i, "")))
  return values.length > 0 && values.every((v) => Number.isInteger(v) && v >= 16 && v <= 4320) ? values : undefined
}
