/**
 * The scheduled sweeper Lambda (src/entry/lambda/sweeperHandler.ts, deployed by infra/lambdas.ts)
 * over the embedded layers: one sweep per invocation on services built once per container, and a
 * backend failure rejects the invocation (the next scheduled one tries again).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { Effect, Layer, References } from "effect"
import { JobStoreFailed } from "../../src/domain/Errors.ts"
import { makeSweeperHandler } from "../../src/entry/lambda/sweeperHandler.ts"
import { areaFoldersUnder, folderStorageLayer } from "../../src/layers/local/FolderStorage.ts"
import { logMetricsLayer } from "../../src/layers/local/LogMetrics.ts"
import { memoryCoordinatorLayer } from "../../src/layers/local/MemoryCoordinator.ts"
import { memoryJobQueueLayer } from "../../src/layers/local/MemoryJobQueue.ts"
import { makeMemoryJobStore } from "../../src/layers/local/MemoryJobStore.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { makeScriptedFfmpeg } from "../support/scriptedFfmpeg.ts"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-sweeper-lambda-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const services = (store: Layer.Layer<JobStore>) =>
  Layer.mergeAll(
    memoryJobQueueLayer(),
    memoryCoordinatorLayer,
    store,
    folderStorageLayer(areaFoldersUnder(root)),
    logMetricsLayer,
    makeScriptedFfmpeg().layer,
    Layer.succeed(References.MinimumLogLevel, "None")
  )

describe("sweeper Lambda", () => {
  it("sweeps on every invocation with the services it built on the first", async () => {
    let builds = 0
    let lists = 0
    const store = Layer.effect(JobStore, Effect.gen(function*() {
      builds++
      const memory = yield* makeMemoryJobStore
      return JobStore.of({ ...memory, list: (options) => Effect.suspend(() => (lists++, memory.list(options))) })
    }))
    const handler = makeSweeperHandler(services(store), "sweeper-test")
    expect(await handler({ source: "aws.events", "detail-type": "Scheduled Event" })).toEqual({ owner: "sweeper-test" })
    expect(await handler({})).toEqual({ owner: "sweeper-test" })
    expect({ builds, lists }).toEqual({ builds: 1, lists: 2 })
    await handler.dispose()
  })

  it("rejects when the job store fails, so the invocation is reported as an error", async () => {
    const store = Layer.effect(JobStore, Effect.gen(function*() {
      const memory = yield* makeMemoryJobStore
      return JobStore.of({ ...memory, list: () => Effect.fail(new JobStoreFailed({ operation: "list", reason: "Redis is down", retryable: true })) })
    }))
    const handler = makeSweeperHandler(services(store), "sweeper-test")
    await expect(handler()).rejects.toThrow(/Redis is down/)
    await handler.dispose()
  })
})
