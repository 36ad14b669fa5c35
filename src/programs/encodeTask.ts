/**
 * Does the work of one task: encode into a private temporary folder, then store every file
 * under the task's deterministic output keys. Running it twice writes the same keys again,
 * so redelivery is harmless.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Stream } from "effect"
import { FfmpegFailed } from "../domain/Errors.ts"
import type { Task } from "../domain/Task.ts"
import { trackDirectory } from "../domain/Task.ts"
import type { Track } from "../domain/Track.ts"
import { Ffmpeg } from "../services/Ffmpeg.ts"
import { Storage } from "../services/Storage.ts"

const contentTypeOf = (task: Task) => (task._tag === "video" ? "video/mp4" : "audio/mp4")

const temporaryFolder = Effect.acquireRelease(
  Effect.tryPromise({
    try: () => fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-task-")),
    catch: (error) => new FfmpegFailed({ operation: "create work folder", reason: String(error), retryable: true })
  }),
  (folder) => Effect.promise(() => fs.rm(folder, { recursive: true, force: true }))
)

export const encodeTask = Effect.fn("encodeTask")(function*(task: Task, onProgress: (fraction: number) => Effect.Effect<void>) {
  const ffmpeg = yield* Ffmpeg
  const storage = yield* Storage
  const workFolder = yield* temporaryFolder
  const input = yield* storage.readableUrl("uploads", task.sourceKey)
  const common = { input, outputDir: workFolder, segmentSeconds: task.segmentSeconds, durationSeconds: task.durationSeconds }
  const events = task._tag === "video"
    ? ffmpeg.encodeVideo({ ...common, rung: task.rung, frameRate: task.frameRate })
    : ffmpeg.encodeAudio({ ...common, channels: task.channels, sampleRate: task.sampleRate, bitrate: task.bitrate })

  let track: Track | undefined
  yield* Stream.runForEach(events, (event) => {
    if (event._tag === "Finished") {
      track = event.track
      return Effect.void
    }
    return onProgress(event.fraction)
  })
  if (track === undefined) {
    return yield* new FfmpegFailed({ operation: `encode ${task.taskId}`, reason: "ffmpeg finished without a track", retryable: true })
  }
  const folder = `${task.outputPrefix}${trackDirectory(task)}`
  yield* Effect.forEach(
    track.files,
    (file) => storage.putFile("outputs", `${folder}/${file}`, path.join(workFolder, file), { contentType: contentTypeOf(task) }),
    { concurrency: 4, discard: true }
  )
  return track
}, Effect.scoped)
