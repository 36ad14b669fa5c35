/**
 * What ffprobe told us about a source, reduced to what planning and encoding need,
 * and the rules that decide whether a source is usable at all. Pure: no I/O.
 */
import { Result, Schema } from "effect"
import { UnusableInput } from "./Errors.ts"

export const VideoStreamInfo = Schema.Struct({
  codec: Schema.String,
  /** Coded size, as stored. */
  width: Schema.Int,
  height: Schema.Int,
  /** Size as shown to a viewer: sample aspect ratio and rotation applied. */
  displayWidth: Schema.Int,
  displayHeight: Schema.Int,
  rotation: Schema.Int,
  /** Output frame rate as a rational "num/den", snapped to a standard rate when close to one. */
  frameRate: Schema.String,
  pixelFormat: Schema.String,
  interlaced: Schema.Boolean,
  /**
   * ffprobe says the stream is progressive (`field_order=progressive`): no frame needs the
   * deinterlacer. Absent or false when it says interlaced, "unknown", or nothing.
   */
  progressive: Schema.optionalKey(Schema.Boolean),
  /**
   * Every frame already sits on `frameRate`'s grid from time 0 (a constant-rate stream whose
   * timestamps are exact multiples of a frame): no filter needs to retime it. Absent or false
   * when anything leaves that in doubt.
   */
  onFrameGrid: Schema.optionalKey(Schema.Boolean)
})
export type VideoStreamInfo = typeof VideoStreamInfo.Type

export const AudioStreamInfo = Schema.Struct({
  codec: Schema.String,
  channels: Schema.Int,
  sampleRate: Schema.Int
})
export type AudioStreamInfo = typeof AudioStreamInfo.Type

/** A subtitle stream, in the order of `0:s:N`; the language as the container tags it. */
export const SubtitleStreamInfo = Schema.Struct({
  codec: Schema.String,
  language: Schema.optionalKey(Schema.String)
})
export type SubtitleStreamInfo = typeof SubtitleStreamInfo.Type

export const MediaProbe = Schema.Struct({
  container: Schema.String,
  durationSeconds: Schema.Number,
  video: VideoStreamInfo,
  audio: Schema.NullOr(AudioStreamInfo),
  /** Absent when the source has none (and in probes recorded before subtitles were read). */
  subtitles: Schema.optionalKey(Schema.Array(SubtitleStreamInfo))
})
export type MediaProbe = typeof MediaProbe.Type

/** The subset of `ffprobe -show_format -show_streams -of json` we read. */
const FfprobeStream = Schema.Struct({
  codec_type: Schema.optional(Schema.String),
  codec_name: Schema.optional(Schema.String),
  width: Schema.optional(Schema.Number),
  height: Schema.optional(Schema.Number),
  sample_aspect_ratio: Schema.optional(Schema.String),
  avg_frame_rate: Schema.optional(Schema.String),
  r_frame_rate: Schema.optional(Schema.String),
  pix_fmt: Schema.optional(Schema.String),
  field_order: Schema.optional(Schema.String),
  channels: Schema.optional(Schema.Number),
  sample_rate: Schema.optional(Schema.String),
  duration: Schema.optional(Schema.String),
  start_time: Schema.optional(Schema.String),
  time_base: Schema.optional(Schema.String),
  nb_frames: Schema.optional(Schema.String),
  disposition: Schema.optional(Schema.Struct({ attached_pic: Schema.optional(Schema.Number) })),
  tags: Schema.optional(Schema.Record(Schema.String, Schema.String)),
  side_data_list: Schema.optional(Schema.Array(Schema.Struct({ rotation: Schema.optional(Schema.Number) })))
})
type FfprobeStream = typeof FfprobeStream.Type

export const FfprobeOutput = Schema.Struct({
  streams: Schema.optional(Schema.Array(FfprobeStream)),
  format: Schema.optional(Schema.Struct({
    format_name: Schema.optional(Schema.String),
    duration: Schema.optional(Schema.String)
  }))
})
export type FfprobeOutput = typeof FfprobeOutput.Type

// Containers and codecs that hold a still picture rather than a moving one.
const stillImageFormats = /(^|,)(image2|png_pipe|jpeg_pipe|webp_pipe|gif_pipe|bmp_pipe|tiff_pipe|svg_pipe)(,|$)/
const stillImageCodecs = new Set(["png", "bmp", "tiff", "webp", "svg", "jpegls"])

const standardRates: ReadonlyArray<readonly [number, string]> = [
  [24000 / 1001, "24000/1001"], [24, "24/1"], [25, "25/1"], [30000 / 1001, "30000/1001"], [30, "30/1"],
  [48, "48/1"], [50, "50/1"], [60000 / 1001, "60000/1001"], [60, "60/1"]
]
const maxFrameRate = 60

const parseRational = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined
  const [num, den = "1"] = text.split("/")
  const value = Number(num) / Number(den)
  return Number.isFinite(value) && value > 0 ? value : undefined
}

/**
 * Picks the rate we encode at. The average rate describes variable-frame-rate phone video better
 * than `r_frame_rate`; near-standard rates are snapped so every rung shares one clean timescale.
 */
export const chooseFrameRate = (avg: string | undefined, raw: string | undefined): string => {
  const candidates = [parseRational(avg), parseRational(raw)].filter((v): v is number => v !== undefined && v >= 1)
  const fps = Math.min(candidates[0] ?? 30, maxFrameRate)
  // Closest standard rate within 0.05% (29.97 and 30 are 0.1% apart and must stay distinct).
  const closest = [...standardRates].sort((a, b) => Math.abs(a[0] - fps) - Math.abs(b[0] - fps))[0]!
  if (Math.abs(closest[0] - fps) / closest[0] < 0.0005) return closest[1]
  return `${Math.round(fps * 1000)}/1000`
}

