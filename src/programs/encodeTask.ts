/**
 * Does the work of one task: encode into a private temporary folder, then store every file
 * under the task's deterministic output keys. Running it twice writes the same keys again,
 * so redelivery is harmless; a chunk writes only its own segments (and chunk 1 the init
 * segments), so chunks never overwrite each other.
 */
import * as path from "node:path"
import { Clock, Effect, FileSystem, Stream } from "effect"
import { FfmpegFailed } from "../domain/Errors.ts"
import type { CaptionTrack } from "../domain/Captions.ts"
import type { Pictures } from "../domain/Pictures.ts"
import { picturesDirectory, storyboardDirectory } from "../domain/Pictures.ts"
import type { Task } from "../domain/Task.ts"
import { audioDirectory, sheetPrefixOf, videoDirectory } from "../domain/Task.ts"
import type { TaskResult, Track } from "../domain/Track.ts"
import type { EncodeEvent } from "../services/Ffmpeg.ts"
import { Ffmpeg } from "../services/Ffmpeg.ts"
import { Storage } from "../services/Storage.ts"

/**
 * A private work folder for one task, removed with the task's scope. Its prefix is what the
 * orphan reaper looks for (layers/ffmpeg/orphans.ts) after a worker was killed mid-task.
 */
const temporaryFolder = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  return yield* fs.makeTempDirectoryScoped({ prefix: "vidpipe-task-" })
}).pipe(Effect.mapError((error) => new FfmpegFailed({ operation: "create work folder", reason: error.message, retryable: true })))

interface Output {
  /** Relative to the job's output prefix. */
  readonly key: string
  readonly file: string
  readonly contentType: string
}

/** A track's files, from `folder` of the work folder to the track's place in the outputs area. */
const trackOutputs = (track: Track, folder: string): ReadonlyArray<Output> => {
  const [key, contentType] = track.kind === "video" ? [videoDirectory(track.id), "video/mp4"] : [audioDirectory, "audio/mp4"]
  return track.files.map((file) => ({ key: `${key}/${file}`, file: path.join(folder, file), contentType }))
}

/** The storyboard sheets and poster, from the work folder's pictures folder to beside the manifest. */
const pictureOutputs = (pictures: Pictures | undefined, workFolder: string): ReadonlyArray<Output> => {
  const folder = path.join(workFolder, picturesDirectory)
  return [
    ...(pictures?.storyboard?.sheets ?? []).map((sheet) => ({
      key: `${storyboardDirectory}/${sheet}`, file: path.join(folder, storyboardDirectory, sheet), contentType: "image/jpeg"
    })),
    ...(pictures?.poster === undefined ? [] : [{ key: pictures.poster, file: path.join(folder, pictures.poster), contentType: "image/jpeg" }])
  ]
}

/** Extracted subtitles: their files are named relative to the output prefix, as in the work folder. */
const captionOutputs = (captions: ReadonlyArray<CaptionTrack> | undefined, workFolder: string): ReadonlyArray<Output> =>
  (captions ?? []).map((caption) => ({ key: caption.file, file: path.join(workFolder, caption.file), contentType: "text/vtt" }))

/** Where each file of a result comes from (in the work folder) and goes (in the outputs area). */
const outputsOf = (result: TaskResult, workFolder: string): ReadonlyArray<Output> => {
  if (result.kind !== "chunk") {
    return [...trackOutputs(result, workFolder), ...pictureOutputs(result.pictures, workFolder), ...captionOutputs(result.captions, workFolder)]
  }
  // The encoder left one folder per rung, files already under their presentation names, and
  // audio that rode with the chunk in its own folder.
  return [
    ...result.tracks.flatMap((track) => trackOutputs(track, path.join(workFolder, track.id))),
    ...(result.audio === undefined ? [] : trackOutputs(result.audio, path.join(workFolder, audioDirectory))),
    ...pictureOutputs(result.pictures, workFolder),
    ...captionOutputs(result.captions, workFolder)
  ]
}

/**
 * The task's result, and how long ffmpeg ran (the rest of a task's time is orchestration). `input`
 * is the source as a file on this machine (sourceCopy.ts), never a URL: ffmpeg may reopen its input
 * hours into an encode, after a presigned URL's credentials have rotated.
 */
export const encodeTask = Effect.fn("encodeTask")(function*(task: Task, input: string, onProgress: (fraction: number) => Effect.Effect<void>) {
  const ffmpeg = yield* Ffmpeg
  const storage = yield* Storage
  const workFolder = yield* temporaryFolder
  const common = { input, outputDir: workFolder, segmentSeconds: task.segmentSeconds, durationSeconds: task.durationSeconds }
  const pictures = task._tag === "audio" || task.pictures === undefined ? undefined : { ...task.pictures, sheetPrefix: sheetPrefixOf(task) }
  const events = task._tag === "video"
    ? ffmpeg.encodeVideo({ ...common, rung: task.rung, frameRate: task.frameRate, deinterlace: task.deinterlace, pictures, captions: task.captions })
    : task._tag === "audio"
    ? ffmpeg.encodeAudio({ ...common, channels: task.channels, sampleRate: task.sampleRate, bitrate: task.bitrate, captions: task.captions })
    : ffmpeg.encodeChunk({ input, outputDir: workFolder, segmentSeconds: task.segmentSeconds, rungs: task.rungs, frameRate: task.frameRate, deinterlace: task.deinterlace, retime: task.retime, chunk: task.chunk, audio: task.audio, pictures, captions: task.captions })

  let result: TaskResult | undefined
  const encodeStarted = yield* Clock.currentTimeMillis
  yield* Stream.runForEach(events, (event: EncodeEvent) => {
    switch (event._tag) {
      case "Progress":
        return onProgress(event.fraction)
      case "Finished":
        result = event.track
        return Effect.void
      case "ChunkFinished":
        result = event.result
        return Effect.void
    }
  })
  const ffmpegMillis = (yield* Clock.currentTimeMillis) - encodeStarted
  if (result === undefined) {
    return yield* new FfmpegFailed({ operation: `encode ${task.taskId}`, reason: "ffmpeg finished without a track", retryable: true })
  }
  yield* Effect.forEach(
    outputsOf(result, workFolder),
    (output) => storage.putFile("outputs", `${task.outputPrefix}${output.key}`, output.file, { contentType: output.contentType }),
    { concurrency: 4, discard: true }
  ).pipe(Effect.withSpan("encodeTask.storeOutputs"))
  return { result, ffmpegMillis }
}, Effect.scoped)
