/**
 * Command lines for ffprobe and ffmpeg. Pure, so the encoding rules can be read and tested
 * in one place: closed GOPs whose keyframes fall exactly on segment boundaries, the same for
 * every rung, so players can switch at any segment. The x264 settings, picture filters and
 * bitrate caps are shared by the three ways of encoding a ladder: one task per rung
 * (`videoArguments`), one task per chunk of time (`chunkArguments`), and the single raw ffmpeg
 * command that produces the whole ladder (`ladderCommandArguments`, the benchmark's reference).
 */
import type { Rung } from "../../domain/Ladder.ts"
import type { AudioEncoding } from "../../domain/Task.ts"
import { audioDirectory } from "../../domain/Task.ts"
import type { AudioEncodeSpec, ChunkEncodeSpec, PictureRequest, SampleSpec, VideoEncodeSpec } from "../../services/Ffmpeg.ts"
import { frameTime, spanFrames } from "../../domain/Chunking.ts"
import { frameRateValue } from "../../domain/Probe.ts"
import type { SourceCaption } from "../../domain/Captions.ts"
import { captionsDirectory, embeddedCaptionFile } from "../../domain/Captions.ts"
import { picturesDirectory, posterName, storyboardDirectory } from "../../domain/Pictures.ts"

export const trackManifestName = "track.mpd"
export const initName = "init.mp4"
export const mediaPattern = "seg-$Number%05d$.m4s"
/** What a multi-rung encode names its files (one set per representation id: 0, 1, … in rung order). */
export const ladderInitName = "init-$RepresentationID$.mp4"
export const ladderMediaPattern = "seg-$RepresentationID$-$Number%05d$.m4s"

export interface EncoderSettings {
  /** x264 preset: speed against compression. */
  readonly preset: string
  /** Constant rate factor; the rung's bitrate cap bounds it from above. */
  readonly crf: number
}

export const defaultEncoderSettings: EncoderSettings = { preset: "veryfast", crf: 21 }

const common = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y", "-progress", "pipe:1"]

const dashOutput = (options: {
  readonly segmentSeconds: number
  readonly path: string
  readonly initName?: string
  readonly mediaName?: string
  readonly extra?: ReadonlyArray<string>
}) => [
  "-f", "dash",
  "-seg_duration", String(options.segmentSeconds),
  "-use_template", "1",
  "-use_timeline", "1",
  "-init_seg_name", options.initName ?? initName,
  "-media_seg_name", options.mediaName ?? mediaPattern,
  ...(options.extra ?? []),
  options.path
]

export const probeArguments = (input: string) => ["-v", "error", "-show_format", "-show_streams", "-of", "json", input]

/** Only touches frames flagged interlaced, but still costs a pass over every frame: absent when not needed. */
const deinterlacer = (wanted: boolean | undefined) => (wanted === false ? [] : ["bwdif=deint=interlaced"])

/** One rung's picture: its size, square pixels, 8-bit 4:2:0 (plays everywhere; 10-bit or 4:2:2 sources are converted). */
const rungFilters = (rung: Rung) => [`scale=${rung.width}:${rung.height}:flags=bicubic`, "setsar=1", "format=yuv420p"]

/**
 * libx264 for every video stream of an output: High profile, capped CRF, and a GOP never longer
 * than a segment, closed, with no scene-cut keyframes (forced ones put a keyframe on every boundary).
 */
export const x264Arguments = (frameRate: string, segmentSeconds: number, settings: EncoderSettings = defaultEncoderSettings) => {
  const gop = String(Math.max(1, Math.ceil(segmentSeconds * frameRateValue(frameRate))))
  return [
    "-c:v", "libx264", "-preset", settings.preset, "-profile:v", "high",
    "-crf", String(settings.crf),
    "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
    "-x264-params", "open-gop=0"
  ]
}

/** The rung's peak bitrate cap; `stream` picks one video stream of a multi-rung output. */
const rateCap = (rung: Rung, stream?: number) => {
  const of = stream === undefined ? "" : `:v:${stream}`
  return [`-maxrate${of}`, String(rung.maxBitrate), `-bufsize${of}`, String(rung.maxBitrate * 2)]
}

/** A continuous encode: a keyframe on the first frame at or after every segment boundary. */
const boundaryKeyframes = (segmentSeconds: number) => ["-force_key_frames", `expr:gte(t,n_forced*${segmentSeconds})`]

/** Where an encode writes its pictures in its work folder: the sheets in `storyboard/`, the poster beside them. */
export const picturesFolder = (outputDir: string) => `${outputDir}/${picturesDirectory}`

