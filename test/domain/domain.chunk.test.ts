/**
 * The chunk strategy's pure rules — how a source is cut into chunks, when `auto` chooses them,
 * which frames a chunk encodes, how chunk results are stitched — and a chunked job run through
 * ingest, worker fibers and the finalizer with scripted encodes.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { Effect, Fiber, Layer, References, Result, Schema } from "effect"
import type { ChunkPolicy, ChunkSpan } from "../../src/domain/Chunking.ts"
import { chunkLabel, compactTimeline, defaultChunkPolicy, planChunks, resolveStrategy, spanFrames, stitchChunks } from "../../src/domain/Chunking.ts"
import { renditionsOf } from "../../src/domain/Job.ts"
import { planLadder } from "../../src/domain/Ladder.ts"
import type { ChunkTask } from "../../src/domain/Task.ts"
import { QueuedTaskJson } from "../../src/domain/Task.ts"
import type { Track } from "../../src/domain/Track.ts"
import { expandTimeline } from "../../src/domain/Track.ts"
import { embeddedLayer } from "../../src/layers/embedded.ts"
import { chunkArguments, ladderCommandArguments } from "../../src/layers/ffmpeg/arguments.ts"
import { areaFoldersUnder } from "../../src/layers/local/FolderStorage.ts"
import { awaitJob } from "../../src/programs/awaitJob.ts"
import { planJob, planTasks } from "../../src/programs/ingest.ts"
import { ChunkPlanning } from "../../src/services/ChunkPlanning.ts"
import { newJob, taskLabel } from "../../src/programs/jobRecords.ts"
import { createAndIngest } from "../../src/programs/submitFile.ts"
import { runWorker } from "../../src/programs/worker.ts"
import { Storage } from "../../src/services/Storage.ts"
import { makeScriptedFfmpeg, probeFor720p } from "../support/scriptedFfmpeg.ts"
import * as NodeServices from "@effect/platform-node/NodeServices"

const policy = (workers: number): ChunkPolicy => ({ ...defaultChunkPolicy, workers })
const spans = (chunks: ReadonlyArray<ChunkSpan>) => chunks.map((c) => [c.startSeconds, c.endSeconds, c.segmentCount])

describe("chunk planning", () => {
  it("cuts whole segments, about one chunk per worker, each 8 to 32 s, evened out", () => {
    expect(spans(planChunks(30, 4, policy(2)))).toEqual([[0, 16, 4], [16, 30, 4]])
    expect(spans(planChunks(30, 4, policy(1)))).toEqual([[0, 30, 8]])
    expect(spans(planChunks(22, 4, policy(2)))).toEqual([[0, 12, 3], [12, 22, 3]])
    // Many workers: never below two segments a chunk.
    expect(spans(planChunks(24, 4, policy(8)))).toEqual([[0, 8, 2], [8, 16, 2], [16, 24, 2]])
    // Long sources: 32 s chunks at most, the last evened out rather than a sliver.
    const long = planChunks(600, 4, policy(2))
    expect(long.length).toBe(19)
    expect(long.slice(0, -1).every((c) => c.endSeconds - c.startSeconds === 32)).toBe(true)
    expect(spans(long.slice(-1))).toEqual([[576, 600, 6]])
    // Shorter than a segment: one chunk of one (short) segment.
    expect(spans(planChunks(3, 4, policy(2)))).toEqual([[0, 3, 1]])
  })

  it("keeps a trailing fraction of a segment in the last chunk, so no chunk starts where the video may have ended", () => {
    // An audio tail makes the file 16.02 s while the video lasts 16 s.
    expect(spans(planChunks(16.02, 4, policy(4)))).toEqual([[0, 8, 2], [8, 16.02, 3]])
  })

  it("covers the source exactly once, whatever the duration and fleet", () => {
    for (const duration of [1, 4, 7.5, 8, 16, 16.02, 29.97, 30, 61.3, 125, 3600.5]) {
      for (const workers of [1, 2, 3, 5, 20]) {
        const chunks = planChunks(duration, 4, policy(workers))
        const where = `${duration} s, ${workers} workers`
        expect(chunks[0]!.startSeconds, where).toBe(0)
        expect(chunks.at(-1)!.endSeconds, where).toBe(duration)
        for (const [i, chunk] of chunks.entries()) {
          expect([chunk.index, chunk.count], where).toEqual([i, chunks.length])
          expect(chunk.firstSegment * 4, where).toBe(chunk.startSeconds)
          if (i > 0) {
            expect(chunk.startSeconds, where).toBe(chunks[i - 1]!.endSeconds)
            expect(chunk.firstSegment, where).toBe(chunks[i - 1]!.firstSegment + chunks[i - 1]!.segmentCount)
            expect(chunk.startSeconds, where).toBeLessThanOrEqual(duration - 4)
          }
          if (i < chunks.length - 1) expect(chunk.endSeconds - chunk.startSeconds, where).toBeGreaterThanOrEqual(8)
          expect(chunk.endSeconds - chunk.startSeconds, where).toBeLessThan(32 + 4)
        }
      }
    }
  })

  it("auto chunks only when every worker can get a chunk of at least 8 s", () => {
    expect(resolveStrategy("auto", 15.9, 4, policy(2))).toBe("rendition")
    expect(resolveStrategy("auto", 16, 4, policy(2))).toBe("chunk")
    expect(resolveStrategy("auto", 7.9, 4, policy(1))).toBe("rendition")
    expect(resolveStrategy("auto", 8, 4, policy(1))).toBe("chunk")
    expect(resolveStrategy("auto", 31.9, 4, policy(4))).toBe("rendition")
    expect(resolveStrategy("auto", 600, 4, policy(4))).toBe("chunk")
    // Asked for explicitly, a strategy is used as it is.
    expect(resolveStrategy("chunk", 3, 4, policy(8))).toBe("chunk")
    expect(resolveStrategy("rendition", 600, 4, policy(1))).toBe("rendition")
  })

  it("gives every frame to exactly one chunk, keyframes on the first frame at or after each segment start", () => {
    const [first, second] = planChunks(30, 4, policy(2))
    expect(spanFrames(first!, 4, "25/1")).toEqual({ startFrame: 0, frameCount: 400, segmentStarts: [0, 100, 200, 300], firstNumber: 1 })
    expect(spanFrames(second!, 4, "25/1")).toEqual({ startFrame: 400, frameCount: undefined, segmentStarts: [400, 500, 600, 700], firstNumber: 5 })
    // 29.97 fps: a segment boundary falls between frames; the frame after it starts the segment.
    expect(spanFrames(first!, 4, "30000/1001")).toMatchObject({ startFrame: 0, frameCount: 480, segmentStarts: [0, 120, 240, 360] })
    expect(spanFrames(second!, 4, "30000/1001")).toMatchObject({ startFrame: 480, segmentStarts: [480, 600, 720, 840] })
    for (const rate of ["24000/1001", "25/1", "30000/1001", "30/1", "60000/1001", "29870/1000"]) {
      const chunks = planChunks(125, 4, policy(3)).map((c) => spanFrames(c, 4, rate))
      for (const [i, frames] of chunks.slice(0, -1).entries()) {
        expect(frames.startFrame + frames.frameCount!, rate).toBe(chunks[i + 1]!.startFrame)
      }
    }
  })

  it("labels a chunk with its place and span", () => {
    const [, second] = planChunks(30, 4, policy(2))
    expect(chunkLabel(second!)).toBe("chunk 2/2 00:16–00:30")
    expect(chunkLabel(planChunks(3700, 4, policy(200)).at(-1)!)).toMatch(/^chunk \d+\/\d+ 1:01:\d\d–1:01:40$/)
  })
})

const videoTrack = (id: string, startNumber: number, starts: ReadonlyArray<number>, end: number, extra: Partial<Track> = {}): Track => {
  const segments = starts.map((start, i) => ({ start, duration: (starts[i + 1] ?? end) - start }))
  return {
    kind: "video", id, codecs: "avc1.64001f", bandwidth: 1000, timescale: 12800, startNumber,
    timeline: compactTimeline(segments), initialization: "init.mp4", media: "seg-$Number%05d$.m4s",
    files: [...(startNumber === 1 ? ["init.mp4"] : []), ...segments.map((_, i) => `seg-${String(startNumber + i).padStart(5, "0")}.m4s`)],
    width: 1280, height: 720, frameRate: "25/1", initDigest: "config", ...extra
  }
}

describe("stitching chunks", () => {
  const chunk0 = { index: 0, tracks: [videoTrack("720p", 1, [0, 51200], 102400, { bandwidth: 3000 }), videoTrack("360p", 1, [0, 51200], 102400)] }
  const chunk1 = { index: 1, tracks: [videoTrack("720p", 3, [102400, 153600], 179200, { bandwidth: 5000 }), videoTrack("360p", 3, [102400, 153600], 179200)] }

  it("compacts a timeline: t on the first segment, runs of equal durations folded", () => {
    expect(compactTimeline([{ start: 0, duration: 4 }, { start: 4, duration: 4 }, { start: 8, duration: 4 }, { start: 12, duration: 2 }]))
      .toEqual([{ t: 0, d: 4, r: 2 }, { d: 2 }])
    expect(compactTimeline([{ start: 10, duration: 4 }, { start: 20, duration: 4 }])).toEqual([{ t: 10, d: 4 }, { t: 20, d: 4 }])
  })

  it("joins the chunks into one continuous track per rung behind chunk 1's init segment", () => {
    const stitched = Result.getOrThrow(stitchChunks([chunk1, chunk0], 2))
    const hd = stitched.find((t) => t.id === "720p")!
    expect(hd.timeline).toEqual([{ t: 0, d: 51200, r: 2 }, { d: 25600 }])
    expect(hd.files).toEqual(["init.mp4", "seg-00001.m4s", "seg-00002.m4s", "seg-00003.m4s", "seg-00004.m4s"])
    expect(hd.startNumber).toBe(1)
    expect(hd.bandwidth).toBe(5000)
    expect(expandTimeline(stitched.find((t) => t.id === "360p")!.timeline)).toEqual(expandTimeline(hd.timeline))
  })

  it("leaves a last chunk made of the presentation's short last segment out of the peak bitrate", () => {
    const tail = { index: 1, tracks: [videoTrack("720p", 3, [102400], 104448, { bandwidth: 90_000 })] }
    const hd = Result.getOrThrow(stitchChunks([{ index: 0, tracks: [chunk0.tracks[0]!] }, tail], 2))[0]!
    expect(hd.bandwidth).toBe(3000)
  })

  it("drops trailing chunks without video (the video stream ended before them), but no others", () => {
    const empty = { index: 1, tracks: [] }
    expect(Result.getOrThrow(stitchChunks([chunk0, empty], 2)).find((t) => t.id === "720p")!.timeline).toEqual([{ t: 0, d: 51200, r: 1 }])
    const hollow = stitchChunks([chunk0, { index: 1, tracks: [] }, { index: 2, tracks: chunk1.tracks }], 3)
    expect(Result.isFailure(hollow) && hollow.failure).toBe("chunk 2 has no video, but chunk 3 does")
    expect(Result.isFailure(stitchChunks([{ index: 0, tracks: [] }], 1))).toBe(true)
  })

  it("refuses chunks that are missing, leave a gap, overlap, are misnumbered or have another codec configuration", () => {
    const failure = (chunks: Parameters<typeof stitchChunks>[0], count = 2) => {
      const result = stitchChunks(chunks, count)
      return Result.isFailure(result) ? result.failure : "stitched"
    }
    expect(failure([chunk0])).toMatch(/expected chunks 1..2/)
    const shifted = (start: number) => ({ index: 1, tracks: [videoTrack("720p", 3, [start, start + 51200], start + 76800), chunk1.tracks[1]!] })
    expect(failure([chunk0, shifted(103424)])).toMatch(/chunk 2 of 720p: starts at 103424, the previous chunk ends at 102400/)
    expect(failure([chunk0, shifted(101376)])).toMatch(/starts at 101376/)
    const misnumbered = { index: 1, tracks: [videoTrack("720p", 4, [102400, 153600], 179200), chunk1.tracks[1]!] }
    expect(failure([chunk0, misnumbered])).toMatch(/first segment is number 4, expected 3/)
    const otherCodec = { index: 1, tracks: [videoTrack("720p", 3, [102400, 153600], 179200, { initDigest: "other" }), chunk1.tracks[1]!] }
    expect(failure([chunk0, otherCodec])).toMatch(/codec configuration differs from chunk 1/)
    expect(failure([chunk0, { index: 1, tracks: [chunk1.tracks[0]!] }])).toMatch(/chunk 2 has no 360p rendition/)
  })

  it("reports a chunked job's renditions from the stitched tracks", () => {
    const tasks = [chunk0, chunk1].map((chunk, i) => ({
      taskId: `j.chunk.${i}`, kind: "chunk" as const, label: "", status: "done" as const, progress: 1, attempts: 1,
      result: { kind: "chunk" as const, ...chunk }
    }))
    expect(renditionsOf({ tasks })).toEqual([{ width: 1280, height: 720, bitrate: 5000 }, { width: 1280, height: 720, bitrate: 1000 }])
  })
})

const longProbe = { ...probeFor720p, durationSeconds: 30, video: { ...probeFor720p.video, frameRate: "25/1" } }

describe("chunked jobs", () => {
  it("plan one task per chunk with stable ids, all rungs each, audio on its own", () => {
    const job = { ...newJob({ id: "j1", fileName: "a.mp4", sourceKey: "j1/a.mp4", outputPrefix: "j1/", segmentSeconds: 4, strategy: "auto", now: 0 }) }
    const rungs = planLadder(longProbe)
    const plan = planJob(job, longProbe, rungs, policy(2))
    expect(plan.strategy).toBe("chunk")
    const tasks = planTasks({ ...job, plan }, longProbe, rungs)
    expect(tasks.map((t) => t.taskId)).toEqual(["j1.audio", "j1.chunk.0", "j1.chunk.1"])
    expect(tasks.every((t) => t.totalTasks === 3)).toBe(true)
    expect(tasks.map(taskLabel)).toEqual(["audio", "chunk 1/2 00:00–00:16", "chunk 2/2 00:16–00:30"])
    const chunk = tasks[2] as ChunkTask
    expect(chunk.rungs.map((r) => r.id)).toEqual(["720p", "480p", "360p"])
    // The queue carries it as JSON and gets the same task back.
    expect(Schema.decodeUnknownSync(QueuedTaskJson)(Schema.encodeSync(QueuedTaskJson)(chunk))).toEqual(chunk)
    // A job recorded without a strategy (or from before strategies) is planned per rendition.
    const plain = newJob({ id: "j2", fileName: "a.mp4", sourceKey: "j2/a.mp4", outputPrefix: "j2/", segmentSeconds: 4, now: 0 })
    expect(planJob(plain, longProbe, rungs, policy(2)).strategy).toBe("rendition")
    expect(planTasks(plain, longProbe, rungs).map((t) => t._tag)).toEqual(["audio", "video", "video", "video"])
    expect(planJob({ ...job, strategy: "auto" }, { ...longProbe, durationSeconds: 12 }, rungs, policy(2)).strategy).toBe("rendition")
  })

  it("planned for one worker, the audio rides in chunk 1's ffmpeg instead of a task of its own", () => {
    const job = newJob({ id: "j3", fileName: "a.mp4", sourceKey: "j3/a.mp4", outputPrefix: "j3/", segmentSeconds: 4, strategy: "chunk", now: 0 })
    const rungs = planLadder(longProbe)
    const plan = planJob(job, { ...longProbe, durationSeconds: 60 }, rungs, policy(1))
    expect(plan.audioInFirstChunk).toBe(true)
    const tasks = planTasks({ ...job, plan }, { ...longProbe, durationSeconds: 60 }, rungs)
    expect(tasks.map((t) => t.taskId)).toEqual(["j3.chunk.0", "j3.chunk.1"])
    expect(tasks.every((t) => t.totalTasks === 2)).toBe(true)
    expect(tasks.map(taskLabel)).toEqual(["chunk 1/2 00:00–00:32 + audio", "chunk 2/2 00:32–01:00"])
    const [first, second] = tasks as ReadonlyArray<ChunkTask>
    expect(first!.audio).toEqual({ channels: 2, sampleRate: 48000, bitrate: 128_000 })
    expect(second!.audio).toBeUndefined()
    expect(Schema.decodeUnknownSync(QueuedTaskJson)(Schema.encodeSync(QueuedTaskJson)(first!))).toEqual(first)
    // Two or more workers, a rendition plan, or a silent source: audio is not folded in.
    expect(planJob(job, longProbe, rungs, policy(2)).audioInFirstChunk).toBeUndefined()
    expect(planJob({ ...job, strategy: "rendition" }, longProbe, rungs, policy(1)).audioInFirstChunk).toBeUndefined()
    expect(planJob(job, { ...longProbe, audio: null }, rungs, policy(1)).audioInFirstChunk).toBeUndefined()
  })

  it("chunk 1 encodes the whole audio track beside its span, from a second, uncut opening of the source when its input is cut", () => {
    const rungs = planLadder(longProbe)
    const audio = { channels: 1, sampleRate: 44100, bitrate: 96_000 }
    const audioOutput = (args: ReadonlyArray<string>) => args.slice(args.lastIndexOf("-map"))
    // The only chunk: one input, its audio stream, to the end.
    const [whole] = planChunks(30, 4, policy(1))
    const single = chunkArguments({ input: "in.mp4", outputDir: "out", rungs, frameRate: "25/1", segmentSeconds: 4, chunk: whole!, audio })
    expect(single.filter((a) => a === "-i")).toHaveLength(1)
    expect(single).not.toContain("-t")
    expect(audioOutput(single)).toEqual(["-map", "0:a:0", "-c:a", "aac", "-b:a", "96000", "-ac", "1", "-ar", "44100", "-f", "dash", "-seg_duration", "4",
      "-use_template", "1", "-use_timeline", "1", "-init_seg_name", "init.mp4", "-media_seg_name", "seg-$Number%05d$.m4s", "out/audio/track.mpd"])
    // Chunk 1 of 2: the video input stops at the chunk's end, the audio comes from input 1.
    const [first] = planChunks(60, 4, policy(1))
    const cut = chunkArguments({ input: "in.mp4", outputDir: "out", rungs, frameRate: "25/1", segmentSeconds: 4, chunk: first!, audio })
    expect(cut.filter((a) => a === "-i")).toHaveLength(2)
    expect(cut.indexOf("-t")).toBeLessThan(cut.indexOf("-i"))
    expect(cut.slice(cut.lastIndexOf("-i") - 2, cut.lastIndexOf("-i") + 2)).toEqual(["-i", "in.mp4", "-i", "in.mp4"])
    expect(audioOutput(cut).slice(0, 2)).toEqual(["-map", "1:a:0"])
    // Without audio nothing changes.
    const plain = chunkArguments({ input: "in.mp4", outputDir: "out", rungs, frameRate: "25/1", segmentSeconds: 4, chunk: first! })
    expect(plain.filter((a) => a === "-i")).toHaveLength(1)
    expect(plain).not.toContain("out/audio/track.mpd")
  })

  it("the single-command ladder uses one decode and the chunk tasks' x264 settings for every rung", () => {
    const args = ladderCommandArguments({
      input: "in.mp4", outputDir: "out", rungs: planLadder(longProbe), frameRate: "25/1", segmentSeconds: 4,
      audio: { bitrate: 128_000, channels: 2, sampleRate: 48000 }
    })
    const graph = args[args.indexOf("-filter_complex") + 1]!
    expect(graph).toMatch(/^\[0:v:0\]bwdif=deint=interlaced,fps=fps=25\/1:start_time=0\.000000,split=3\[s0\]\[s1\]\[s2\];/)
    expect(args.filter((a) => a === "-i")).toHaveLength(1)
    expect(args).toEqual(expect.arrayContaining(["-preset", "veryfast", "-crf", "21", "-g", "100", "-maxrate:v:0", "-maxrate:v:2", "-map", "0:a:0", "out/manifest.mpd"]))
  })

  it("forces keyframes at times ffmpeg rounds onto exactly the segments' first frames, at every common rate", () => {
    for (const rate of ["24000/1001", "24/1", "25/1", "30000/1001", "30/1", "50/1", "60000/1001", "60/1", "29870/1000"]) {
      const [num, den] = rate.split("/").map(Number) as [number, number]
      for (const chunk of planChunks(300, 4, policy(3))) {
        const args = chunkArguments({ input: "in.mp4", outputDir: "out", rungs: planLadder(longProbe), frameRate: rate, segmentSeconds: 4, chunk })
        // ffmpeg reads the times to microseconds, then rounds them to the encoder's 1/fps time base.
        const forced = args[args.indexOf("-force_key_frames") + 1]!.split(",").map((t) => Math.round((Math.round(Number(t) * 1e6) / 1e6) * num / den))
        expect(forced, `${rate} chunk ${chunk.index}`).toEqual(spanFrames(chunk, 4, rate).segmentStarts)
      }
    }
  })

  /** A 30 s 25 fps chunked job through ingest, worker fibers and the finalizer, with scripted encodes. */
  const runScriptedChunkJob = async (options: { readonly plannedWorkers: number; readonly workers: ReadonlyArray<string> }) => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-chunk-domain-"))
    const scripted = makeScriptedFfmpeg({ probe: longProbe, encodeMillis: 20 })
    const layer = Layer.mergeAll(
    NodeServices.layer,
      embeddedLayer({ folders: areaFoldersUnder(root) }),
      scripted.layer,
      Layer.succeed(References.MinimumLogLevel, "Error")
    )
    try {
      const program = Effect.gen(function*() {
        const storage = yield* Storage
        yield* storage.put("uploads", "c1/clip.mp4", "not really a video")
        yield* createAndIngest({ jobId: "c1", fileName: "clip.mp4", sourceKey: "c1/clip.mp4", outputPrefix: "c1/", strategy: "chunk" }).pipe(
          Effect.provideService(ChunkPlanning, { workers: options.plannedWorkers })
        )
        const workers = yield* Effect.forEach(options.workers, (id) => Effect.forkChild(runWorker(id)))
        const job = yield* awaitJob("c1", undefined, 20)
        yield* Effect.forEach(workers, Fiber.interrupt)
        const mpd = yield* storage.get("outputs", "c1/manifest.mpd")
        const keys = (yield* storage.list("outputs", "c1/video/720p/")).map((o) => o.key).sort()
        const audioKeys = (yield* storage.list("outputs", "c1/audio/")).map((o) => o.key).sort()
        return { job, mpd: new TextDecoder().decode(mpd), keys, audioKeys }
      })
      return { ...(await Effect.runPromise(program.pipe(Effect.provide(layer)))), calls: [...scripted.calls.keys()].sort() }
    } finally {
      await fs.rm(root, { recursive: true, force: true })
    }
  }

  it("run through workers and the finalizer into one continuous presentation (scripted encodes)", async () => {
    const { job, keys, mpd, calls, audioKeys } = await runScriptedChunkJob({ plannedWorkers: 3, workers: ["w1", "w2"] })
    expect(job.status, JSON.stringify(job.error)).toBe("ready")
    expect(job.plan?.chunks?.length).toBe(3)
    expect(job.tasks.map((t) => t.kind)).toEqual(["audio", "chunk", "chunk", "chunk"])
    expect(calls).toEqual(["audio", "chunk-0", "chunk-1", "chunk-2"])
    expect(job.manifestWrites).toBe(1)
    // 30 s at 25 fps in 4 s segments, at 90 kHz: seven full segments and a 2 s one, numbered 1..8.
    expect(mpd).toContain(`<S t="0" d="360000" r="6"/>`)
    expect(mpd).toContain(`<S d="180000"/>`)
    // The rung's HLS playlist beside its segments (domain/Hls.ts).
    expect(keys).toEqual(["index.m3u8", "init.mp4", ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => `seg-0000${n}.m4s`)].map((f) => `c1/video/720p/${f}`))
    expect(audioKeys).toEqual(["c1/audio/index.m3u8", "c1/audio/init.mp4", "c1/audio/seg-00001.m4s"])
    expect(renditionsOf(job).map((r) => `${r.width}x${r.height}`)).toEqual(["1280x720", "854x480", "640x360"])
  })

  it("planned for one worker: no audio task, and the audio chunk 1 brings is in the presentation (scripted encodes)", async () => {
    const { job, mpd, calls, audioKeys } = await runScriptedChunkJob({ plannedWorkers: 1, workers: ["w1"] })
    expect(job.status, JSON.stringify(job.error)).toBe("ready")
    expect(job.tasks.map((t) => t.label)).toEqual(["chunk 1/1 00:00–00:30 + audio"])
    expect(calls).toEqual(["chunk-0"])
    expect(audioKeys).toEqual(["c1/audio/index.m3u8", "c1/audio/init.mp4", "c1/audio/seg-00001.m4s"])
    expect(mpd).toContain(`contentType="audio"`)
    expect(mpd).toContain(`media="audio/seg-$Number%05d$.m4s"`)
    expect(job.finalizeRuns).toBe(1)
  })
})
