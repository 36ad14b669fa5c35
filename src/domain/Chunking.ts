/**
 * How a job's video is divided into tasks, and how chunked results become one presentation.
 * Pure: no I/O.
 *
 * - `rendition`: one task per rung (each decodes the whole source) plus one audio task.
 * - `chunk`: one task per time span whose boundaries are segment boundaries; each encodes every
 *   rung of its span from one decode. Audio stays one task. The finalizer stitches the chunks'
 *   segments into one timeline per rung (no re-encode).
 * - `auto`: `chunk` when the source holds at least `workers × minChunkSeconds` of whole segments
 *   (every worker gets at least one chunk of reasonable length), `rendition` otherwise.
 */
import { Result, Schema } from "effect"
import type { ChunkResult, Segment, TimelineEntry, Track } from "./Track.ts"
import { expandTimeline } from "./Track.ts"

export const Strategy = Schema.Literals(["rendition", "chunk", "auto"])
export type Strategy = typeof Strategy.Type

/** What `auto` resolves to. */
export const PlannedStrategy = Strategy.pick(["rendition", "chunk"])
export type PlannedStrategy = typeof PlannedStrategy.Type

/** One chunk: whole segments of the presentation, `[startSeconds, endSeconds)` of the source. */
export const ChunkSpan = Schema.Struct({
  /** 0-based position of the chunk in the job. */
  index: Schema.Int,
  /** How many chunks the job has. */
  count: Schema.Int,
  /** 0-based index of the chunk's first segment (its media number is `firstSegment + 1`). */
  firstSegment: Schema.Int,
  /** Segments the span covers (the last chunk's last one may be short, or absent if the video ends early). */
  segmentCount: Schema.Int,
  startSeconds: Schema.Number,
  /** The next chunk's start; the source's duration for the last chunk. */
  endSeconds: Schema.Number
})
export type ChunkSpan = typeof ChunkSpan.Type

export interface ChunkPolicy {
  /** Workers the job is planned for: chunks are sized so each gets at least one. */
  readonly workers: number
  /** Shortest chunk worth a task (rounded up to whole segments). */
  readonly minChunkSeconds: number
  /** Longest chunk (rounded down to whole segments): bounds the work a crash loses and keeps long sources spread out. */
  readonly maxChunkSeconds: number
}

export const defaultChunkPolicy: ChunkPolicy = { workers: 2, minChunkSeconds: 8, maxChunkSeconds: 32 }

// Tolerance for float noise in seconds × rate products (far below one frame or segment).
const epsilon = 1e-6

const wholeSegments = (durationSeconds: number, segmentSeconds: number) =>
  Math.max(1, Math.floor(durationSeconds / segmentSeconds + epsilon))

const segmentsPerChunkBounds = (segmentSeconds: number, policy: ChunkPolicy) => {
  const min = Math.max(1, Math.ceil(policy.minChunkSeconds / segmentSeconds - epsilon))
  return { min, max: Math.max(min, Math.floor(policy.maxChunkSeconds / segmentSeconds + epsilon)) }
}

/** `auto`'s rule: chunk when every worker can get a chunk of at least `minChunkSeconds` (in whole segments). */
export const resolveStrategy = (
  requested: Strategy,
  durationSeconds: number,
  segmentSeconds: number,
  policy: ChunkPolicy = defaultChunkPolicy
): PlannedStrategy => {
  if (requested !== "auto") return requested
  const whole = Math.floor(durationSeconds / segmentSeconds + epsilon)
  return whole >= Math.max(1, policy.workers) * segmentsPerChunkBounds(segmentSeconds, policy).min ? "chunk" : "rendition"
}

/**
 * Whether the audio track is encoded inside chunk 1's ffmpeg instead of by a task of its own.
 * With one worker every task runs one after another, so a separate audio task only adds its
 * own decode and a second ffmpeg to the wall time (one ffmpeg muxes audio beside the video
 * encode for almost nothing); with more workers it is one more task to run in parallel.
 */
export const audioRidesWithFirstChunk = (policy: Pick<ChunkPolicy, "workers">) => policy.workers <= 1

