/**
 * The termination lifecycle hook completed from the worker's own process (issue 15, item 7):
 * `runWorkerInFleet` over the AWS fleet layer, with the Auto Scaling client mocked
 * (aws-sdk-client-mock: nothing leaves the machine) and an IMDSv2 stand-in over real HTTP whose
 * `autoscaling/target-lifecycle-state` the test turns to `Terminated` while the worker holds a
 * task. CompleteLifecycleAction(CONTINUE) must come after the drain: at the moment it is called,
 * the worker holds no task (it finished it, or handed it back at the drain timeout).
 *
 * No timing luck: the test waits for the encode to start before asking for the termination, and
 * what it asserts is read at the moment the mocked call arrives, whatever the machine's speed.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { AutoScalingClient, AutoScalingServiceException, CompleteLifecycleActionCommand, SetInstanceProtectionCommand } from "@aws-sdk/client-auto-scaling"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { Deferred, Duration, Effect, Fiber, Layer, References, Schedule } from "effect"
import type { Job } from "../../src/domain/Job.ts"
import { autoScalingFleetControlLayer } from "../../src/layers/aws/AutoScalingFleetControl.ts"
import { areaFoldersUnder, folderStorageLayer } from "../../src/layers/local/FolderStorage.ts"
import { logMetricsLayer } from "../../src/layers/local/LogMetrics.ts"
import { memoryIdleRegistryLayer } from "../../src/layers/local/MemoryIdleRegistry.ts"
import { sharedScaleInProtectionLayer } from "../../src/layers/SharedScaleInProtection.ts"
import { defaultPipelineSettings, PipelineSettings } from "../../src/services/PipelineSettings.ts"
import { runWorkerInFleet } from "../../src/programs/terminationHook.ts"
import type { QueueDepth } from "../../src/services/JobQueue.ts"
import { JobQueue } from "../../src/services/JobQueue.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import type { ImdsStandIn } from "../support/imdsStandIn.ts"
import { startImdsStandIn } from "../support/imdsStandIn.ts"
import { makeScriptedFfmpeg, submitScriptedJob } from "../support/scriptedFfmpeg.ts"
import { memoryBackends } from "../support/memoryBackends.ts"
import { localSourceCopiesLayer } from "../../src/layers/local/LocalSourceCopies.ts"
import { imdsSpotNoticesLayer, rebalancePath } from "../../src/layers/aws/ImdsSpotNotices.ts"
import { completeHookAfterSpotDrain, drainingOnSpotNotices } from "../../src/programs/spotInterruption.ts"
import { IdleRegistry } from "../../src/services/IdleRegistry.ts"

const instanceId = "i-0abc123def4567890"
const lifecycleState = "autoscaling/target-lifecycle-state"
const autoScaling = mockClient(AutoScalingClient)
let imds: ImdsStandIn

beforeAll(async () => {
  imds = await startImdsStandIn({ "instance-id": instanceId })
})
afterAll(() => imds.close())
afterEach(() => {
  autoScaling.reset()
  delete imds.metadata[lifecycleState]
})

/** What the worker's world looked like when CompleteLifecycleAction arrived. */
interface AtCompletion {
  readonly job: Job
  readonly depth: QueueDepth
}

const environment = (encodeMillis: number) => {
  const ffmpeg = makeScriptedFfmpeg({ encodeMillis })
  const folder = path.join(os.tmpdir(), `vidpipe-termination-${Math.random().toString(36).slice(2)}`)
  const layer = Layer.mergeAll(
    memoryBackends({ maxReceiveCount: 5, defaultVisibility: "10 seconds" }),
    memoryIdleRegistryLayer,
    logMetricsLayer,
    folderStorageLayer(areaFoldersUnder(folder)),
    ffmpeg.layer,
    localSourceCopiesLayer(),
    Layer.provideMerge(sharedScaleInProtectionLayer, autoScalingFleetControlLayer({
      autoScalingGroupName: "vidpipe-workers",
      metadata: { baseUrl: imds.url },
      clientConfig: { region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } }
    })),
    Layer.succeed(PipelineSettings, { ...defaultPipelineSettings, pollSeconds: 1, visibility: Duration.seconds(10), heartbeatEvery: Duration.seconds(1) }),
    Layer.succeed(References.MinimumLogLevel, "None")
  )
  const cleanup = Effect.promise(() => fs.rm(folder, { recursive: true, force: true }))
  return { ffmpeg, provide: <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.scoped, Effect.provide(layer), Effect.ensuring(cleanup)) }
}

