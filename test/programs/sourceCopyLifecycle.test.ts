/**
 * When a worker's source copy goes (programs/sourceCopy.ts, worker.ts), with scripted ffmpeg on
 * the embedded layers: kept between the tasks of a job while more of them wait in the queue,
 * removed when the job's last task here ends, and removed when the worker is stopped mid-task.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule, Stream } from "effect"
import { makeLocalSourceCopies } from "../../src/layers/local/LocalSourceCopies.ts"
import { awaitJob } from "../../src/programs/awaitJob.ts"
import { runWorker } from "../../src/programs/worker.ts"
import type { FfmpegShape } from "../../src/services/Ffmpeg.ts"
import { Ffmpeg } from "../../src/services/Ffmpeg.ts"
import { SourceCopies } from "../../src/services/SourceCopies.ts"
import { Storage } from "../../src/services/Storage.ts"
import { submitScriptedJob } from "../support/scriptedFfmpeg.ts"
import { fastSettings, scriptedWorkers } from "../support/scriptedWorkers.ts"

const copiesFolder = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-copy-lifecycle-"))),
  (made) => Effect.promise(() => fs.rm(made, { recursive: true, force: true }))
)

/** Every file under `folder`, relative to it. */
const filesUnder = (folder: string) =>
  Effect.promise(() =>
    fs.readdir(folder, { recursive: true, withFileTypes: true }).then(
      (entries) => entries.filter((entry) => entry.isFile()).map((entry) => path.relative(folder, path.join(entry.parentPath, entry.name))),
      () => []
    )
  )

/** What `folder` holds; nothing when it is gone (the last copy removed takes the copies' folder with it). */
const entriesOf = (folder: string) => Effect.promise(() => fs.readdir(folder).catch(() => [] as Array<string>))

describe("a worker's source copy", () => {
  it.live("is kept between the tasks of a job on one worker, and removed when its last task ends", () => {
    const workers = scriptedWorkers({ settings: fastSettings, logLevel: "None" })
    return workers.provide(Effect.scoped(Effect.gen(function*() {
      const folder = yield* copiesFolder
      const seen: Array<ReadonlyArray<string>> = []
      // Each encode notes what the copies' folder holds when it starts.
      const real = yield* Ffmpeg
      const note = filesUnder(folder).pipe(Effect.map((files) => void seen.push(files)))
      const ffmpeg: FfmpegShape = {
        ...real,
        encodeVideo: (spec) => Stream.unwrap(Effect.as(note, real.encodeVideo(spec))),
        encodeAudio: (spec) => Stream.unwrap(Effect.as(note, real.encodeAudio(spec)))
      }
      const { id, tasks } = yield* submitScriptedJob
      assert.isAtLeast(tasks.length, 3)
      const storage = yield* Storage
      let copies = 0
      yield* Effect.forkScoped(runWorker("only").pipe(
        Effect.provideService(SourceCopies, makeLocalSourceCopies({ folder })),
        Effect.provideService(Ffmpeg, ffmpeg),
        Effect.provideService(Storage, { ...storage, copyToFile: (...args) => Effect.suspend(() => (copies++, storage.copyToFile(...args))) })
      ))
      const job = yield* awaitJob(id, undefined, 50).pipe(Effect.timeout("30 seconds"))
      assert.strictEqual(job.status, "ready")
      // One worker, tasks one after another: each found the same single copy (one link of this process beside it).
      assert.strictEqual(seen.length, tasks.length)
      for (const files of seen) {
        assert.deepStrictEqual(files.map((file) => file.split(path.sep).slice(1).join("/").replace(/^held-[^/]+/, "held")).sort(), ["copy/clip.mp4", "held/clip.mp4"])
      }
      assert.strictEqual(new Set(seen.map((files) => files.join())).size, 1)
      assert.strictEqual(copies, 1, "copied once for the job's tasks")
      // The last task ended: nothing left.
      assert.deepStrictEqual(yield* entriesOf(folder), [])
    })))
  })

  it.live("is removed when the worker is stopped in the middle of a task", () => {
    const workers = scriptedWorkers({ script: { encodeMillis: 60_000 }, settings: fastSettings, logLevel: "None" })
    return workers.provide(Effect.scoped(Effect.gen(function*() {
      const folder = yield* copiesFolder
      yield* submitScriptedJob
      const worker = yield* Effect.forkScoped(runWorker("only").pipe(Effect.provideService(SourceCopies, makeLocalSourceCopies({ folder }))))
      yield* filesUnder(folder).pipe(
        Effect.flatMap((files) => (files.length > 0 ? Effect.void : Effect.fail("no copy yet"))),
        Effect.retry(Schedule.spaced("20 millis")),
        Effect.timeout("10 seconds")
      )
      yield* Fiber.interrupt(worker)
      assert.deepStrictEqual(yield* entriesOf(folder), [])
    })))
  })
})
