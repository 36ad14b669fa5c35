/**
 * Workers read their source from a copy on their own disk (issue 20), with real ffmpeg:
 *
 * - In process (`processFile`, three tasks), on folder storage with one worker fiber (the tasks one
 *   after another) and on S3 (s3rver) with two (side by side): every encode waits at a gate until the source has been deleted from storage, after
 *   the worker copied it and before any ffmpeg starts; the job still reaches ready, every encode
 *   read the one copy (made once for the job on this "machine", sequential tasks included), and
 *   the copy is gone once the job's last task ended.
 * - `vidpipe worker` processes on Redis: a worker whose disk cannot hold the task (its reserve set
 *   beyond any disk) refuses it with DiskTooSmall and hands it back; a second worker, started only
 *   then, does every task; the job is ready and published once, and neither worker's copies'
 *   folder keeps anything.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Deferred, Effect, Layer, Option, References, Stream } from "effect"
import type { Job } from "../../src/domain/Job.ts"
import { memoryCoordinationLayer, servicesLayer } from "../../src/layers/embedded.ts"
import { makeS3Storage } from "../../src/layers/aws/S3Storage.ts"
import { areaFoldersUnder, folderStorageLayer } from "../../src/layers/local/FolderStorage.ts"
import { localFleetControlLayer } from "../../src/layers/local/LocalFleetControl.ts"
import { makeLocalSourceCopies } from "../../src/layers/local/LocalSourceCopies.ts"
import { logMetricsLayer } from "../../src/layers/local/LogMetrics.ts"
import { memoryJobQueueLayer } from "../../src/layers/local/MemoryJobQueue.ts"
import { noCdnCacheLayer } from "../../src/layers/local/NoCdnCache.ts"
import { processFile } from "../../src/programs/processFile.ts"
import type { FfmpegShape } from "../../src/services/Ffmpeg.ts"
import { Ffmpeg } from "../../src/services/Ffmpeg.ts"
import { defaultPipelineSettings, PipelineSettings } from "../../src/services/PipelineSettings.ts"
import { SourceCopies } from "../../src/services/SourceCopies.ts"
import type { StorageShape } from "../../src/services/Storage.ts"
import { Storage } from "../../src/services/Storage.ts"
import { lastJsonLine, runVidpipe } from "../support/cli.ts"
import { makeClip } from "../support/clips.ts"
import { checkPresentation } from "../support/dashInspect.ts"
import type { Fleet } from "../support/fleet.ts"
import { startFleet, waitFor } from "../support/fleet.ts"
import type { S3Peer } from "../support/s3Peer.ts"
import { createBuckets, peerClientConfig, startS3rver, uniqueBucket } from "../support/s3Peer.ts"

let workdir = ""
let clip = ""
let s3: S3Peer | undefined

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-source-copy-"))
  // 360p: a 360p and a 240p rung and the audio, three tasks.
  clip = await makeClip({ output: path.join(workdir, "clip.mp4"), durationSeconds: 6, width: 640, height: 360 })
})
afterAll(async () => {
  await s3?.stop()
  await fs.rm(workdir, { recursive: true, force: true })
})

const entriesOf = (folder: string) => fs.readdir(folder).catch(() => [] as Array<string>)

/**
 * Real ffmpeg, but every encode first waits for `gate`; the first one to arrive runs `atGate`
 * (with the input it was given) and then opens it. The inputs every encode got are recorded.
 */
const gatedFfmpeg = (real: FfmpegShape, atGate: (input: string) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const gate = yield* Deferred.make<void>()
    const inputs: Array<string> = []
    const wait = (input: string) =>
      Effect.suspend(() => {
        inputs.push(input)
        return inputs.length === 1 ? atGate(input).pipe(Effect.andThen(Deferred.succeed(gate, undefined))) : Deferred.await(gate)
      })
    const ffmpeg: FfmpegShape = {
      ...real,
      encodeVideo: (spec) => Stream.unwrap(Effect.as(wait(spec.input), real.encodeVideo(spec))),
      encodeAudio: (spec) => Stream.unwrap(Effect.as(wait(spec.input), real.encodeAudio(spec))),
      encodeChunk: (spec) => Stream.unwrap(Effect.as(wait(spec.input), real.encodeChunk(spec)))
    }
    return { ffmpeg, inputs }
  })