/** Records the job and the queue at the moment each CompleteLifecycleAction call arrives. */
const recordCompletions = (jobId: string) =>
  Effect.gen(function*() {
    const store = yield* JobStore
    const queue = yield* JobQueue
    const seen: Array<AtCompletion> = []
    autoScaling.on(SetInstanceProtectionCommand).resolves({})
    autoScaling.on(CompleteLifecycleActionCommand).callsFake(async () => {
      seen.push(await Effect.runPromise(Effect.all({ job: store.get(jobId), depth: queue.depth })))
      return {}
    })
    return seen
  })

const completions = () => autoScaling.commandCalls(CompleteLifecycleActionCommand).map((call) => call.args[0].input)

const expectedCompletion = { LifecycleHookName: "drain", AutoScalingGroupName: "vidpipe-workers", InstanceId: instanceId, LifecycleActionResult: "CONTINUE" }

const waitFor = (check: () => boolean, what: string) =>
  Effect.suspend(() => (check() ? Effect.void : Effect.fail(what))).pipe(
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeoutOrElse({ duration: "30 seconds", orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) })
  )

describe("termination lifecycle hook", () => {
  it.live("terminated while holding a task: the worker finishes it, then completes the hook with CONTINUE", () => {
    const env = environment(1500)
    return env.provide(Effect.gen(function*() {
      imds.metadata[lifecycleState] = "InService"
      const { id } = yield* submitScriptedJob
      const seen = yield* recordCompletions(id)
      const worker = yield* Effect.forkChild(runWorkerInFleet("w1", { lifecycleHookName: "drain", checkEvery: "100 millis", drainTimeout: "60 seconds" }))
      yield* waitFor(() => env.ffmpeg.calls.size > 0, "the first encode")
      // What Auto Scaling does when it puts the instance in Terminating:Wait.
      imds.metadata[lifecycleState] = "Terminated"
      assert.isTrue(yield* Fiber.join(worker), "the hook was completed")

      assert.deepStrictEqual(completions(), [expectedCompletion])
      const [at] = seen
      // At the call the drain was over: no task held, none in flight, and what was encoded is done.
      assert.deepStrictEqual(at!.job.tasks.filter((t) => t.status === "running"), [])
      assert.strictEqual(at!.depth.inFlight, 0)
      const encodes = [...env.ffmpeg.calls.values()].reduce((a, b) => a + b, 0)
      assert.isAtLeast(encodes, 1)
      assert.strictEqual(at!.job.tasks.filter((t) => t.status === "done").length, encodes, "every started encode finished")
      // The drain stopped the worker taking more: tasks were left for other instances.
      assert.isBelow(encodes, at!.job.tasks.length)
      assert.strictEqual(at!.depth.visible, at!.job.tasks.length - encodes)
    }))
  })

  it.live("terminated while a task outlasts the drain timeout: the task is handed back, then the hook is completed", () => {
    const env = environment(120_000)
    return env.provide(Effect.gen(function*() {
      imds.metadata[lifecycleState] = "InService"
      const { id, tasks } = yield* submitScriptedJob
      const seen = yield* recordCompletions(id)
      const worker = yield* Effect.forkChild(runWorkerInFleet("w1", { lifecycleHookName: "drain", checkEvery: "100 millis", drainTimeout: "300 millis" }))
      yield* waitFor(() => env.ffmpeg.calls.size > 0, "the first encode")
      imds.metadata[lifecycleState] = "Terminated"
      assert.isTrue(yield* Fiber.join(worker))

      assert.deepStrictEqual(completions(), [expectedCompletion])
      const [at] = seen
      // The interrupted task went back to the queue before the hook was completed.
      assert.deepStrictEqual(at!.depth, { visible: tasks.length, inFlight: 0, deadLettered: 0 })
      assert.deepStrictEqual(at!.job.tasks.filter((t) => t.status === "done"), [])
    }))
  })

  it.live("scaled in back into a warm pool (reuse on scale-in): the worker drains and completes the hook as for a termination", () => {
    const env = environment(1500)
    return env.provide(Effect.gen(function*() {
      imds.metadata[lifecycleState] = "InService"
      const { id } = yield* submitScriptedJob
      yield* recordCompletions(id)
      const worker = yield* Effect.forkChild(runWorkerInFleet("w1", { lifecycleHookName: "drain", checkEvery: "100 millis", drainTimeout: "60 seconds" }))
      yield* waitFor(() => env.ffmpeg.calls.size > 0, "the first encode")
      imds.metadata[lifecycleState] = "Warmed:Stopped"
      assert.isTrue(yield* Fiber.join(worker), "the hook was completed")
      assert.deepStrictEqual(completions(), [expectedCompletion])
    }))
  })

  it.live("an idle worker whose instance goes back into the warm pool leaves the idle set as it completes the hook", () => {
    const env = environment(50)
    return env.provide(Effect.gen(function*() {
      autoScaling.on(SetInstanceProtectionCommand).resolves({})
      autoScaling.on(CompleteLifecycleActionCommand).resolves({})
      imds.metadata[lifecycleState] = "InService"
      const registry = yield* IdleRegistry
      const worker = yield* Effect.forkChild(runWorkerInFleet("w1", { lifecycleHookName: "drain", checkEvery: "100 millis" }))
      // An empty long poll (1 s here) puts it in the idle set.
      yield* Effect.suspend(() => registry.idle(60_000)).pipe(
        Effect.flatMap((entries) => entries.some((e) => e.instanceId === "w1") ? Effect.void : Effect.fail("not idle yet")),
        Effect.retry(Schedule.spaced("50 millis")),
        Effect.timeout("30 seconds")
      )
      imds.metadata[lifecycleState] = "Warmed:Stopped"
      assert.isTrue(yield* Fiber.join(worker))
      assert.deepStrictEqual(completions(), [expectedCompletion])
      // Stopped into the pool, it is no spare capacity; it comes back under the same id later.
      assert.deepStrictEqual((yield* registry.idle(60_000)).map((e) => e.instanceId), [])
    }))
  })

  it.live("drained for a Spot rebalance before Auto Scaling asked: the worker stays until the instance is terminated, then completes the hook", () => {
    const env = environment(50)
    return env.provide(Effect.gen(function*() {
      autoScaling.on(SetInstanceProtectionCommand).resolves({})
      autoScaling.on(CompleteLifecycleActionCommand).resolves({})
      imds.metadata[lifecycleState] = "InService"
      imds.metadata[rebalancePath] = JSON.stringify({ noticeTime: "2026-12-06T00:00:00Z" })
      const drained = yield* Deferred.make<void>()
      const worker = yield* Effect.forkChild(drainingOnSpotNotices(
        "w1",
        {},
        (options) => runWorkerInFleet("w1", { ...options, lifecycleHookName: "drain", checkEvery: "100 millis" }).pipe(Effect.tap(() => Deferred.succeed(drained, undefined))),
        { checkEvery: "100 millis" },
        completeHookAfterSpotDrain("drain", "100 millis")
      ).pipe(Effect.provide(imdsSpotNoticesLayer({ baseUrl: imds.url }))))
      yield* Deferred.await(drained)
      // Drained, not terminated: nothing to complete yet, and the worker has not gone.
      assert.deepStrictEqual(completions(), [])
      assert.isUndefined(worker.pollUnsafe())
      // Capacity Rebalancing's replacement is running: Auto Scaling terminates this one.
      imds.metadata[lifecycleState] = "Terminated"
      assert.isTrue(yield* Fiber.join(worker))
      assert.deepStrictEqual(completions(), [expectedCompletion])
      delete imds.metadata[rebalancePath]
    }))
  })

  it.live("a throttled completion is tried again", () => {
    const env = environment(50)
    return env.provide(Effect.gen(function*() {
      autoScaling.on(SetInstanceProtectionCommand).resolves({})
      autoScaling.on(CompleteLifecycleActionCommand)
        .rejectsOnce(new AutoScalingServiceException({ name: "Throttling", $fault: "client", $metadata: { httpStatusCode: 400 }, message: "Rate exceeded" }))
        .resolves({})
      // Terminating from the start (a worker restarted during Terminating:Wait): it drains at once.
      imds.metadata[lifecycleState] = "Terminated"
      assert.isTrue(yield* runWorkerInFleet("w1", { lifecycleHookName: "drain", checkEvery: "100 millis" }))
      assert.deepStrictEqual(completions(), [expectedCompletion, expectedCompletion])
    }))
  })

  it.live("a drain for another reason (SIGTERM, no termination) completes nothing", () => {
    const env = environment(50)
    return env.provide(Effect.gen(function*() {
      autoScaling.on(SetInstanceProtectionCommand).resolves({})
      autoScaling.on(CompleteLifecycleActionCommand).resolves({})
      // The item absent (IMDS 404, as before Auto Scaling first set it) is not a termination.
      const before = imds.seen.length
      assert.isFalse(yield* runWorkerInFleet("w1", { lifecycleHookName: "drain", checkEvery: "100 millis", drain: Effect.void }))
      assert.deepStrictEqual(completions(), [])
      assert.isTrue(imds.seen.slice(before).some((r) => r.path === `/latest/meta-data/${lifecycleState}`), "the state was asked for")
    }))
  })
})
