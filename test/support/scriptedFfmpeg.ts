/**
 * A stand-in for the Ffmpeg service in worker tests, where the subject is the worker's
 * delivery handling (retries, heartbeats, duplicates), not encoding: each call follows a script
 * and writes small placeholder files with a one-segment track.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Clock, Effect, Layer, Stream } from "effect"
import { FfmpegFailed } from "../../src/domain/Errors.ts"
import { compactTimeline, frameAtOrAfter, frameTime, spanFrames } from "../../src/domain/Chunking.ts"
import type { MediaProbe } from "../../src/domain/Probe.ts"
import type { AudioTask, VideoTask } from "../../src/domain/Task.ts"
import type { ChunkResult, Track } from "../../src/domain/Track.ts"
import type { ChunkEncodeSpec, EncodeEvent } from "../../src/services/Ffmpeg.ts"
import { Ffmpeg } from "../../src/services/Ffmpeg.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { Storage } from "../../src/services/Storage.ts"
import { ingest } from "../../src/programs/ingest.ts"
import { newJob } from "../../src/programs/jobRecords.ts"

export type Step = "ok" | "transient" | "permanent"

export interface Script {
  /** What the n-th call (1-based) for a track does. */
  readonly step?: (trackId: string, call: number) => Step
  /** How long each encode takes. */
  readonly encodeMillis?: number
  /** Progress reports spread evenly over each encode (default none: one at the end, with the result). */
  readonly progressReports?: number
  /** What probing finds (default: a 4 s 720p30 clip with stereo audio). */
  readonly probe?: MediaProbe
  /** What the n-th probe (1-based) does (counted in `probes`, apart from the encodes in `calls`). */
  readonly probeStep?: (call: number) => Step
}

export const probeFor720p: MediaProbe = {
  container: "mp4",
  durationSeconds: 4,
  video: { codec: "h264", width: 1280, height: 720, displayWidth: 1280, displayHeight: 720, rotation: 0, frameRate: "30/1", pixelFormat: "yuv420p", interlaced: false },
  audio: { codec: "aac", channels: 2, sampleRate: 48000 }
}

