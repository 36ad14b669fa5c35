/**
 * Spot capacity (issue 22): `runWorkerOnSpot` over the IMDS layer, with an IMDSv2 stand-in over
 * real HTTP whose `spot/instance-action` and `events/recommendations/rebalance` the tests set while
 * the worker runs, scripted ffmpeg reporting its progress along each encode, and the in-process
 * queue with a 60 s visibility timeout, so a task handed back (visible at once) cannot be mistaken
 * for one whose visibility ran out.
 *
 * No timing luck: each notice is posted once the encode has reported progress (so the worker has a
 * pace to weigh), and the verdicts are far apart: a task with ~2 s left against a 115 s window, or
 * one with ~2 minutes left against a 55 s window.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Option, References, Schedule } from "effect"
import { expectedEnd } from "../../src/domain/TaskPace.ts"
import { imdsSpotNoticesLayer, instanceActionPath, rebalancePath } from "../../src/layers/aws/ImdsSpotNotices.ts"
import { areaFoldersUnder, folderStorageLayer } from "../../src/layers/local/FolderStorage.ts"
import { makeLocalFleetControl } from "../../src/layers/local/LocalFleetControl.ts"
import { localSourceCopiesLayer } from "../../src/layers/local/LocalSourceCopies.ts"
import { logMetricsLayer } from "../../src/layers/local/LogMetrics.ts"
import { memoryIdleRegistryLayer } from "../../src/layers/local/MemoryIdleRegistry.ts"
import { sharedScaleInProtectionLayer } from "../../src/layers/SharedScaleInProtection.ts"
import { mustEndBy, runWorkerOnSpot } from "../../src/programs/spotInterruption.ts"
import { FleetControl } from "../../src/services/FleetControl.ts"
import { IdleRegistry } from "../../src/services/IdleRegistry.ts"
import { JobQueue } from "../../src/services/JobQueue.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { defaultPipelineSettings, PipelineSettings } from "../../src/services/PipelineSettings.ts"
import type { ImdsStandIn } from "../support/imdsStandIn.ts"
import { startImdsStandIn } from "../support/imdsStandIn.ts"
import { memoryBackends } from "../support/memoryBackends.ts"
import { makeScriptedFfmpeg, submitScriptedJob } from "../support/scriptedFfmpeg.ts"

let imds: ImdsStandIn

beforeAll(async () => {
  imds = await startImdsStandIn({ "instance-id": "i-0abc123def4567890" })
})
afterAll(() => imds.close())
afterEach(() => {
  delete imds.metadata[instanceActionPath]
  delete imds.metadata[rebalancePath]
})

/** Posts an interruption notice, as EC2 does two minutes ahead (here: `inMillis` ahead). */
const postInterruption = (action: "terminate" | "stop" | "hibernate", inMillis: number) => {
  imds.metadata[instanceActionPath] = JSON.stringify({ action, time: new Date(Date.now() + inMillis).toISOString().replace(/\.\d+Z$/, "Z") })
}
const postRebalance = () => {
  imds.metadata[rebalancePath] = JSON.stringify({ noticeTime: new Date().toISOString().replace(/\.\d+Z$/, "Z") })
}

const environment = (script: { readonly encodeMillis: number; readonly progressReports: number }) => {
  const ffmpeg = makeScriptedFfmpeg(script)
  const folder = path.join(os.tmpdir(), `vidpipe-spot-${Math.random().toString(36).slice(2)}`)
  const fleet = Effect.runSync(makeLocalFleetControl("w1"))
  const layer = Layer.mergeAll(
    memoryBackends({ maxReceiveCount: 5, defaultVisibility: "60 seconds" }),
    memoryIdleRegistryLayer,
    logMetricsLayer,
    folderStorageLayer(areaFoldersUnder(folder)),
    ffmpeg.layer,
    localSourceCopiesLayer(),
    Layer.provideMerge(sharedScaleInProtectionLayer, Layer.succeed(FleetControl, fleet)),
    imdsSpotNoticesLayer({ baseUrl: imds.url }),
    Layer.succeed(PipelineSettings, { ...defaultPipelineSettings, pollSeconds: 1, visibility: Duration.seconds(60), heartbeatEvery: Duration.seconds(1) }),
    Layer.succeed(References.MinimumLogLevel, process.env.SPOT_DEBUG ? "Debug" : "None")
  )
  const cleanup = Effect.promise(() => fs.rm(folder, { recursive: true, force: true }))
  return { ffmpeg, fleet, provide: <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.scoped, Effect.provide(layer), Effect.ensuring(cleanup)) }
}

