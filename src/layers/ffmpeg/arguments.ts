/**
 * Command lines for ffprobe and ffmpeg. Pure, so the encoding rules can be read and tested
 * in one place: closed GOPs whose keyframes fall exactly on segment boundaries, the same for
 * every rung, so players can switch at any segment.
 */
import type { AudioEncodeSpec, SampleSpec, VideoEncodeSpec } from "../../services/Ffmpeg.ts"
import { frameRateValue } from "../../domain/Probe.ts"

export const trackManifestName = "track.mpd"
export const initName = "init.mp4"
export const mediaPattern = "seg-$Number%05d$.m4s"

export interface EncoderSettings {
  /** x264 preset: speed against compression. */
  readonly preset: string
  /** Constant rate factor; the rung's bitrate cap bounds it from above. */
  readonly crf: number
}

export const defaultEncoderSettings: EncoderSettings = { preset: "veryfast", crf: 21 }

const common = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y", "-progress", "pipe:1"]

const dashOutput = (segmentSeconds: number, outputDir: string) => [
  "-f", "dash",
  "-seg_duration", String(segmentSeconds),
  "-use_template", "1",
  "-use_timeline", "1",
  "-init_seg_name", initName,
  "-media_seg_name", mediaPattern,
  `${outputDir}/${trackManifestName}`
]

export const probeArguments = (input: string) => ["-v", "error", "-show_format", "-show_streams", "-of", "json", input]

export const videoArguments = (spec: VideoEncodeSpec, settings: EncoderSettings = defaultEncoderSettings) => {
  // A GOP never longer than a segment; forced keyframes put one exactly on every boundary.
  const gop = Math.max(1, Math.ceil(spec.segmentSeconds * frameRateValue(spec.frameRate)))
  const filters = [
    "bwdif=deint=interlaced", // only touches frames flagged interlaced
    `scale=${spec.rung.width}:${spec.rung.height}:flags=bicubic`,
    "setsar=1",
    "format=yuv420p" // 8-bit 4:2:0 plays everywhere; 10-bit or 4:2:2 sources are converted
  ]
  return [
    ...common,
    "-i", spec.input,
    "-map", "0:v:0", "-an", "-sn", "-dn",
    "-vf", filters.join(","),
    "-r", spec.frameRate, "-fps_mode", "cfr",
    "-c:v", "libx264", "-preset", settings.preset, "-profile:v", "high",
    "-crf", String(settings.crf),
    "-maxrate", String(spec.rung.maxBitrate), "-bufsize", String(spec.rung.maxBitrate * 2),
    "-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0",
    "-force_key_frames", `expr:gte(t,n_forced*${spec.segmentSeconds})`,
    "-x264-params", "open-gop=0",
    ...dashOutput(spec.segmentSeconds, spec.outputDir)
  ]
}

export const audioArguments = (spec: AudioEncodeSpec) => [
  ...common,
  "-i", spec.input,
  "-map", "0:a:0", "-vn", "-sn", "-dn",
  "-c:a", "aac", "-b:a", String(spec.bitrate), "-ac", String(spec.channels), "-ar", String(spec.sampleRate),
  ...dashOutput(spec.segmentSeconds, spec.outputDir)
]

/** A synthetic clip from lavfi sources: moving test pattern, optional tone. */
export const sampleArguments = (spec: SampleSpec) => {
  const rate = spec.frameRate ?? "30"
  const channels = spec.audioChannels ?? 2
  const sampleRate = spec.sampleRate ?? 48000
  const webm = spec.output.toLowerCase().endsWith(".webm")
  const audioInput = channels > 0
    ? ["-f", "lavfi", "-i", `sine=frequency=440:beep_factor=4:sample_rate=${sampleRate}:duration=${spec.durationSeconds}`]
    : []
  const audioCodec = channels > 0 ? (webm ? ["-c:a", "libopus"] : ["-c:a", "aac"]) : []
  return [
    "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `testsrc2=size=${spec.width}x${spec.height}:rate=${rate}:duration=${spec.durationSeconds}`,
    ...audioInput,
    ...(webm ? ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"] : ["-c:v", "libx264", "-preset", "veryfast"]),
    "-pix_fmt", "yuv420p",
    ...audioCodec,
    ...(channels > 0 ? ["-ac", String(channels), "-ar", String(sampleRate)] : []),
    "-t", String(spec.durationSeconds),
    spec.output
  ]
}