export const makeScriptedFfmpeg = (script: Script = {}) => {
  const calls = new Map<string, number>()
  const probes = { count: 0 }
  const reports = script.progressReports ?? 0
  const encodeMillis = script.encodeMillis ?? 50
  /** The encode's time in `reports + 1` equal steps, a progress report after each but the last. */
  const along: Stream.Stream<EncodeEvent> = reports === 0
    ? Stream.empty
    : Stream.range(1, reports).pipe(
      Stream.mapEffect((i) => Effect.sleep(encodeMillis / (reports + 1)).pipe(Effect.as<EncodeEvent>({ _tag: "Progress", fraction: i / (reports + 1), speed: 1 })))
    )
  /** Counts the call, takes its time, then fails as scripted or does `work` and reports it finished. */
  const scripted = (id: string, work: Effect.Effect<EncodeEvent>) =>
    Stream.unwrap(Effect.gen(function*() {
      const call = (calls.get(id) ?? 0) + 1
      calls.set(id, call)
      const end = Stream.unwrap(Effect.gen(function*() {
        yield* Effect.sleep(encodeMillis / (reports + 1))
        const step = script.step?.(id, call) ?? "ok"
        if (step !== "ok") {
          return Stream.fail(new FfmpegFailed({ operation: `encode ${id}`, reason: `scripted ${step} failure (call ${call})`, retryable: step === "transient" }))
        }
        const finished = yield* work
        return Stream.make<Array<EncodeEvent>>({ _tag: "Progress", fraction: reports === 0 ? 0.5 : 1, speed: 1 }, finished)
      }))
      return Stream.concat(along, end)
    }))
  const encode = (kind: Track["kind"], id: string, outputDir: string, extra: Partial<Track>) =>
    scripted(id, Effect.gen(function*() {
      yield* Effect.promise(async () => {
        await fs.mkdir(outputDir, { recursive: true })
        await fs.writeFile(path.join(outputDir, "init.mp4"), `init ${id}`)
        await fs.writeFile(path.join(outputDir, "seg-00001.m4s"), `segment ${id}`)
      })
      const track: Track = {
        kind, id, codecs: kind === "video" ? "avc1.64001f" : "mp4a.40.2", bandwidth: 1000, timescale: 1000, startNumber: 1,
        timeline: [{ t: 0, d: 4000 }], initialization: "init.mp4", media: "seg-$Number%05d$.m4s",
        files: ["init.mp4", "seg-00001.m4s"], ...extra
      }
      return { _tag: "Finished", track } satisfies EncodeEvent
    }))
  /** A chunk: per rung, placeholder segments numbered and timed as the real encoder would (timescale 90 kHz). */
  const encodeChunk = (spec: ChunkEncodeSpec) =>
    scripted(`chunk-${spec.chunk.index}`, Effect.gen(function*() {
      const frames = spanFrames(spec.chunk, spec.segmentSeconds, spec.frameRate)
      const ticks = (frame: number) => Math.round(frameTime(frame, spec.frameRate) * 90000)
      const end = frameAtOrAfter(spec.chunk.endSeconds, spec.frameRate)
      const bounds = [...frames.segmentStarts, end].map(ticks)
      const segments = frames.segmentStarts.map((_, i) => ({ start: bounds[i]!, duration: bounds[i + 1]! - bounds[i]! }))
      const names = segments.map((_, i) => `seg-${String(frames.firstNumber + i).padStart(5, "0")}.m4s`)
      const withInit = spec.chunk.index === 0
      const tracks = yield* Effect.forEach(spec.rungs, (rung) =>
        Effect.promise(async (): Promise<Track> => {
          const folder = path.join(spec.outputDir, rung.id)
          await fs.mkdir(folder, { recursive: true })
          if (withInit) await fs.writeFile(path.join(folder, "init.mp4"), `init ${rung.id}`)
          for (const name of names) await fs.writeFile(path.join(folder, name), `${rung.id} ${name}`)
          return {
            kind: "video", id: rung.id, codecs: "avc1.64001f", bandwidth: 1000, timescale: 90000, startNumber: frames.firstNumber,
            timeline: compactTimeline(segments), initialization: "init.mp4", media: "seg-$Number%05d$.m4s",
            files: [...(withInit ? ["init.mp4"] : []), ...names], width: rung.width, height: rung.height, frameRate: spec.frameRate,
            initDigest: `scripted ${rung.id}`
          }
        }))
      // Audio riding with the chunk: the whole track, in the chunk's audio folder (as FfmpegCli writes it).
      const audio = spec.audio === undefined ? undefined : yield* Effect.promise(async (): Promise<Track> => {
        const folder = path.join(spec.outputDir, "audio")
        await fs.mkdir(folder, { recursive: true })
        await fs.writeFile(path.join(folder, "init.mp4"), "init audio")
        await fs.writeFile(path.join(folder, "seg-00001.m4s"), "segment audio")
        return {
          kind: "audio", id: "audio", codecs: "mp4a.40.2", bandwidth: spec.audio!.bitrate, timescale: spec.audio!.sampleRate, startNumber: 1,
          timeline: [{ t: 0, d: spec.audio!.sampleRate * 4 }], initialization: "init.mp4", media: "seg-$Number%05d$.m4s",
          files: ["init.mp4", "seg-00001.m4s"], sampleRate: spec.audio!.sampleRate, channels: spec.audio!.channels
        }
      })
      const result: ChunkResult = { kind: "chunk", index: spec.chunk.index, tracks, ...(audio === undefined ? {} : { audio }) }
      return { _tag: "ChunkFinished", result } satisfies EncodeEvent
    }))
  return {
    calls,
    probes,
    layer: Layer.succeed(Ffmpeg, Ffmpeg.of({
      probe: () =>
        Effect.suspend(() => {
          const call = ++probes.count
          const step = script.probeStep?.(call) ?? "ok"
          return step === "ok"
            ? Effect.succeed(script.probe ?? probeFor720p)
            : Effect.fail(new FfmpegFailed({ operation: "probe", reason: `scripted ${step} failure (probe ${call})`, retryable: step === "transient" }))
        }),
      encodeVideo: (spec) => encode("video", spec.rung.id, spec.outputDir, { width: spec.rung.width, height: spec.rung.height, frameRate: spec.frameRate }),
      encodeAudio: (spec) => encode("audio", "audio", spec.outputDir, { sampleRate: spec.sampleRate, channels: spec.channels }),
      encodeChunk,
      makeSample: () => Effect.void
    }))
  }
}

/** Stores a placeholder source, creates its job and ingests it (the scripted probe plans the tasks). */
export const submitScriptedJob = Effect.gen(function*() {
  const storage = yield* Storage
  const store = yield* JobStore
  const id = `job${Math.random().toString(36).slice(2, 8)}`
  yield* storage.put("uploads", `${id}/clip.mp4`, "not really a video")
  yield* store.create(newJob({ id, fileName: "clip.mp4", sourceKey: `${id}/clip.mp4`, outputPrefix: `${id}/`, segmentSeconds: 4, now: yield* Clock.currentTimeMillis }))
  const { tasks } = yield* ingest(id)
  // Jobs created here ask for no strategy, so they are planned per rendition.
  const renditionTasks = tasks.filter((t): t is VideoTask | AudioTask => t._tag !== "chunk")
  if (renditionTasks.length !== tasks.length) return yield* Effect.die(new Error("a scripted job was planned in chunks"))
  return { id, tasks: renditionTasks }
})