/**
 * Splits a source into chunks of whole segments: about one chunk per worker, each between
 * `minChunkSeconds` and `maxChunkSeconds`, evened out so the last is not a sliver. A trailing
 * partial segment belongs to the last chunk, so every chunk starts at least one segment before
 * the end of the source.
 */
export const planChunks = (
  durationSeconds: number,
  segmentSeconds: number,
  policy: ChunkPolicy = defaultChunkPolicy
): ReadonlyArray<ChunkSpan> => {
  const whole = wholeSegments(durationSeconds, segmentSeconds)
  const bounds = segmentsPerChunkBounds(segmentSeconds, policy)
  const wanted = Math.min(bounds.max, Math.max(bounds.min, Math.ceil(whole / Math.max(1, policy.workers))))
  const even = Math.ceil(whole / Math.ceil(whole / wanted))
  const count = Math.ceil(whole / even)
  return Array.from({ length: count }, (_, index): ChunkSpan => {
    const firstSegment = index * even
    const startSeconds = firstSegment * segmentSeconds
    const last = index === count - 1
    const endSeconds = last ? durationSeconds : (firstSegment + even) * segmentSeconds
    const segmentCount = last ? Math.max(1, Math.ceil((endSeconds - startSeconds) / segmentSeconds - epsilon)) : even
    return { index, count, firstSegment, segmentCount, startSeconds, endSeconds }
  })
}

const rationalOf = (rate: string): { readonly num: number; readonly den: number } => {
  const [num = "30", den = "1"] = rate.split("/")
  const n = Number(num)
  const d = Number(den)
  return Number.isFinite(n) && Number.isFinite(d) && n > 0 && d > 0 ? { num: n, den: d } : { num: 30, den: 1 }
}

/** The first frame at or after `seconds` on the output frame grid (the rule forced keyframes follow). */
export const frameAtOrAfter = (seconds: number, frameRate: string) => {
  const { den, num } = rationalOf(frameRate)
  return Math.max(0, Math.ceil((seconds * num) / den - epsilon))
}

/** Seconds of frame `index` on the output frame grid. */
export const frameTime = (index: number, frameRate: string) => {
  const { den, num } = rationalOf(frameRate)
  return (index * den) / num
}

export interface SpanFrames {
  /** First output frame of the chunk (global index). */
  readonly startFrame: number
  /** Frames the chunk encodes; undefined for the last chunk, which runs to the end of the video. */
  readonly frameCount: number | undefined
  /** Global frame index of every segment start in the chunk, the first included. */
  readonly segmentStarts: ReadonlyArray<number>
  /** Media number of the chunk's first segment. */
  readonly firstNumber: number
}

/** The frames of a chunk: which to encode and where its keyframes (segment starts) fall. */
export const spanFrames = (span: ChunkSpan, segmentSeconds: number, frameRate: string): SpanFrames => {
  const last = span.index === span.count - 1
  const startFrame = frameAtOrAfter(span.startSeconds, frameRate)
  const segmentStarts = Array.from({ length: span.segmentCount }, (_, i) => frameAtOrAfter((span.firstSegment + i) * segmentSeconds, frameRate))
  return {
    startFrame,
    frameCount: last ? undefined : frameAtOrAfter(span.endSeconds, frameRate) - startFrame,
    segmentStarts,
    firstNumber: span.firstSegment + 1
  }
}

