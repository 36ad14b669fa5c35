/**
 * A task's source on the worker's own disk (services/SourceCopies.ts): held for the task, with the
 * disk checked first against what the task will write, and removed as soon as no further task of
 * its job can come to this machine.
 */
import { Effect, Option } from "effect"
import { isTerminal } from "../domain/Job.ts"
import type { Task } from "../domain/Task.ts"
import { JobStore } from "../services/JobStore.ts"
import { SourceCopies } from "../services/SourceCopies.ts"

/**
 * Fixed room beside a task's media: the storyboard sheets and poster (JPEGs of a few hundred KiB
 * each, a few dozen for a long video), WebVTT captions, init segments, and the file system's
 * rounding of each segment file up to its block size (a 4 s segment is one file: a few thousand
 * files for hours of video in every rung).
 */
const fixedMarginBytes = 64 * 1024 * 1024

/** fMP4 boxes (moof, sidx, styp per segment) cost about one per cent; ten per cent covers them and an encoder running at its cap. */
const overhead = 1.1

/**
 * What a task's encode writes into its work folder, estimated from what it encodes rather than from
 * the source's size (a 2 GB ProRes master and a 50 MB phone clip of one length give the same
 * ladder): every rung is capped-CRF with `-maxrate` at the rung's `maxBitrate` and a buffer of
 * twice that, so over the span a rung's bytes stay within maxBitrate / 8 per second (plus a
 * buffer's worth); audio is constant bitrate. Overhead and the fixed margin cover the rest.
 */
export const estimatedOutputBytes = (task: Task): number => {
  const bytesPerSecond = (bitsPerSecond: number) => bitsPerSecond / 8
  switch (task._tag) {
    case "video":
      return Math.ceil(overhead * (bytesPerSecond(task.rung.maxBitrate) * task.durationSeconds + bytesPerSecond(task.rung.maxBitrate * 2))) + fixedMarginBytes
    case "audio":
      return Math.ceil(overhead * bytesPerSecond(task.bitrate) * task.durationSeconds) + fixedMarginBytes
    case "chunk": {
      const span = Math.max(0, task.chunk.endSeconds - task.chunk.startSeconds)
      const video = task.rungs.reduce((sum, rung) => sum + bytesPerSecond(rung.maxBitrate) * span + bytesPerSecond(rung.maxBitrate * 2), 0)
      // Audio riding with a chunk is the whole track.
      const audio = task.audio === undefined ? 0 : bytesPerSecond(task.audio.bitrate) * task.durationSeconds
      return Math.ceil(overhead * (video + audio)) + fixedMarginBytes
    }
  }
}

/**
 * Whether this machine should keep the job's copy once no task here holds it: only while the job
 * has a task still waiting in the queue (it may come here next). A job store that cannot answer
 * says no: the copy goes, and a later task of the job copies again.
 */
const mayComeBack = (jobId: string) =>
  Effect.gen(function*() {
    const store = yield* JobStore
    const job = yield* Effect.option(store.get(jobId))
    return Option.isSome(job) && !isTerminal(job.value.status) && job.value.tasks.some((task) => task.status === "queued")
  })

/**
 * The task's source as a local file for the rest of the scope. When the scope closes and no task
 * of this process holds the copy any more, it is removed unless another task of its job may still
 * come here (then it is kept a short while, SourceCopies).
 */
export const localSource = Effect.fnUntraced(function*(task: Task) {
  const copies = yield* SourceCopies
  // Registered before the hold: a scope runs its finalizers last-in first-out, so this runs once the hold is released.
  yield* Effect.addFinalizer(() =>
    mayComeBack(task.jobId).pipe(Effect.flatMap((keep) => (keep ? Effect.void : copies.discard(task.jobId))))
  )
  return yield* copies.hold({ jobId: task.jobId, sourceKey: task.sourceKey, outputBytes: estimatedOutputBytes(task) })
})
