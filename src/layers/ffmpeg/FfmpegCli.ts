/**
 * The Ffmpeg service over the system `ffmpeg` and `ffprobe` binaries. Each encode is a child
 * process owned by the stream that runs it: interrupting the stream kills the process group.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Fiber, Layer, Result, Schema, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { FfmpegFailed, UnusableInput } from "../../domain/Errors.ts"
import { FfprobeOutput, interpretProbe } from "../../domain/Probe.ts"
import type { ChunkResult, Track } from "../../domain/Track.ts"
import { frameTime } from "../../domain/Chunking.ts"
import { storyboardDirectory } from "../../domain/Pictures.ts"
import { expandTimeline } from "../../domain/Track.ts"
import type { AudioEncodeSpec, EncodeEvent, PictureRequest } from "../../services/Ffmpeg.ts"
import { Ffmpeg } from "../../services/Ffmpeg.ts"
import type { EncoderSettings } from "./arguments.ts"
import { audioArguments, captionsFolder, chunkArguments, chunkAudioFolder, defaultEncoderSettings, picturesFolder, probeArguments, sampleArguments, trackManifestName, videoArguments } from "./arguments.ts"
import { collectChunk } from "./chunkOutput.ts"
import { collectCaptions } from "./captionOutput.ts"
import { collectPictures } from "./pictureOutput.ts"
import { makeProgressParser } from "./progress.ts"
import type { HeaderKind } from "./sniff.ts"
import { classifyHeader, readHeader } from "./sniff.ts"
import { readTrackManifest } from "./trackManifest.ts"

/** Last lines of stderr worth showing: ffmpeg puts the reason for a failure at the end. */
const tailOf = (stderr: string) =>
  stderr.split("\n").map((line) => line.trim()).filter((line) => line.length > 0).slice(-3).join(" | ")

// Failures that will happen again on a retry: the input itself is the problem.
const permanentFailure = /Invalid data|moov atom not found|does not contain any stream|Invalid argument|not supported|Unsupported|Could not find codec|Error while decoding|corrupt|Decoder \(codec .*\) not found|Output file is empty/i

/** ffprobe's complaint, said the way a user understands it. */
const explainProbeFailure = (stderr: string, header: HeaderKind): string => {
  if (header === "text") return "the file is text, not a video"
  if (/moov atom not found/i.test(stderr)) {
    return header === "iso-bmff"
      ? "the file is incomplete or corrupt (MP4 index missing: was the upload or copy cut short?)"
      : "not a recognizable audio or video file"
  }
  if (/Invalid data found when processing input/i.test(stderr)) return "not a recognizable audio or video file"
  if (/No such file or directory/i.test(stderr)) return "the input file does not exist"
  if (/Permission denied/i.test(stderr)) return "the input file cannot be read (permission denied)"
  return `ffprobe could not read the file: ${tailOf(stderr) || "no reason given"}`
}

/** `ffprobe -show_entries format=start_time:packet=pts_time -of json`: the fields read (times are strings). */
const PacketTimes = Schema.Struct({
  packets: Schema.optional(Schema.Array(Schema.Struct({ pts_time: Schema.optional(Schema.String) }))),
  format: Schema.optional(Schema.Struct({ start_time: Schema.optional(Schema.String) }))
})
const decodePacketTimes = Schema.decodeUnknownEffect(Schema.fromJsonString(PacketTimes))

const networkFailure = /Connection refused|Connection reset|timed out|Server returned 5|Network is unreachable|I\/O error/i

