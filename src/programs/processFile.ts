/**
 * `vidpipe process`: the whole pipeline in one process — store the source, ingest, run N worker
 * fibers over the queue, wait for the finalizer — through the same services and programs that
 * run distributed.
 */
import { Effect, Schedule } from "effect"
import type { Strategy } from "../domain/Chunking.ts"
import { JobFailed } from "../domain/Errors.ts"
import type { Job } from "../domain/Job.ts"
import { ChunkPlanning } from "../services/ChunkPlanning.ts"
import { JobQueue } from "../services/JobQueue.ts"
import { Storage } from "../services/Storage.ts"
import { awaitJob } from "./awaitJob.ts"
import { newJobId } from "./jobRecords.ts"
import type { SidecarCaption } from "./sidecarCaptions.ts"
import { createAndIngest, storeLocalSource } from "./submitFile.ts"
import { runWorker } from "./worker.ts"

export interface ProcessOptions {
  readonly input: string
  readonly workers: number
  readonly ladder?: ReadonlyArray<number> | undefined
  /** How to divide the video into tasks (`auto` plans for `workers`); rendition when omitted. */
  readonly strategy?: Strategy | undefined
  /** Prefix of the outputs in the outputs area ("" when the area is the presentation's own folder). */
  readonly outputPrefix: string
  /** False: no storyboard. */
  readonly storyboard?: boolean | undefined
  readonly captions?: ReadonlyArray<SidecarCaption> | undefined
  readonly onUpdate?: (job: Job) => Effect.Effect<void>
}

export const processFile = Effect.fn("processFile")(function*(options: ProcessOptions) {
  const storage = yield* Storage
  const queue = yield* JobQueue
  const jobId = newJobId()
  // The source copy only lives as long as this run. Registered before it is stored, so that an
  // interrupt at any moment of the store still removes what the store created.
  yield* Effect.addFinalizer(() => storage.deletePrefix("uploads", `${jobId}/`).pipe(Effect.ignore))
  const source = yield* storeLocalSource(options.input, jobId)
  yield* createAndIngest({ ...source, outputPrefix: options.outputPrefix, ladder: options.ladder, strategy: options.strategy, storyboard: options.storyboard, captions: options.captions }).pipe(
    Effect.provideService(ChunkPlanning, { workers: options.workers })
  )

  // Leave nothing of the presentation behind when the job fails or is interrupted (a manifest
  // published just before an interrupt included): the prefix is this run's alone.
  const removePartialOutputs = storage.deletePrefix("outputs", options.outputPrefix).pipe(Effect.ignore)
  return yield* Effect.gen(function*() {
    for (let i = 1; i <= options.workers; i++) yield* Effect.forkScoped(runWorker(`worker-${i}`))
    // The job store is in this process: reading it often costs nothing and ends the run sooner.
    const job = yield* awaitJob(jobId, options.onUpdate, 50)
    // The finalizing worker still acknowledges its task (and logs its timings): let it, briefly.
    yield* queue.depth.pipe(
      Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (depth) => depth.inFlight === 0 }),
      Effect.timeout("2 seconds"),
      Effect.ignore
    )
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
