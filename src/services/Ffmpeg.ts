/**
 * The media tools: probing sources, encoding one DASH track, and making test clips.
 * Encodes are streams of events so callers can show progress; interrupting the stream
 * kills the child process.
 */
import type { Effect, Stream } from "effect"
import { Context } from "effect"
import type { FfmpegFailed, UnusableInput } from "../domain/Errors.ts"
import type { Rung } from "../domain/Ladder.ts"
import type { MediaProbe } from "../domain/Probe.ts"
import type { Track } from "../domain/Track.ts"

export interface VideoEncodeSpec {
  readonly input: string
  readonly outputDir: string
  readonly rung: Rung
  readonly frameRate: string
  readonly segmentSeconds: number
  /** Used to turn encoded time into a fraction for progress. */
  readonly durationSeconds: number
}

export interface AudioEncodeSpec {
  readonly input: string
  readonly outputDir: string
  readonly channels: number
  readonly sampleRate: number
  readonly bitrate: number
  readonly segmentSeconds: number
  readonly durationSeconds: number
}

export type EncodeEvent =
  | { readonly _tag: "Progress"; readonly fraction: number; readonly speed: number | undefined }
  | { readonly _tag: "Finished"; readonly track: Track }

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
  readonly makeSample: (spec: SampleSpec) => Effect.Effect<void, FfmpegFailed>
}

export class Ffmpeg extends Context.Service<Ffmpeg, FfmpegShape>()("vidpipe/Ffmpeg") {}
