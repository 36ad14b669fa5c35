/**
 * `vidpipe process`: the whole pipeline in one process — store the source, ingest, run N worker
 * fibers over the queue, wait for the finalizer — through the same services and programs that
 * run distributed.
 */
import * as fs from "node:fs/promises"
import { Clock, Effect } from "effect"
import { JobFailed, SourceNotFound, UnusableInput } from "../domain/Errors.ts"
import type { Job } from "../domain/Job.ts"
import { JobStore } from "../services/JobStore.ts"
import { Storage } from "../services/Storage.ts"
import { awaitJob } from "./awaitJob.ts"
import { ingest } from "./ingest.ts"
import { newJob, newJobId, safeFileName } from "./jobRecords.ts"
import { PipelineSettings } from "./PipelineSettings.ts"
import { runWorker } from "./worker.ts"

export interface ProcessOptions {
  readonly input: string
  readonly workers: number
  readonly ladder?: ReadonlyArray<number> | undefined
  /** Prefix of the outputs in the outputs area ("" when the area is the presentation's own folder). */
  readonly outputPrefix: string
  readonly onUpdate?: (job: Job) => Effect.Effect<void>
}

/** Refuses what is plainly not a file before anything is stored. */
const checkInput = Effect.fnUntraced(function*(input: string) {
  const stat = yield* Effect.tryPromise({ try: () => fs.stat(input), catch: () => new SourceNotFound({ path: input }) })
  if (!stat.isFile()) return yield* new UnusableInput({ reason: `${input} is not a regular file` })
  if (stat.size === 0) return yield* new UnusableInput({ reason: "the file is empty (0 bytes)" })
  return stat.size
})

export const processFile = Effect.fn("processFile")(function*(options: ProcessOptions) {
  const storage = yield* Storage
  const store = yield* JobStore
  const settings = yield* PipelineSettings
  yield* checkInput(options.input)

  const jobId = newJobId()
  const fileName = safeFileName(options.input)
  const sourceKey = `${jobId}/${fileName}`
  yield* storage.putFile("uploads", sourceKey, options.input)
  // The source copy only lives as long as this run.
  yield* Effect.addFinalizer(() => storage.delete("uploads", sourceKey).pipe(Effect.ignore))
  yield* store.create(newJob({
    id: jobId,
    fileName,
    sourceKey,
    outputPrefix: options.outputPrefix,
    segmentSeconds: settings.segmentSeconds,
    requestedLadder: options.ladder,
    now: yield* Clock.currentTimeMillis
  }))

  // Leave no half-written presentation behind when the job fails or is interrupted.
  const removePartialOutputs = Effect.forEach(
    ["video/", "audio/"],
    (folder) => storage.deletePrefix("outputs", `${options.outputPrefix}${folder}`).pipe(Effect.ignore),
    { discard: true }
  )
  return yield* Effect.gen(function*() {
    yield* ingest(jobId)
    for (let i = 1; i <= options.workers; i++) yield* Effect.forkScoped(runWorker(`worker-${i}`))
    const job = yield* awaitJob(jobId, options.onUpdate)
    if (job.status === "failed") {
      return yield* new JobFailed({ jobId, errorTag: job.error?._tag ?? "Unknown", reason: job.error?.message ?? "the job failed" })
    }
    return job
  }).pipe(
    // Workers (and their ffmpeg children) stop before anything is removed.
    Effect.scoped,
    Effect.onExit((exit) => (exit._tag === "Success" ? Effect.void : removePartialOutputs))
  )
}, Effect.scoped)