/** "num/den" in lowest terms, or undefined when it is not a positive rational. */
const reducedRational = (text: string | undefined): readonly [number, number] | undefined => {
  const [num, den = 1] = (text ?? "").split("/").map(Number)
  if (!Number.isSafeInteger(num) || !Number.isSafeInteger(den) || num! <= 0 || den <= 0) return undefined
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))
  const g = gcd(num!, den)
  return [num! / g, den / g]
}

/**
 * Whether the stream's frames already fall on `frameRate`'s grid from 0, so retiming them would
 * change nothing. Only a container that states it all says yes: both of ffprobe's rates equal to
 * the output rate, the stream starting at 0, a frame lasting a whole number of time-base ticks
 * (Matroska's 1 ms ticks cannot hold 1/30 s), and the frame count matching duration × rate.
 */
export const framesOnGrid = (stream: {
  readonly avg_frame_rate?: string | undefined
  readonly r_frame_rate?: string | undefined
  readonly start_time?: string | undefined
  readonly time_base?: string | undefined
  readonly nb_frames?: string | undefined
  readonly duration?: string | undefined
}, frameRate: string): boolean => {
  const rate = reducedRational(frameRate)
  const avg = reducedRational(stream.avg_frame_rate)
  const raw = reducedRational(stream.r_frame_rate)
  const tick = reducedRational(stream.time_base)
  const same = (a: readonly [number, number] | undefined) => a !== undefined && rate !== undefined && a[0] === rate[0] && a[1] === rate[1]
  if (!same(avg) || !same(raw) || tick === undefined || rate === undefined) return false
  if (stream.start_time === undefined || Number(stream.start_time) !== 0) return false
  // One frame in ticks: (rateDen / rateNum) / (tickNum / tickDen).
  if ((rate[1] * tick[1]) % (rate[0] * tick[0]) !== 0) return false
  const frames = Number(stream.nb_frames)
  const duration = Number(stream.duration)
  if (!Number.isInteger(frames) || frames <= 0 || !Number.isFinite(duration)) return false
  return Math.abs(frames - duration * rate[0] / rate[1]) < 0.5
}

export const frameRateValue = (rate: string): number => parseRational(rate) ?? 30

const rotationOf = (stream: FfprobeStream): number => {
  const fromSideData = stream.side_data_list?.find((d) => d.rotation !== undefined)?.rotation
  const raw = fromSideData ?? Number(stream.tags?.["rotate"] ?? 0)
  // Normalise to 0, 90, 180, 270 (ffprobe reports -90 for a phone held upright).
  return ((Math.round(raw / 90) * 90) % 360 + 360) % 360
}

const even = (value: number) => Math.max(2, 2 * Math.round(value / 2))

const displaySize = (stream: FfprobeStream, width: number, height: number, rotation: number) => {
  const sar = parseRational(stream.sample_aspect_ratio?.replace(":", "/"))
  const shownWidth = sar !== undefined && sar !== 1 ? width * sar : width
  const [w, h] = rotation % 180 === 90 ? [height, shownWidth] : [shownWidth, height]
  return { displayWidth: even(w), displayHeight: even(h) }
}

const unusable = (reason: string) => Result.fail(new UnusableInput({ reason }))

/** Turns ffprobe's report into a `MediaProbe`, or says in one sentence why the source is unusable. */
export const interpretProbe = (output: FfprobeOutput): Result.Result<MediaProbe, UnusableInput> => {
  const streams = output.streams ?? []
  const container = output.format?.format_name ?? "unknown"
  const video = streams.find((s) => s.codec_type === "video" && s.disposition?.attached_pic !== 1)
  const audio = streams.find((s) => s.codec_type === "audio")
  const subtitles = streams.filter((s) => s.codec_type === "subtitle").map((s): SubtitleStreamInfo => ({
    codec: s.codec_name ?? "unknown",
    ...(s.tags?.["language"] === undefined ? {} : { language: s.tags["language"] })
  }))
  if (video === undefined) {
    return unusable(audio ? "the file has audio but no video stream" : "the file has no video stream")
  }
  const codec = video.codec_name ?? "unknown"
  if (stillImageFormats.test(container) || stillImageCodecs.has(codec)) {
    return unusable(`the file is a still image (${codec}), not a video`)
  }
  const width = video.width ?? 0
  const height = video.height ?? 0
  if (width < 2 || height < 2) return unusable(`the video stream has no usable picture size (${width}x${height})`)
  const duration = parseRational(output.format?.duration) ?? parseRational(video.duration)
  if (duration === undefined) return unusable("the video has no duration (is it a single picture or a live stream?)")
  const rotation = rotationOf(video)
  const frameRate = chooseFrameRate(video.avg_frame_rate, video.r_frame_rate)
  return Result.succeed({
    container,
    durationSeconds: duration,
    video: {
      codec,
      width,
      height,
      ...displaySize(video, width, height, rotation),
      rotation,
      frameRate,
      pixelFormat: video.pix_fmt ?? "unknown",
      interlaced: video.field_order !== undefined && !["progressive", "unknown"].includes(video.field_order),
      progressive: video.field_order === "progressive",
      onFrameGrid: framesOnGrid(video, frameRate)
    },
    audio: audio === undefined ? null : {
      codec: audio.codec_name ?? "unknown",
      channels: audio.channels ?? 2,
      sampleRate: Number(audio.sample_rate ?? 48000) || 48000
    },
    ...(subtitles.length === 0 ? {} : { subtitles })
  })
}
