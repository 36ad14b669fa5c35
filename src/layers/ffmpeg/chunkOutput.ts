/**
 * Turns what one chunk's ffmpeg wrote (a muxer MPD and files per representation, numbered from 1)
 * into the chunk's share of the presentation: per rung, a folder with its segments under their
 * global numbers (and, for chunk 1 only, the init segment), checked against the plan — one
 * segment per boundary, each starting on the planned frame with the matching decode time — and
 * a `Track` carrying the init segment's codec fingerprint for the finalizer to compare.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Result } from "effect"
import { compactTimeline, frameTime, spanFrames } from "../../domain/Chunking.ts"
import { FfmpegFailed } from "../../domain/Errors.ts"
import type { Rung } from "../../domain/Ladder.ts"
import type { ChunkResult, Track } from "../../domain/Track.ts"
import { expandTimeline } from "../../domain/Track.ts"
import type { ChunkEncodeSpec } from "../../services/Ffmpeg.ts"
import { initName, mediaPattern, trackManifestName } from "./arguments.ts"
import { codecFingerprint } from "./fragments.ts"
import { placeSegment } from "./placeSegment.ts"
import type { WrittenRepresentation } from "./trackManifest.ts"
import { peakBandwidth, readRepresentations, segmentFileName, segmentNames } from "./trackManifest.ts"

const chunkName = (spec: ChunkEncodeSpec) => `chunk ${spec.chunk.index + 1}/${spec.chunk.count}`

const io = <A>(spec: ChunkEncodeSpec, what: string, run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    catch: (error) => new FfmpegFailed({ operation: `encode ${chunkName(spec)}`, reason: `${what}: ${String(error)}`, retryable: true })
  })

/** The output does not match the plan: the same command would do it again. */
const mismatch = (spec: ChunkEncodeSpec, reason: string) =>
  new FfmpegFailed({ operation: `encode ${chunkName(spec)}`, reason, retryable: false })

const rungTrack = Effect.fnUntraced(function*(spec: ChunkEncodeSpec, rung: Rung, written: WrittenRepresentation) {
  const frames = spanFrames(spec.chunk, spec.segmentSeconds, spec.frameRate)
  const last = spec.chunk.index === spec.chunk.count - 1
  const segments = expandTimeline(written.timeline)
  const expected = spec.chunk.segmentCount
  // Fewer segments: the video stream ends early (it may be shorter than the file); the finalizer
  // checks that no later chunk has video.
  if (segments.length === 0 || segments.length > expected) {
    return yield* mismatch(spec, `${rung.id}: ffmpeg cut ${segments.length} segment(s) where the chunk has ${expected}`)
  }
  const complete = !last && segments.length === expected
  const frameTicks = written.timescale * frameTime(1, spec.frameRate)
  const wrongStart = segments.findIndex((segment, i) => segment.start !== Math.round(frames.segmentStarts[i]! * frameTicks))
  if (wrongStart >= 0) {
    return yield* mismatch(spec, `${rung.id}: segment ${frames.firstNumber + wrongStart} starts at ${segments[wrongStart]!.start}/${written.timescale} s, planned frame ${frames.segmentStarts[wrongStart]}`)
  }

  const folder = path.join(spec.outputDir, rung.id)
  yield* io(spec, "create rung folder", () => fs.mkdir(folder, { recursive: true }))
  const sources = segmentNames(written)
  const names: Array<string> = []
  const sizes: Array<number> = []
  for (const [i, segment] of segments.entries()) {
    const number = frames.firstNumber + i
    const name = segmentFileName(mediaPattern, number)
    const placed = yield* io(spec, "place segment", () => placeSegment(path.join(spec.outputDir, sources[i]!), path.join(folder, name), number))
    if (placed.decodeTime !== segment.start) {
      return yield* mismatch(spec, `${rung.id}: segment ${number} has decode time ${placed.decodeTime}, its timeline says ${segment.start}`)
    }
    names.push(name)
    sizes.push(placed.size)
  }
  const init = yield* io(spec, "read init segment", () => fs.readFile(path.join(spec.outputDir, written.initialization)))
  const initDigest = codecFingerprint(init)
  if (initDigest === undefined) return yield* mismatch(spec, `${rung.id}: the init segment has no sample description`)
  // Every chunk's init is the same; the presentation keeps chunk 1's.
  const keepsInit = spec.chunk.index === 0
  if (keepsInit) yield* io(spec, "write init segment", () => fs.writeFile(path.join(folder, initName), init))
  const track: Track = {
    kind: "video",
    id: rung.id,
    codecs: written.codecs,
    bandwidth: peakBandwidth(segments, sizes, written.timescale, complete),
    timescale: written.timescale,
    startNumber: frames.firstNumber,
    timeline: compactTimeline(segments),
    initialization: initName,
    media: mediaPattern,
    files: [...(keepsInit ? [initName] : []), ...names],
    width: written.width ?? rung.width,
    height: written.height ?? rung.height,
    frameRate: spec.frameRate,
    initDigest
  }
  return track
})

export const collectChunk = Effect.fnUntraced(function*(spec: ChunkEncodeSpec) {
  const xml = yield* io(spec, "read muxer manifest", () => fs.readFile(path.join(spec.outputDir, trackManifestName), "utf8"))
  const written = readRepresentations(xml)
  if (Result.isFailure(written)) return yield* mismatch(spec, written.failure)
  const tracks = yield* Effect.forEach(spec.rungs, (rung, i) => {
    const representation = written.success.find((r) => r.id === String(i))
    return representation === undefined
      ? Effect.fail(mismatch(spec, `ffmpeg wrote no representation for ${rung.id}`))
      : rungTrack(spec, rung, representation)
  })
  const result: ChunkResult = { kind: "chunk", index: spec.chunk.index, tracks }
  return result
})