export const makeFfmpegCli = (settings: EncoderSettings = defaultEncoderSettings) =>
  Effect.gen(function*() {
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner

    const spawnFailed = (operation: string, tool: string) => (cause: unknown) =>
      new FfmpegFailed({
        operation,
        reason: /ENOENT|not found/i.test(String(cause))
          ? `${tool} is not installed or not on PATH (on Debian: apt-get install ffmpeg)`
          : String(cause),
        retryable: false
      })

    /** Runs a tool to completion, collecting stdout and stderr. */
    const collect = (tool: string, operation: string, args: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const handle = yield* spawner.spawn(ChildProcess.make(tool, args, { forceKillAfter: "1 second" }))
        const [stdout, stderr, exitCode] = yield* Effect.all([
          handle.stdout.pipe(Stream.decodeText(), Stream.mkString),
          handle.stderr.pipe(Stream.decodeText(), Stream.mkString),
          handle.exitCode
        ], { concurrency: "unbounded" })
        return { stdout, stderr, exitCode: Number(exitCode) }
      }).pipe(Effect.scoped, Effect.mapError(spawnFailed(operation, tool)))

    /**
     * Runs ffmpeg, streaming progress samples parsed from `-progress pipe:1`;
     * fails with the tail of stderr when ffmpeg exits non-zero. Progress is the fraction of
     * `[startSeconds, endSeconds)` of the output timeline encoded.
     */
    const runFfmpeg = (operation: string, args: ReadonlyArray<string>, endSeconds: number, startSeconds = 0) =>
      Stream.unwrap(Effect.gen(function*() {
        const handle = yield* spawner.spawn(ChildProcess.make("ffmpeg", args, { forceKillAfter: "1 second" })).pipe(
          Effect.mapError(spawnFailed(operation, "ffmpeg"))
        )
        const stderr = yield* handle.stderr.pipe(Stream.decodeText(), Stream.mkString, Effect.forkScoped)
        const parse = makeProgressParser(endSeconds)
        const span = endSeconds - startSeconds
        const ofSpan = (fraction: number) =>
          startSeconds <= 0 || fraction >= 1 || span <= 0 ? fraction : Math.min(0.999, Math.max(0, (fraction * endSeconds - startSeconds) / span))
        const progress = handle.stdout.pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.filterMap((line) => {
            const sample = parse(line)
            return sample === undefined
              ? Result.failVoid
              : Result.succeed<EncodeEvent>({ _tag: "Progress", fraction: ofSpan(sample.fraction), speed: sample.speed })
          }),
          Stream.mapError(spawnFailed(operation, "ffmpeg"))
        )
        const finish = Effect.gen(function*() {
          const errors = Fiber.join(stderr).pipe(Effect.orElseSucceed(() => ""))
          // No exit code: ffmpeg was ended by a signal (a crash, or the OOM killer).
          const exitCode = Number(yield* handle.exitCode.pipe(Effect.catch(() =>
            Effect.flatMap(errors, (text) =>
              Effect.fail(new FfmpegFailed({ operation, reason: `ffmpeg stopped abnormally${tailOf(text) ? `: ${tailOf(text)}` : " (killed by a signal)"}`, retryable: true }))
            )
          )))
          if (exitCode === 0) return
          const text = yield* errors
          return yield* new FfmpegFailed({
            operation,
            exitCode,
            reason: tailOf(text) || "no error output",
            retryable: !permanentFailure.test(text)
          })
        })
        return Stream.concat(progress, Stream.fromEffectDrain(finish))
      }))

    /** Reads a finished track folder back into a `Track`. */
    const readTrack = (operation: string, outputDir: string, build: (xml: string, sizes: ReadonlyMap<string, number>) => Result.Result<Track, string>) =>
      Effect.gen(function*() {
        const read = yield* Effect.tryPromise({
          try: async () => {
            const xml = await fs.readFile(path.join(outputDir, trackManifestName), "utf8")
            const names = await fs.readdir(outputDir)
            const sizes = new Map(await Promise.all(names.map(async (name) => [name, (await fs.stat(path.join(outputDir, name))).size] as const)))
            return { xml, sizes }
          },
          catch: (error) => new FfmpegFailed({ operation, reason: `cannot read ffmpeg output: ${String(error)}`, retryable: true })
        })
        const track = build(read.xml, read.sizes)
        if (Result.isFailure(track)) return yield* new FfmpegFailed({ operation, reason: track.failure, retryable: true })
        return track.success
      }).pipe(Effect.withSpan("Ffmpeg.readBack"))

    const finished = (track: Track): EncodeEvent => ({ _tag: "Finished", track })

    const audioTrack = (xml: string, sizes: ReadonlyMap<string, number>) => readTrackManifest("audio", "audio", xml, { sizes })

    /** Whether the video stream has a frame at or after `seconds` (demuxing a few seconds of packets, no decoding). */
    const videoFramesFrom = (input: string, seconds: number, window: number) =>
      collect("ffprobe", "probe", [
        "-v", "error", "-select_streams", "v:0", "-read_intervals", `${seconds}%+${window}`,
        "-show_entries", "format=start_time:packet=pts_time", "-of", "json", input
      ]).pipe(
        Effect.flatMap((result) =>
          decodePacketTimes(result.stdout || "{}").pipe(
            Effect.mapError((error) => new FfmpegFailed({ operation: "probe", reason: `ffprobe's packet listing is not the JSON asked for: ${error.message}`, retryable: false }))
          )
        ),
        Effect.map((output) => {
          const start = Number(output.format?.start_time ?? 0) || 0
          return (output.packets ?? []).some((packet) => Number(packet.pts_time) - start >= seconds - 0.01)
        }),
        // When in doubt, report the encode's own failure.
        Effect.orElseSucceed(() => true)
      )

    const prepare = (...folders: ReadonlyArray<string>) => Stream.fromEffectDrain(Effect.tryPromise({
      try: () => Promise.all(folders.map((folder) => fs.mkdir(folder, { recursive: true }))),
      catch: (error) => new FfmpegFailed({ operation: "prepare output", reason: String(error), retryable: true })
    }))

    /** The folders an encode's pictures and extracted subtitles go to, when it has any. */
    const extraFolders = (outputDir: string, pictures: PictureRequest | undefined, captions: ReadonlyArray<unknown> | undefined) => [
      ...(pictures === undefined ? [] : [path.join(picturesFolder(outputDir), storyboardDirectory)]),
      ...((captions ?? []).length === 0 ? [] : [captionsFolder(outputDir)])
    ]

    /** A track with the subtitles its encode extracted. */
    const withCaptions = <A extends { readonly captions?: unknown }>(operation: string, spec: Pick<AudioEncodeSpec, "captions" | "outputDir">, result: A) =>
      Effect.map(collectCaptions(operation, spec.captions, spec.outputDir), (captions) => (captions === undefined ? result : { ...result, captions }))

    /** The global frames a track covers (its timeline on the output frame rate's grid). */
    const framesOf = (track: Track, frameRate: string) => {
      const segments = expandTimeline(track.timeline)
      const toFrame = (ticks: number) => Math.round(ticks / track.timescale / frameTime(1, frameRate))
      const first = toFrame(segments[0]?.start ?? 0)
      const last = segments.at(-1)
      return { first, count: last === undefined ? 0 : toFrame(last.start + last.duration) - first }
    }

    return Ffmpeg.of({
      probe: Effect.fn("Ffmpeg.probe")(function*(input: string) {
        const result = yield* collect("ffprobe", "probe", probeArguments(input))
        if (result.exitCode !== 0) {
          if (networkFailure.test(result.stderr)) {
            return yield* new FfmpegFailed({ operation: "probe", exitCode: result.exitCode, reason: tailOf(result.stderr), retryable: true })
          }
          const header = yield* Effect.promise(() => readHeader(input))
          return yield* new UnusableInput({ reason: explainProbeFailure(result.stderr, header === undefined ? "unknown" : classifyHeader(header)) })
        }
        const output = yield* Schema.decodeUnknownEffect(Schema.fromJsonString(FfprobeOutput))(result.stdout).pipe(
          Effect.mapError(() => new UnusableInput({ reason: "ffprobe reported nothing readable about the file" }))
        )
        return yield* Effect.fromResult(interpretProbe(output))
      }),
      encodeVideo: (spec) => {
        const operation = `encode ${spec.rung.id}`
        const withPictures = (track: Track) =>
          Effect.map(collectPictures(operation, spec.pictures, spec.outputDir, framesOf(track, spec.frameRate), spec.frameRate), (pictures): Track =>
            pictures === undefined ? track : { ...track, pictures })
        return prepare(spec.outputDir, ...extraFolders(spec.outputDir, spec.pictures, spec.captions)).pipe(
          Stream.concat(runFfmpeg(operation, videoArguments(spec, settings), spec.durationSeconds)),
          Stream.concat(Stream.fromEffect(readTrack(operation, spec.outputDir, (xml, sizes) =>
            readTrackManifest("video", spec.rung.id, xml, { sizes }, { frameRate: spec.frameRate })
          ).pipe(Effect.flatMap(withPictures), Effect.flatMap((track) => withCaptions(operation, spec, track)), Effect.map(finished))))
        )
      },
      encodeAudio: (spec) =>
        prepare(spec.outputDir, ...extraFolders(spec.outputDir, undefined, spec.captions)).pipe(
          Stream.concat(runFfmpeg("encode audio", audioArguments(spec), spec.durationSeconds)),
          Stream.concat(Stream.fromEffect(readTrack("encode audio", spec.outputDir, audioTrack).pipe(
            Effect.flatMap((track) => withCaptions("encode audio", spec, track)),
            Effect.map(finished)
          )))
        ),
      encodeChunk: (spec) => {
        const operation = `encode chunk ${spec.chunk.index + 1}/${spec.chunk.count}`
        const finished = (result: ChunkResult): EncodeEvent => ({ _tag: "ChunkFinished", result })
        const withAudio = (result: ChunkResult) =>
          spec.audio === undefined
            ? Effect.succeed(result)
            : Effect.map(readTrack(operation, chunkAudioFolder(spec.outputDir), audioTrack), (audio): ChunkResult => ({ ...result, audio }))
        const withPictures = (result: ChunkResult) => {
          const reference = result.tracks[0]
          return reference === undefined
            ? Effect.succeed(result)
            : Effect.map(collectPictures(operation, spec.pictures, spec.outputDir, framesOf(reference, spec.frameRate), spec.frameRate), (pictures): ChunkResult =>
              pictures === undefined ? result : { ...result, pictures })
        }
        return prepare(spec.audio === undefined ? spec.outputDir : chunkAudioFolder(spec.outputDir), ...extraFolders(spec.outputDir, spec.pictures, spec.captions)).pipe(
          Stream.concat(runFfmpeg(operation, chunkArguments(spec, settings), spec.chunk.endSeconds, spec.chunk.startSeconds)),
          Stream.concat(Stream.fromEffect(Effect.map(
            collectChunk(spec).pipe(
              Effect.flatMap(withAudio),
              Effect.flatMap(withPictures),
              Effect.flatMap((result) => withCaptions(operation, spec, result)),
              Effect.withSpan("Ffmpeg.readBack")
            ),
            finished
          ))),
          // ffmpeg's dash muxer fails (even crashes) on an output without frames: a chunk past the
          // end of a video stream shorter than the file. Only then does the chunk produce nothing.
          Stream.catch((error) =>
            spec.chunk.index === 0
              ? Stream.fail(error)
              : Stream.unwrap(Effect.map(videoFramesFrom(spec.input, spec.chunk.startSeconds, spec.segmentSeconds), (any) =>
                any ? Stream.fail(error) : Stream.make(finished({ kind: "chunk", index: spec.chunk.index, tracks: [] }))
              ))
          )
        )
      },
      makeSample: Effect.fn("Ffmpeg.makeSample")(function*(spec) {
        yield* Effect.tryPromise({
          try: () => fs.mkdir(path.dirname(path.resolve(spec.output)), { recursive: true }),
          catch: (error) => new FfmpegFailed({ operation: "make sample", reason: String(error), retryable: false })
        })
        const result = yield* collect("ffmpeg", "make sample", sampleArguments(spec))
        if (result.exitCode !== 0) {
          return yield* new FfmpegFailed({ operation: "make sample", exitCode: result.exitCode, reason: tailOf(result.stderr), retryable: false })
        }
      })
    })
  })

export const ffmpegCliLayer = (settings?: EncoderSettings) =>
  Layer.effect(Ffmpeg, makeFfmpegCli(settings)).pipe(Layer.provide(NodeServices.layer))