const waitUntil = <E, R>(check: Effect.Effect<boolean, E, R>, what: string) =>
  check.pipe(
    Effect.flatMap((ok) => (ok ? Effect.void : Effect.fail("not yet"))),
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeoutOrElse({ duration: "30 seconds", orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) })
  )

/** The task the worker is encoding, once it has reported progress (so the worker has a pace). */
const encodingWithProgress = (jobId: string) =>
  Effect.gen(function*() {
    const store = yield* JobStore
    let running: string | undefined
    yield* waitUntil(
      // Suspended: the memory store's `get` captures the record when called, and each try must read it anew.
      Effect.suspend(() => store.get(jobId)).pipe(Effect.map((job) => {
        running = job.tasks.find((t) => t.status === "running" && t.progress > 0)?.taskId
        return running !== undefined
      })),
      "an encode to report progress"
    )
    return running!
  })

/** Joins the worker, which must stop well within `within`. */
const stopsWithin = <A, E>(worker: Fiber.Fiber<A, E>, within: Duration.Input) =>
  Fiber.join(worker).pipe(Effect.timeoutOrElse({ duration: within, orElse: () => Effect.die(new Error(`the worker did not stop within ${Duration.format(Duration.fromInputUnsafe(within))}`)) }))

/** The worker has left the idle set and released the instance's protection. */
const expectGoneFromFleet = (fleet: ReturnType<typeof environment>["fleet"]) =>
  Effect.gen(function*() {
    assert.isFalse(yield* fleet.protectedNow, "scale-in protection released")
    assert.deepStrictEqual((yield* (yield* IdleRegistry).idle("1 hour")).map((e) => e.instanceId), [], "not in the idle set")
  })

