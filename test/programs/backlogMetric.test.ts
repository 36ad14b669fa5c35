/**
 * The work-sized scaling signal: a sweeper pass reports `BacklogWorkSeconds` from the job records
 * (waiting tasks' estimates whole, running ones by what is left), corrected by what finished tasks
 * took; the CloudWatch backlog alarm reads it (infra/scaling.ts).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { Effect, Layer, References } from "effect"
import { areaFoldersUnder, folderStorageLayer } from "../../src/layers/local/FolderStorage.ts"
import { makeLogMetrics } from "../../src/layers/local/LogMetrics.ts"
import { memoryCoordinatorLayer } from "../../src/layers/local/MemoryCoordinator.ts"
import { memoryJobQueueLayer } from "../../src/layers/local/MemoryJobQueue.ts"
import { memoryJobStoreLayer } from "../../src/layers/local/MemoryJobStore.ts"
import { newJob } from "../../src/programs/jobRecords.ts"
import { sweepOnce } from "../../src/programs/sweeper.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { PipelineMetrics } from "../../src/services/PipelineMetrics.ts"
import type { TaskState } from "../../src/domain/Job.ts"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-backlog-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const task = (taskId: string, fields: Partial<TaskState>): TaskState => ({ taskId, kind: "chunk", label: taskId, status: "queued", progress: 0, attempts: 0, ...fields })

describe("BacklogWorkSeconds", () => {
  it("is what a sweeper pass reports: waiting work whole, running work by what is left, corrected by finished tasks", async () => {
    const metrics = Effect.runSync(makeLogMetrics)
    const layer = Layer.mergeAll(
      memoryJobQueueLayer(),
      memoryCoordinatorLayer,
      memoryJobStoreLayer,
      folderStorageLayer(areaFoldersUnder(root)),
      Layer.succeed(PipelineMetrics, metrics),
      Layer.succeed(References.MinimumLogLevel, "None")
    )
    const now = Date.now()
    await Effect.runPromise(Effect.gen(function*() {
      const store = yield* JobStore
      const job = (id: string, tasks: ReadonlyArray<TaskState>) =>
        store.create({ ...newJob({ id, fileName: "a.mp4", sourceKey: `${id}/a.mp4`, outputPrefix: `${id}/`, segmentSeconds: 4, now }), status: "processing", tasks })
      // Three finished tasks took 1.5x their estimates: 90 s for 60.
      yield* job("a", [
        task("a1", { status: "done", progress: 1, estimatedSeconds: 20, taskSeconds: 30 }),
        task("a2", { status: "done", progress: 1, estimatedSeconds: 20, taskSeconds: 30 }),
        task("a3", { status: "running", progress: 0.5, estimatedSeconds: 200 }),
        task("a4", { estimatedSeconds: 400 })
      ])
      yield* job("b", [task("b1", { status: "done", progress: 1, estimatedSeconds: 20, taskSeconds: 30 }), task("b2", { estimatedSeconds: 100 })])
      yield* sweepOnce("sweeper-test")
    }).pipe(Effect.provide(layer)))
    // (400 + 100 waiting + 100 left of the running one) × 1.5
    expect((await Effect.runPromise(metrics.totals))["BacklogWorkSeconds"]).toBe(900)
  })
})
