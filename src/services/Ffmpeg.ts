/**
 * The media tools: probing sources, encoding one DASH track or every rung of a chunk, and
 * making test clips.
 * Encodes are streams of events so callers can show progress; interrupting the stream
 * kills the child process.
 */
import type { Effect, Stream } from "effect"
import { Context } from "effect"
import type { ChunkSpan } from "../domain/Chunking.ts"
import type { FfmpegFailed, UnusableInput } from "../domain/Errors.ts"
import type { Rung } from "../domain/Ladder.ts"
import type { MediaProbe } from "../domain/Probe.ts"
import type { SourceCaption } from "../domain/Captions.ts"
import type { PosterSpec, StoryboardLayout } from "../domain/Pictures.ts"
import type { AudioEncoding } from "../domain/Task.ts"
import type { ChunkResult, Track } from "../domain/Track.ts"

/** Pictures an encode cuts from the frames it decodes anyway (domain/Storyboard.ts). */
export interface PictureRequest {
  readonly storyboard?: StoryboardLayout | undefined
  readonly poster?: PosterSpec | undefined
  /** Names this encode's sheets apart from other encodes' of the same job ("c0001" for chunk 1). */
  readonly sheetPrefix: string
}

export interface VideoEncodeSpec {
  readonly input: string
  readonly outputDir: string
  readonly rung: Rung
  readonly frameRate: string
  /** Run the deinterlacer (on frames flagged interlaced); false only for a source known progressive. */
  readonly deinterlace?: boolean | undefined
  readonly segmentSeconds: number
  /** Used to turn encoded time into a fraction for progress. */
  readonly durationSeconds: number
  readonly pictures?: PictureRequest | undefined
  /** Subtitle streams to extract as WebVTT into `captions/` of `outputDir` (the result's `captions`). */
  readonly captions?: ReadonlyArray<SourceCaption> | undefined
}

export interface AudioEncodeSpec {
  readonly input: string
  readonly outputDir: string
  readonly channels: number
  readonly sampleRate: number
  readonly bitrate: number
  readonly segmentSeconds: number
  readonly durationSeconds: number
  readonly captions?: ReadonlyArray<SourceCaption> | undefined
}

/** Every rung of one chunk of the source, from one decode (the chunk strategy). */
export interface ChunkEncodeSpec {
  readonly input: string
  /** Receives one folder per rung (named by the rung's id) holding the chunk's files under their final names. */
  readonly outputDir: string
  readonly rungs: ReadonlyArray<Rung>
  readonly frameRate: string
  /** As for a video task: false only for a source known progressive. */
  readonly deinterlace?: boolean | undefined
  /** Put frames on `frameRate`'s grid (the `fps` filter); false only for a source known to be on it already. */
  readonly retime?: boolean | undefined
  readonly segmentSeconds: number
  readonly chunk: ChunkSpan
  /** Also encode the whole audio track (into `audio/` of `outputDir`); the result's `audio`. */
  readonly audio?: AudioEncoding | undefined
  readonly pictures?: PictureRequest | undefined
  readonly captions?: ReadonlyArray<SourceCaption> | undefined
}

export type EncodeEvent =
  | { readonly _tag: "Progress"; readonly fraction: number; readonly speed: number | undefined }
  | { readonly _tag: "Finished"; readonly track: Track }
  | { readonly _tag: "ChunkFinished"; readonly result: ChunkResult }

export interface SampleSpec {
  readonly output: string
  readonly durationSeconds: number
  readonly width: number
  readonly height: number
  readonly frameRate?: string
  /** Number of audio channels; 0 for a clip without audio. */
  readonly audioChannels?: number
  readonly sampleRate?: number
}

export interface FfmpegShape {
  readonly probe: (input: string) => Effect.Effect<MediaProbe, UnusableInput | FfmpegFailed>
  readonly encodeVideo: (spec: VideoEncodeSpec) => Stream.Stream<EncodeEvent, FfmpegFailed>
  readonly encodeAudio: (spec: AudioEncodeSpec) => Stream.Stream<EncodeEvent, FfmpegFailed>
  /** Progress is the fraction of the chunk's span encoded; ends with `ChunkFinished`. */
  readonly encodeChunk: (spec: ChunkEncodeSpec) => Stream.Stream<EncodeEvent, FfmpegFailed>
  readonly makeSample: (spec: SampleSpec) => Effect.Effect<void, FfmpegFailed>
}

export class Ffmpeg extends Context.Service<Ffmpeg, FfmpegShape>()("vidpipe/Ffmpeg") {}