/** The storage as given, with its copies to local files counted. */
const countingCopies = (real: StorageShape) => {
  const counts = { copies: 0 }
  const storage: StorageShape = {
    ...real,
    copyToFile: (area, key, target, options) => Effect.suspend(() => {
      counts.copies++
      return real.copyToFile(area, key, target, options)
    })
  }
  return { storage, counts }
}

interface InProcessOutcome {
  readonly job: Job
  readonly inputs: ReadonlyArray<string>
  readonly copies: number
  readonly sourceGoneAtGate: boolean
  readonly copiesFolder: string
}

/**
 * `processFile` with two workers on `storage`, encodes gated until the source is deleted from
 * storage; what the encodes read, how many copies were made, and the copies' folder afterwards.
 */
const processWithSourceDeleted = (storage: Layer.Layer<Storage, unknown>, workers: number) =>
  Effect.gen(function*() {
    const copiesFolder = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-source-copies-")))
    const counted = countingCopies(yield* Storage)
    let sourceGoneAtGate = false
    const { ffmpeg, inputs } = yield* gatedFfmpeg(yield* Ffmpeg, () =>
      Effect.gen(function*() {
        // The first encode has its input (the copy, checked below) and no ffmpeg has started: now the source goes.
        const uploads = yield* counted.storage.list("uploads", "")
        yield* Effect.forEach(uploads, (upload) => counted.storage.delete("uploads", upload.key))
        sourceGoneAtGate = uploads.length === 1 && (yield* counted.storage.list("uploads", "")).length === 0
      }).pipe(Effect.orDie))
    const job = yield* processFile({ input: clip, workers, ladder: [360, 240], strategy: "rendition", outputPrefix: "presentation/", storyboard: false }).pipe(
      Effect.provideService(Ffmpeg, ffmpeg),
      Effect.provideService(Storage, counted.storage),
      Effect.provideService(SourceCopies, makeLocalSourceCopies({ folder: copiesFolder }))
    )
    return { job, inputs, copies: counted.counts.copies, sourceGoneAtGate, copiesFolder } satisfies InProcessOutcome
  }).pipe(
    Effect.provide(Layer.mergeAll(
      servicesLayer({
        queue: memoryJobQueueLayer(),
        coordination: memoryCoordinationLayer,
        storage,
        fleet: localFleetControlLayer("source-copy-test"),
        metrics: logMetricsLayer,
        cdn: noCdnCacheLayer
      }),
      // No second chances: an encode that cannot read its input fails the job at once, not after minutes of retries.
      Layer.succeed(PipelineSettings, { ...defaultPipelineSettings, pollSeconds: 1, transientRetries: 0, maxReceiveCount: 1 }),
      Layer.succeed(References.MinimumLogLevel, "Warn")
    )),
    Effect.runPromise
  )

/** What every in-process run must show, whatever the storage. */
const expectReadFromOneCopy = async (outcome: InProcessOutcome) => {
  expect(outcome.sourceGoneAtGate).toBe(true)
  expect(outcome.inputs.every((input) => input.startsWith(outcome.copiesFolder + path.sep)), outcome.inputs.join(", ")).toBe(true)
  expect(outcome.job.status).toBe("ready")
  expect(outcome.job.tasks).toHaveLength(3)
  // Three encodes, one copy: tasks running side by side share it, and a task taken after another
  // of the job ended here (the source already deleted) finds it still there.
  expect(outcome.inputs).toHaveLength(3)
  expect(new Set(outcome.inputs).size).toBe(1)
  expect(outcome.copies).toBe(1)
  // The job's last task on this machine ended: its copy is gone, folder and all.
  expect(await entriesOf(outcome.copiesFolder)).toEqual([])
  await fs.rm(outcome.copiesFolder, { recursive: true, force: true })
}