/**
 * `thumbnailAt` of domain/Storyboard.ts as an ffmpeg `select` expression over the frame's time
 * (seconds on the presentation's timeline): the first frame at or after each multiple of the
 * interval, with a quarter of a frame's slack for rounding.
 */
export const thumbnailSelect = (intervalSeconds: number, frameRate: string) => {
  const frame = frameTime(1, frameRate)
  return `lt(mod(t+${(frame / 4).toFixed(9)},${intervalSeconds}),${frame.toFixed(9)})`
}

/**
 * The picture branches of a graph, fed by the `[sb]` (storyboard) and `[po]` (poster) outputs of
 * the graph's split: thumbnails scaled and tiled into sheets; for the poster, the frame of the
 * second at `atSeconds` whose colours are closest to that second's average (ffmpeg's `thumbnail`
 * filter: not a flash or a black frame of a cut).
 */
const pictureGraph = (pictures: PictureRequest | undefined, frameRate: string) => {
  const storyboard = pictures?.storyboard
  const poster = pictures?.poster
  return {
    labels: [...(storyboard === undefined ? [] : ["[sb]"]), ...(poster === undefined ? [] : ["[po]"])],
    chains: [
      ...(storyboard === undefined ? [] : [
        `[sb]select='${thumbnailSelect(storyboard.intervalSeconds, frameRate)}',scale=${storyboard.width}:${storyboard.height}:flags=bicubic,setsar=1,` +
        `tile=${storyboard.columns}x${storyboard.rows}[sheets]`
      ]),
      ...(poster === undefined ? [] : [
        `[po]select='between(t,${seconds(poster.atSeconds)},${seconds(poster.atSeconds + 1)})',scale=${poster.width}:${poster.height}:flags=bicubic,setsar=1,` +
        `thumbnail=n=${Math.ceil(frameRateValue(frameRate)) + 1}[poster]`
      ])
    ]
  }
}

/** The outputs of `pictureGraph`: JPEG sheets numbered from 1, and the poster (its one frame). */
const pictureOutputs = (pictures: PictureRequest | undefined, outputDir: string) => {
  const folder = picturesFolder(outputDir)
  const jpeg = (quality: number) => ["-fps_mode", "passthrough", "-c:v", "mjpeg", "-q:v", String(quality), "-f", "image2"]
  return [
    ...(pictures?.storyboard === undefined ? [] : [
      "-map", "[sheets]", ...jpeg(5), "-start_number", "1", `${folder}/${storyboardDirectory}/${pictures.sheetPrefix}-%03d.jpg`
    ]),
    ...(pictures?.poster === undefined ? [] : ["-map", "[poster]", ...jpeg(3), "-frames:v", "1", "-update", "1", `${folder}/${posterName}`])
  ]
}

/** Where an encode writes the subtitle streams it extracts, in its work folder. */
export const captionsFolder = (outputDir: string) => `${outputDir}/${captionsDirectory}`

/** Each subtitle stream of input `input` (an uncut opening of the source) as a WebVTT file: ffmpeg converts the text formats. */
const captionOutputs = (captions: ReadonlyArray<SourceCaption> | undefined, input: number, outputDir: string) =>
  (captions ?? []).flatMap((caption) => [
    "-map", `${input}:s:${caption.stream}`, "-c:s", "webvtt", "-f", "webvtt", `${captionsFolder(outputDir)}/${embeddedCaptionFile(caption.stream)}`
  ])

/** One rung's video input: the source's stream as is, or, with pictures, a split of it feeding them too. */
const rungInput = (spec: VideoEncodeSpec) => {
  const filters = [...deinterlacer(spec.deinterlace), ...rungFilters(spec.rung)]
  const pictures = pictureGraph(spec.pictures, spec.frameRate)
  if (pictures.labels.length === 0) return ["-map", "0:v:0", "-vf", filters.join(",")]
  // The rung is put on the output grid by `-r` after the graph; the pictures take their frames
  // from the same grid (the `fps` filter) so that they are the frames `thumbnailAt` counts.
  const head = [...deinterlacer(spec.deinterlace), "split=2"].join(",")
  const graph = [
    `[0:v:0]${head}[r][px]`,
    `[r]${rungFilters(spec.rung).join(",")}[v]`,
    `[px]fps=fps=${spec.frameRate},split=${pictures.labels.length}${pictures.labels.join("")}`,
    ...pictures.chains
  ].join(";")
  return ["-filter_complex", graph, "-map", "[v]"]
}