describe("Spot interruption notices", () => {
  it.live("a notice far enough away: the running task finishes, nothing else is taken, the worker stops", () => {
    const env = environment({ encodeMillis: 3000, progressReports: 30 })
    return env.provide(Effect.gen(function*() {
      const { id, tasks } = yield* submitScriptedJob
      const worker = yield* Effect.forkChild(runWorkerOnSpot("w1", { checkEvery: "100 millis", margin: "5 seconds" }))
      const running = yield* encodingWithProgress(id)
      // About 2.5 s of encoding left against 120 s less the 5 s margin.
      postInterruption("terminate", 120_000)
      yield* stopsWithin(worker, "20 seconds")

      const job = yield* (yield* JobStore).get(id)
      assert.deepStrictEqual(job.tasks.filter((t) => t.status === "done").map((t) => [t.taskId, t.attempts]), [[running, 1]], "only the running task, done on its first attempt")
      assert.deepStrictEqual(yield* (yield* JobQueue).depth, { visible: tasks.length - 1, inFlight: 0, deadLettered: 0 })
      assert.isTrue(imds.seen.some((r) => r.path === `/latest/meta-data/${instanceActionPath}` && r.token !== undefined), "asked IMDSv2, with a token")
      yield* expectGoneFromFleet(env.fleet)
    }))
  })

  it.live("a notice too close for a long task: it is handed back at once, visible again, and the worker stops", () => {
    const env = environment({ encodeMillis: 120_000, progressReports: 1200 })
    return env.provide(Effect.gen(function*() {
      const { id, tasks } = yield* submitScriptedJob
      const worker = yield* Effect.forkChild(runWorkerOnSpot("w1", { checkEvery: "100 millis", margin: "5 seconds" }))
      const running = yield* encodingWithProgress(id)
      // About two minutes of encoding left against 60 s less the margin.
      postInterruption("terminate", 60_000)
      yield* stopsWithin(worker, "30 seconds")

      // Visible again now, though its visibility timeout (60 s) is far from over.
      assert.deepStrictEqual(yield* (yield* JobQueue).depth, { visible: tasks.length, inFlight: 0, deadLettered: 0 })
      const job = yield* (yield* JobStore).get(id)
      assert.deepStrictEqual(job.tasks.filter((t) => t.status === "done"), [])
      assert.strictEqual(job.tasks.find((t) => t.taskId === running)?.attempts, 1)
      yield* expectGoneFromFleet(env.fleet)
    }))
  })

  it.live("a rebalance recommendation lets the running task go on; an interruption notice that follows hands it back", () => {
    const env = environment({ encodeMillis: 120_000, progressReports: 1200 })
    return env.provide(Effect.gen(function*() {
      const { id, tasks } = yield* submitScriptedJob
      const worker = yield* Effect.forkChild(runWorkerOnSpot("w1", { checkEvery: "100 millis", margin: "5 seconds" }))
      yield* encodingWithProgress(id)
      postRebalance()
      // Two full rounds of checks after the recommendation was posted: the worker has seen it.
      const posted = imds.seen.length
      const checksOfRebalance = () => imds.seen.slice(posted).filter((r) => r.path === `/latest/meta-data/${rebalancePath}`).length
      yield* waitUntil(Effect.sync(() => checksOfRebalance() >= 2), "the worker to read the recommendation twice")
      assert.deepStrictEqual(yield* (yield* JobQueue).depth, { visible: tasks.length - 1, inFlight: 1, deadLettered: 0 }, "the task is still held")
      assert.isUndefined(worker.pollUnsafe(), "the worker still runs")

      postInterruption("stop", 60_000)
      yield* stopsWithin(worker, "30 seconds")
      assert.deepStrictEqual(yield* (yield* JobQueue).depth, { visible: tasks.length, inFlight: 0, deadLettered: 0 })
      yield* expectGoneFromFleet(env.fleet)
    }))
  })

  it.live("an idle worker told of a rebalance recommendation stops and leaves the idle set", () => {
    const env = environment({ encodeMillis: 50, progressReports: 0 })
    return env.provide(Effect.gen(function*() {
      const worker = yield* Effect.forkChild(runWorkerOnSpot("w1", { checkEvery: "100 millis" }))
      const idle = yield* IdleRegistry
      yield* waitUntil(Effect.map(idle.idle("1 hour"), (entries) => entries.some((e) => e.instanceId === "w1")), "the worker to register as idle")
      postRebalance()
      yield* stopsWithin(worker, "30 seconds")
      yield* expectGoneFromFleet(env.fleet)
    }))
  })

  it.live("hibernation comes without a two-minute warning: even a short task is handed back at once", () => {
    const env = environment({ encodeMillis: 3000, progressReports: 30 })
    return env.provide(Effect.gen(function*() {
      const { id, tasks } = yield* submitScriptedJob
      const worker = yield* Effect.forkChild(runWorkerOnSpot("w1", { checkEvery: "100 millis", margin: "5 seconds" }))
      yield* encodingWithProgress(id)
      postInterruption("hibernate", 120_000)
      yield* stopsWithin(worker, "30 seconds")
      assert.deepStrictEqual(yield* (yield* JobQueue).depth, { visible: tasks.length, inFlight: 0, deadLettered: 0 })
    }))
  })
})

describe("the pace and the deadline", () => {
  it("a task's end is expected at its pace so far, and not at all before it has reported progress", () => {
    assert.deepStrictEqual(expectedEnd({ startedAt: 1000, fraction: 0.25 }, 5000), Option.some(17_000))
    assert.deepStrictEqual(expectedEnd({ startedAt: 1000, fraction: 1 }, 5000), Option.some(5000))
    assert.deepStrictEqual(expectedEnd({ startedAt: 1000, fraction: undefined }, 5000), Option.none())
    assert.deepStrictEqual(expectedEnd({ startedAt: 1000, fraction: 0 }, 5000), Option.none())
    assert.deepStrictEqual(expectedEnd({ startedAt: undefined, fraction: 0.5 }, 5000), Option.none())
  })

  it("no task may outlast the action time less the margin; for hibernation, now", () => {
    const at = Date.parse("2026-12-06T01:02:03Z")
    assert.strictEqual(mustEndBy({ _tag: "SpotInterruption", action: "terminate", at }, "30 seconds", at - 120_000), at - 30_000)
    assert.strictEqual(mustEndBy({ _tag: "SpotInterruption", action: "hibernate", at }, "30 seconds", at - 120_000), at - 120_000)
  })
})