describe("a worker reads its source from a local copy", () => {
  it("folder storage, one worker: the source deleted after the copy, before ffmpeg starts; the job is ready", async () => {
    const root = await fs.mkdtemp(path.join(workdir, "store-"))
    // One worker: the tasks run one after another, and the copy outlives each but the last.
    const outcome = await processWithSourceDeleted(folderStorageLayer(areaFoldersUnder(root)), 1)
    await expectReadFromOneCopy(outcome)
    const report = await checkPresentation(path.join(root, "outputs", outcome.job.manifestKey!))
    expect(report.problems).toEqual([])
  }, 120_000)

  it("S3, two workers: the object deleted after the copy, before ffmpeg starts; the job is ready", async () => {
    s3 = await startS3rver()
    const buckets = { uploads: uniqueBucket("up"), outputs: uniqueBucket("out") }
    await createBuckets(s3.endpoint, buckets.uploads, buckets.outputs)
    const storage = Layer.effect(Storage, makeS3Storage({ buckets, clientConfig: peerClientConfig(s3.endpoint) }))
    const outcome = await processWithSourceDeleted(storage, 2)
    await expectReadFromOneCopy(outcome)
    const manifest = await Effect.runPromise(Effect.gen(function*() {
      return yield* (yield* Storage).head("outputs", outcome.job.manifestKey!)
    }).pipe(Effect.provide(storage)))
    expect(Option.isSome(manifest)).toBe(true)
  }, 120_000)
})

describe("a worker whose disk is too small", () => {
  let fleet: Fleet | undefined
  afterAll(async () => {
    await fleet?.close()
  })

  it("refuses the task with DiskTooSmall and hands it back; another worker finishes the job, published once", async () => {
    const f = (fleet = await startFleet())
    const [smallDisk, roomy] = await Promise.all([fs.mkdtemp(path.join(workdir, "copies-a-")), fs.mkdtemp(path.join(workdir, "copies-b-"))])
    // A reserve no disk has: every encode task is refused before anything is copied.
    const a = f.startWorker("A", { VIDPIPE_WORKER_CACHE_DIR: smallDisk, VIDPIPE_WORKER_DISK_RESERVE_MB: String(1e12) })
    const submitted = await runVidpipe(["submit", clip, "--json", "--strategy", "rendition", "--ladder", "360,240"], { env: f.env })
    expect(submitted.code, submitted.stderr).toBe(0)
    const jobId = lastJsonLine(submitted.stdout).jobId as string

    // A planned the job (a plan needs no copy) and refused an encode task: the job says why it waits.
    const refused = await waitFor(async () => {
      const job = await f.job(jobId)
      return job?.tasks?.find((t: any) => t.error?._tag === "DiskTooSmall")
    }, 60_000, "worker A to refuse a task")
    expect(refused.status).toBe("queued")
    expect(refused.error.message).toMatch(/not enough free disk for this task in .*: [\d.]+ MiB needed, [\d.]+ MiB free/)
    expect(a.log()).toMatch(/refused on receive 1, handed back for another worker: not enough free disk/)

    const b = f.startWorker("B", { VIDPIPE_WORKER_CACHE_DIR: roomy })
    const job = await waitFor(async () => {
      const current = await f.job(jobId)
      if (current?.status === "failed") throw new Error(`job failed: ${current.error?.message}`)
      return current?.status === "ready" ? current : undefined
    }, 120_000, `job ${jobId} to be ready`)
    expect(job.tasks.map((t: any) => t.worker)).toEqual(job.tasks.map(() => "B"))
    expect(job.tasks.every((t: any) => t.status === "done" && t.error === undefined)).toBe(true)
    expect(job.finalizeRuns).toBe(1)
    expect(job.manifestWrites).toBe(1)
    const report = await checkPresentation(path.join(f.storageDir, "outputs", job.manifestKey))
    expect(report.problems).toEqual([])
    // A copied nothing; B copied once, into its configured folder, and the copy went when the
    // job's last task on B ended.
    expect(await entriesOf(smallDisk)).toEqual([])
    expect(b.log().match(/source copied to \S+/g)).toEqual([`source copied to ${path.join(roomy, jobId, "copy", "clip.mp4")}`])
    expect(await entriesOf(roomy)).toEqual([])
  }, 180_000)
})