export const videoArguments = (spec: VideoEncodeSpec, settings: EncoderSettings = defaultEncoderSettings) => [
  ...common,
  "-i", spec.input,
  ...rungInput(spec),
  "-an", "-sn", "-dn",
  "-r", spec.frameRate, "-fps_mode", "cfr",
  ...x264Arguments(spec.frameRate, spec.segmentSeconds, settings),
  ...rateCap(spec.rung),
  ...boundaryKeyframes(spec.segmentSeconds),
  // The muxer cuts at a keyframe once a segment lasts `-seg_duration`; at 29.97 fps some GOPs are
  // a frame short of 4 s (119 frames), so ask for half a segment: it then cuts at every keyframe,
  // and keyframes are only ever on boundaries (no GOP is longer than a segment).
  ...dashOutput({ segmentSeconds: spec.segmentSeconds / 2, path: `${spec.outputDir}/${trackManifestName}` }),
  ...pictureOutputs(spec.pictures, spec.outputDir),
  ...captionOutputs(spec.captions, 0, spec.outputDir)
]

const aacArguments = (audio: AudioEncoding) => [
  "-c:a", "aac", "-b:a", String(audio.bitrate), "-ac", String(audio.channels), "-ar", String(audio.sampleRate)
]

/** One output holding the audio track as DASH, in `folder`: what the audio task writes, and what chunk 1 adds when audio rides with it. */
const audioTrackOutput = (audio: AudioEncoding, stream: string, segmentSeconds: number, folder: string) => [
  "-map", stream,
  ...aacArguments(audio),
  ...dashOutput({ segmentSeconds, path: `${folder}/${trackManifestName}` })
]

export const audioArguments = (spec: AudioEncodeSpec) => [
  ...common,
  "-i", spec.input,
  ...audioTrackOutput(spec, "0:a:0", spec.segmentSeconds, spec.outputDir),
  ...captionOutputs(spec.captions, 0, spec.outputDir)
]

/** Where chunk 1 writes the audio track that rides with it (a folder beside the rungs' folders). */
export const chunkAudioFolder = (outputDir: string) => `${outputDir}/${audioDirectory}`

const seconds = (value: number) => Math.max(0, value).toFixed(6)

/**
 * Frames on the output rate's grid from the window's first frame: duplicates or drops frames of a
 * variable-rate or off-grid source. Costs a pass over every frame on the decoding thread, so it is
 * left out when the source is known to be on the grid already (`retime` false): then the exact
 * seek and `trim` alone cut the window, and the frames keep their own, already exact, times.
 */
const retimer = (wanted: boolean | undefined, frameRate: string, startSeconds: number) =>
  wanted === false ? [] : [`fps=fps=${frameRate}:start_time=${seconds(startSeconds)}`]

/**
 * One decode feeding every rung: constant frame rate on the source's time grid, optionally a
 * window of it, then `split` into one scaler per rung. Outputs `[v0]`, `[v1]`, … in rung order.
 */
const ladderGraph = (rungs: ReadonlyArray<Rung>, frameRate: string, filters: {
  readonly deinterlace?: boolean | undefined
  readonly retime?: boolean | undefined
  readonly pictures?: PictureRequest | undefined
}, window?: {
  /** The input was opened with `-ss seek`: frames are put back on the source's timeline. */
  readonly seekSeconds: number
  readonly startFrame: number
  readonly frameCount: number | undefined
}) => {
  const pictures = pictureGraph(filters.pictures, frameRate)
  const head = [
    ...(window !== undefined && window.seekSeconds > 0 ? [`setpts=PTS+${seconds(window.seekSeconds)}/TB`] : []),
    ...deinterlacer(filters.deinterlace),
    ...retimer(filters.retime, frameRate, window === undefined ? 0 : frameTime(window.startFrame, frameRate)),
    ...(window?.frameCount === undefined ? [] : [`trim=end_frame=${window.frameCount}`]),
    `split=${rungs.length + pictures.labels.length}`
  ].join(",")
  const branches = rungs.map((rung, i) => `[s${i}]${rungFilters(rung).join(",")}[v${i}]`)
  return [`[0:v:0]${head}${rungs.map((_, i) => `[s${i}]`).join("")}${pictures.labels.join("")}`, ...branches, ...pictures.chains].join(";")
}

const ladderVideoOutputs = (rungs: ReadonlyArray<Rung>, frameRate: string, segmentSeconds: number, settings: EncoderSettings) => [
  ...rungs.flatMap((_, i) => ["-map", `[v${i}]`]),
  // The graph already made the frame rate constant; keep its timestamps as they are.
  "-fps_mode", "passthrough",
  ...x264Arguments(frameRate, segmentSeconds, settings),
  ...rungs.flatMap((rung, i) => rateCap(rung, i))
]

