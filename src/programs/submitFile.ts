/**
 * Submits a local video file as a job: stores the source, records the job and ingests it
 * (probe, plan, enqueue). What the upload API does for a browser, for a file on this machine.
 */
import { Clock, Effect, FileSystem } from "effect"
import type { Strategy } from "../domain/Chunking.ts"
import { SourceNotFound, UnusableInput } from "../domain/Errors.ts"
import { JobStore } from "../services/JobStore.ts"
import { PipelineSettings } from "../services/PipelineSettings.ts"
import { Storage } from "../services/Storage.ts"
import type { SidecarCaption } from "./sidecarCaptions.ts"
import { storeSidecarCaptions } from "./sidecarCaptions.ts"
import { ingest } from "./ingest.ts"
import { newJob, newJobId, safeFileName } from "./jobRecords.ts"

/** Refuses what is plainly not a file before anything is stored. */
const checkInput = Effect.fnUntraced(function*(input: string) {
  const fs = yield* FileSystem.FileSystem
  const stat = yield* fs.stat(input).pipe(Effect.mapError(() => new SourceNotFound({ path: input })))
  if (stat.type !== "File") return yield* new UnusableInput({ reason: `${input} is not a regular file` })
  if (stat.size === 0n) return yield* new UnusableInput({ reason: "the file is empty (0 bytes)" })
  return Number(stat.size)
})

export interface SubmitOptions {
  readonly input: string
  readonly ladder?: ReadonlyArray<number> | undefined
  /** How to divide the video into tasks; rendition when omitted. */
  readonly strategy?: Strategy | undefined
  /** Prefix of the job's outputs; defaults to `<jobId>/`. */
  readonly outputPrefix?: (jobId: string) => string
}

/** Copies a local file into the uploads area under the job's id (a new one unless given). */
export const storeLocalSource = Effect.fn("storeLocalSource")(function*(input: string, jobId: string = newJobId()) {
  const storage = yield* Storage
  yield* checkInput(input)
  const fileName = safeFileName(input)
  const sourceKey = `${jobId}/${fileName}`
  yield* storage.putFile("uploads", sourceKey, input)
  return { jobId, fileName, sourceKey }
})

/** Records the job for a stored source and ingests it. */
export const createAndIngest = Effect.fn("createAndIngest")(function*(source: {
  readonly jobId: string
  readonly fileName: string
  readonly sourceKey: string
  readonly outputPrefix: string
  readonly ladder?: ReadonlyArray<number> | undefined
  readonly strategy?: Strategy | undefined
  readonly storyboard?: boolean | undefined
  /** Sidecar captions, already checked and converted (`readSidecarCaption`). */
  readonly captions?: ReadonlyArray<SidecarCaption> | undefined
}) {
  const store = yield* JobStore
  const settings = yield* PipelineSettings
  const sidecarCaptions = yield* storeSidecarCaptions(source.outputPrefix, source.captions ?? [])
  yield* store.create(newJob({
    id: source.jobId,
    fileName: source.fileName,
    sourceKey: source.sourceKey,
    outputPrefix: source.outputPrefix,
    segmentSeconds: settings.segmentSeconds,
    requestedLadder: source.ladder,
    strategy: source.strategy,
    storyboard: source.storyboard,
    sidecarCaptions,
    now: yield* Clock.currentTimeMillis
  }))
  return yield* ingest(source.jobId)
})

export const submitFile = Effect.fn("submitFile")(function*(options: SubmitOptions) {
  const source = yield* storeLocalSource(options.input)
  yield* createAndIngest({
    ...source,
    outputPrefix: options.outputPrefix?.(source.jobId) ?? `${source.jobId}/`,
    ladder: options.ladder,
    strategy: options.strategy
  })
  return source
})