const clock = (seconds: number) => {
  const total = Math.max(0, Math.round(seconds))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  const two = (n: number) => String(n).padStart(2, "0")
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`
}

/** "chunk 3/10 00:30–00:40" */
export const chunkLabel = (span: ChunkSpan) =>
  `chunk ${span.index + 1}/${span.count} ${clock(Math.floor(span.startSeconds))}–${clock(span.endSeconds)}`

/** A SegmentTimeline for consecutive segments: `t` on the first (and after any gap), runs folded into `r`. */
export const compactTimeline = (segments: ReadonlyArray<Segment>): ReadonlyArray<TimelineEntry> => {
  const entries: Array<{ t?: number; d: number; r?: number }> = []
  let end: number | undefined
  for (const segment of segments) {
    const previous = entries.at(-1)
    const continuous = end === segment.start
    if (previous !== undefined && continuous && previous.d === segment.duration) {
      previous.r = (previous.r ?? 0) + 1
    } else {
      entries.push({ ...(continuous ? {} : { t: segment.start }), d: segment.duration })
    }
    end = segment.start + segment.duration
  }
  return entries
}

/**
 * Joins the chunks of a job into one track per rung: the chunks must all be there, cover the
 * timeline without gap or overlap, number their segments consecutively and share the codec
 * configuration of chunk 1's init segment (which the presentation uses for every chunk). Only
 * trailing chunks may be empty (the video stream ended before them).
 * `@bandwidth` is the peak over the chunks, leaving out a last chunk whose only segment is the
 * presentation's (possibly short) last one, as a single encode would.
 */
export const stitchChunks = (chunks: ReadonlyArray<Pick<ChunkResult, "index" | "tracks">>, expectedCount: number): Result.Result<ReadonlyArray<Track>, string> => {
  const all = [...chunks].sort((a, b) => a.index - b.index)
  if (all.length !== expectedCount || all.some((chunk, i) => chunk.index !== i)) {
    return Result.fail(`expected chunks 1..${expectedCount}, have ${all.map((c) => c.index + 1).join(", ") || "none"}`)
  }
  // Chunks past the end of a video stream shorter than the file have no tracks; only those may.
  const withVideo = all.findLastIndex((chunk) => chunk.tracks.length > 0)
  const ordered = all.slice(0, withVideo + 1)
  const hollow = ordered.findIndex((chunk) => chunk.tracks.length === 0)
  if (ordered.length === 0) return Result.fail("no chunk has video")
  if (hollow >= 0) return Result.fail(`chunk ${hollow + 1} has no video, but chunk ${withVideo + 1} does`)
  const first = ordered[0]!
  const stitched: Array<Track> = []
  for (const reference of first.tracks) {
    const parts = ordered.map((chunk) => chunk.tracks.find((t) => t.id === reference.id))
    const missing = parts.findIndex((t) => t === undefined)
    if (missing >= 0) return Result.fail(`chunk ${missing + 1} has no ${reference.id} rendition`)
    const tracks = parts as ReadonlyArray<Track>
    const segments: Array<Segment> = []
    const files: Array<string> = []
    let bandwidth = 0
    for (const [i, track] of tracks.entries()) {
      const own = expandTimeline(track.timeline)
      const where = `chunk ${i + 1} of ${reference.id}`
      if (track.timescale !== reference.timescale) return Result.fail(`${where}: timescale ${track.timescale}, chunk 1 has ${reference.timescale}`)
      if (track.codecs !== reference.codecs || track.initDigest !== reference.initDigest) {
        return Result.fail(`${where}: codec configuration differs from chunk 1 (${track.codecs} vs ${reference.codecs}); its segments cannot share one init segment`)
      }
      if (track.width !== reference.width || track.height !== reference.height) return Result.fail(`${where}: size differs from chunk 1`)
      const end = segments.at(-1)
      const expectedStart = end === undefined ? own[0]?.start : end.start + end.duration
      if (own.length === 0) return Result.fail(`${where}: no segments`)
      if (own[0]!.start !== expectedStart) return Result.fail(`${where}: starts at ${own[0]!.start}, the previous chunk ends at ${expectedStart} (timescale ${track.timescale})`)
      if (track.startNumber !== segments.length + reference.startNumber) {
        return Result.fail(`${where}: first segment is number ${track.startNumber}, expected ${segments.length + reference.startNumber}`)
      }
      segments.push(...own)
      files.push(...track.files)
      const soleLastSegment = i === tracks.length - 1 && i > 0 && own.length === 1
      if (!soleLastSegment) bandwidth = Math.max(bandwidth, track.bandwidth)
    }
    if (!files.includes(reference.initialization)) return Result.fail(`chunk 1 of ${reference.id} did not store ${reference.initialization}`)
    stitched.push({ ...reference, bandwidth, timeline: compactTimeline(segments), files })
  }
  return Result.succeed(stitched)
}