/**
 * One chunk: every rung of frames `[startFrame, startFrame + frameCount)` of the source, from one
 * decode. The input is opened half a frame before the chunk's first frame (an exact seek: frames
 * before it are decoded and dropped), timestamps stay those of the whole presentation, keyframes
 * are forced on the frame that starts each segment, and the muxer cuts a segment at every
 * keyframe (`-seg_duration` of half a segment, as for a rendition task). `frag_discont`
 * makes each fragment's decode time the global one, so the chunk's segments continue the
 * previous chunk's and share chunk 1's init segment.
 */
export const chunkArguments = (spec: ChunkEncodeSpec, settings: EncoderSettings = defaultEncoderSettings) => {
  const frames = spanFrames(spec.chunk, spec.segmentSeconds, spec.frameRate)
  const seekSeconds = frames.startFrame > 0 ? frameTime(frames.startFrame - 0.5, spec.frameRate) : 0
  const windowed = seekSeconds > 0 || frames.frameCount !== undefined
  // Riding audio and subtitles are whole tracks: a chunk whose input is cut to its span reads them from a second, uncut opening of the source.
  const uncut = windowed && (spec.audio !== undefined || (spec.captions ?? []).length > 0) ? 1 : 0
  const audio = spec.audio === undefined
    ? []
    : audioTrackOutput(spec.audio, `${uncut}:a:0`, spec.segmentSeconds, chunkAudioFolder(spec.outputDir))
  return [
    ...common,
    ...(seekSeconds > 0 ? ["-ss", seconds(seekSeconds)] : []),
    ...(frames.frameCount === undefined ? [] : ["-t", seconds(frameTime(frames.frameCount + 1, spec.frameRate))]),
    "-i", spec.input,
    ...(uncut === 1 ? ["-i", spec.input] : []),
    "-filter_complex", ladderGraph(spec.rungs, spec.frameRate, spec, { seekSeconds, startFrame: frames.startFrame, frameCount: frames.frameCount }),
    ...ladderVideoOutputs(spec.rungs, spec.frameRate, spec.segmentSeconds, settings),
    // A quarter of a frame early: ffmpeg rounds these times to the encoder's 1/fps time base,
    // where a half-frame offset printed to microseconds can round down onto the previous frame.
    "-force_key_frames", frames.segmentStarts.map((frame) => seconds(frameTime(frame - 0.25, spec.frameRate))).join(","),
    ...dashOutput({
      segmentSeconds: spec.segmentSeconds / 2,
      path: `${spec.outputDir}/${trackManifestName}`,
      initName: ladderInitName,
      mediaName: ladderMediaPattern,
      extra: ["-format_options", "movflags=+frag_discont"]
    }),
    ...audio,
    ...pictureOutputs(spec.pictures, spec.outputDir),
    ...captionOutputs(spec.captions, uncut, spec.outputDir)
  ]
}

/** A chunk's spec without the chunk: the whole source, every rung, and the audio if wanted. */
export interface LadderCommandSpec extends Pick<ChunkEncodeSpec, "input" | "outputDir" | "rungs" | "frameRate" | "deinterlace" | "retime" | "segmentSeconds"> {
  /** The audio track, as the audio task would encode it; omitted for video only. */
  readonly audio?: Pick<AudioEncodeSpec, "bitrate" | "channels" | "sampleRate">
}

/**
 * The whole ladder (and audio) as one plain ffmpeg command writing `manifest.mpd`: the same
 * graph, x264 settings, bitrate caps and segment rule as the chunk tasks, over the whole source.
 * What a benchmark compares the pipeline against.
 */
export const ladderCommandArguments = (spec: LadderCommandSpec, settings: EncoderSettings = defaultEncoderSettings) => [
  "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
  "-i", spec.input,
  "-filter_complex", ladderGraph(spec.rungs, spec.frameRate, spec),
  ...ladderVideoOutputs(spec.rungs, spec.frameRate, spec.segmentSeconds, settings),
  ...boundaryKeyframes(spec.segmentSeconds),
  ...(spec.audio === undefined ? [] : ["-map", "0:a:0", ...aacArguments(spec.audio)]),
  ...dashOutput({
    segmentSeconds: spec.segmentSeconds,
    path: `${spec.outputDir}/manifest.mpd`,
    initName: ladderInitName,
    mediaName: ladderMediaPattern
  })
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
