/**
 * The worker's idle/busy protocol, driven one poll at a time on the embedded layers with every
 * fleet-facing call recorded in one ordered log: an empty poll reports ScaleIn and registers idle;
 * a received task leaves the idle set and protects the instance before encoding; protection is
 * released only on the next empty poll (not between back-to-back tasks); a protection failure is
 * logged, does not fail the task, and is retried on the next poll.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, References, Stream } from "effect"
import { areaFoldersUnder, folderStorageLayer } from "../../src/layers/local/FolderStorage.ts"
import type { LocalFleetControlShape } from "../../src/layers/local/LocalFleetControl.ts"
import { makeLocalFleetControl } from "../../src/layers/local/LocalFleetControl.ts"
import { makeLogMetrics } from "../../src/layers/local/LogMetrics.ts"
import { makeMemoryIdleRegistry } from "../../src/layers/local/MemoryIdleRegistry.ts"
import { sharedScaleInProtectionLayer } from "../../src/layers/SharedScaleInProtection.ts"
import { defaultPipelineSettings, PipelineSettings } from "../../src/services/PipelineSettings.ts"
import { pollOnce } from "../../src/programs/worker.ts"
import { Ffmpeg } from "../../src/services/Ffmpeg.ts"
import { FleetControl, FleetControlFailed } from "../../src/services/FleetControl.ts"
import { IdleRegistry } from "../../src/services/IdleRegistry.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { PipelineMetrics } from "../../src/services/PipelineMetrics.ts"
import { makeScriptedFfmpeg, submitScriptedJob } from "../support/scriptedFfmpeg.ts"
import { memoryBackends } from "../support/memoryBackends.ts"
import { localSourceCopiesLayer } from "../../src/layers/local/LocalSourceCopies.ts"

/** Metrics that matter to the fleet; the counters are left out of the log. */
const fleetMetrics = new Set(["ScaleIn", "ScaleOut"])

/** The embedded layers with the fleet, idle set, metrics and encoder recording into `log`. */
const recordingEnvironment = (options: { readonly failProtect?: (call: number, protect: boolean) => boolean } = {}) => {
  const log: Array<string> = []
  const folder = path.join(os.tmpdir(), `vidpipe-idle-${Math.random().toString(36).slice(2)}`)
  let protectCalls = 0
  let local: LocalFleetControlShape | undefined

  const fleet = Layer.effect(
    FleetControl,
    Effect.map(makeLocalFleetControl("i-test"), (inner) =>
      FleetControl.of({
        instanceId: inner.instanceId,
        setScaleInProtection: (protect) =>
          Effect.suspend(() => {
            const call = ++protectCalls
            if (options.failProtect?.(call, protect)) {
              log.push(`protect(${protect}) failed`)
              return Effect.fail(new FleetControlFailed({ operation: protect ? "protect" : "unprotect", reason: "scripted", retryable: true }))
            }
            log.push(`protect(${protect})`)
            local = inner // built once per test: the one instance under test
            return inner.setScaleInProtection(protect)
          })
      }))
  )
  const idle = Layer.effect(
    IdleRegistry,
    Effect.map(makeMemoryIdleRegistry, (inner) =>
      IdleRegistry.of({
        markIdle: (id) => Effect.sync(() => log.push(`markIdle ${id}`)).pipe(Effect.andThen(inner.markIdle(id))),
        markBusy: (id) => Effect.sync(() => log.push(`markBusy ${id}`)).pipe(Effect.andThen(inner.markBusy(id))),
        idle: inner.idle
      }))
  )
  const metrics = Layer.effect(
    PipelineMetrics,
    Effect.map(makeLogMetrics, (inner) =>
      PipelineMetrics.of({
        record: (name, value, dimensions) =>
          Effect.sync(() => {
            if (fleetMetrics.has(name)) log.push(`${name}=${value ?? 1}`)
          }).pipe(Effect.andThen(inner.record(name, value, dimensions))),
        totals: inner.totals
      }))
  )
  const ffmpeg = Layer.effect(
    Ffmpeg,
    Effect.gen(function*() {
      const inner = yield* Ffmpeg
      return Ffmpeg.of({
        ...inner,
        encodeVideo: (spec) => Stream.unwrap(Effect.sync(() => (log.push(`encode ${spec.rung.id}`), inner.encodeVideo(spec)))),
        encodeAudio: (spec) => Stream.unwrap(Effect.sync(() => (log.push("encode audio"), inner.encodeAudio(spec))))
      })
    })
  ).pipe(Layer.provide(makeScriptedFfmpeg({ encodeMillis: 20 }).layer))

  const layer = Layer.mergeAll(
    memoryBackends({ maxReceiveCount: 3, defaultVisibility: "5 seconds" }),
    idle,
    Layer.provideMerge(sharedScaleInProtectionLayer, fleet),
    metrics,
    folderStorageLayer(areaFoldersUnder(folder)),
    ffmpeg,
    localSourceCopiesLayer(),
    Layer.succeed(PipelineSettings, { ...defaultPipelineSettings, pollSeconds: 0.2, visibility: Duration.seconds(5) }),
    Layer.succeed(References.MinimumLogLevel, "None")
  )
  const cleanup = Effect.promise(() => fs.rm(folder, { recursive: true, force: true }))
  const protectedNow = Effect.suspend(() => local === undefined ? Effect.succeed(false) : local.protectedNow)
  return { log, protectedNow, provide: <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(layer), Effect.ensuring(cleanup)) }
}

/** Creates and ingests a job (which reports ScaleOut). */
const submitJob = submitScriptedJob

const idleIds = Effect.gen(function*() {
  const entries = yield* (yield* IdleRegistry).idle("1 minute")
  return entries.map((e) => e.instanceId)
})

describe("worker idle/busy protocol", () => {
  it.live("idle → busy → idle: idle set, metrics and protection calls in order", () => {
    const env = recordingEnvironment()
    return env.provide(Effect.gen(function*() {
      // Idle: an empty long poll.
      assert.strictEqual(yield* pollOnce("w1"), 0)
      assert.deepStrictEqual(env.log, ["ScaleIn=1", "markIdle w1"])
      assert.deepStrictEqual(yield* idleIds, ["w1"])
      assert.isFalse(yield* env.protectedNow)

      // Work arrives: ingest reports scale-out.
      const { id, tasks } = yield* submitJob
      assert.isAtLeast(tasks.length, 2, "back-to-back tasks")
      assert.deepStrictEqual(env.log.slice(2), [`ScaleOut=${tasks.length}`])

      // Busy: one task per poll, back to back.
      env.log.length = 0
      for (let i = 0; i < tasks.length; i++) {
        assert.strictEqual(yield* pollOnce("w1"), 1)
        assert.deepStrictEqual(yield* idleIds, [], "out of the idle set while busy")
        assert.isTrue(yield* env.protectedNow, "protected between back-to-back tasks")
      }
      const encodes = tasks.map((t) => (t._tag === "audio" ? "encode audio" : `encode ${t.rung.id}`))
      assert.deepStrictEqual(env.log, [
        "markBusy w1",
        "protect(true)",
        encodes[0]!,
        // Later tasks: out of the idle set again, but no second protect and no release in between.
        ...encodes.slice(1).flatMap((encode) => ["markBusy w1", encode])
      ])
      assert.strictEqual((yield* (yield* JobStore).get(id)).status, "ready")

      // Idle again: released only now, then ScaleIn and back in the idle set.
      env.log.length = 0
      assert.strictEqual(yield* pollOnce("w1"), 0)
      assert.deepStrictEqual(env.log, ["protect(false)", "ScaleIn=1", "markIdle w1"])
      assert.deepStrictEqual(yield* idleIds, ["w1"])
      assert.isFalse(yield* env.protectedNow)

      // Still idle: ScaleIn again, protection untouched (already released).
      env.log.length = 0
      yield* pollOnce("w1")
      assert.deepStrictEqual(env.log, ["ScaleIn=1", "markIdle w1"])

      // Stale idle entries expire: not refreshed within the window, no longer counted. The entry is
      // at least 300 ms old against a 100 ms window; a slow machine only makes it older.
      yield* Effect.sleep("300 millis")
      assert.deepStrictEqual((yield* (yield* IdleRegistry).idle("100 millis")).map((e) => e.instanceId), [])
      assert.deepStrictEqual(yield* idleIds, ["w1"])
    }))
  })

  it.live("a failed protect is logged, the task still completes, and the protect is retried on the next poll", () => {
    const env = recordingEnvironment({ failProtect: (call, protect) => protect && call === 1 })
    return env.provide(Effect.gen(function*() {
      const { id, tasks } = yield* submitJob
      env.log.length = 0
      for (let i = 0; i < tasks.length; i++) assert.strictEqual(yield* pollOnce("w1"), 1)
      assert.strictEqual((yield* (yield* JobStore).get(id)).status, "ready")
      const protections = env.log.filter((line) => line.startsWith("protect"))
      assert.deepStrictEqual(protections, ["protect(true) failed", "protect(true)"])
      assert.strictEqual(env.log[1], "protect(true) failed")
      assert.strictEqual(env.log.indexOf("protect(true)"), env.log.lastIndexOf("markBusy w1", env.log.indexOf("protect(true)")) + 1)

      env.log.length = 0
      yield* pollOnce("w1")
      assert.deepStrictEqual(env.log, ["protect(false)", "ScaleIn=1", "markIdle w1"])
    }))
  })

  it.live("a failed release is retried on the next empty poll; the worker keeps polling", () => {
    const env = recordingEnvironment({ failProtect: (_call, protect) => !protect && failuresLeft-- > 0 })
    let failuresLeft = 1
    return env.provide(Effect.gen(function*() {
      const { tasks } = yield* submitJob
      for (let i = 0; i < tasks.length; i++) yield* pollOnce("w1")
      env.log.length = 0
      yield* pollOnce("w1")
      assert.deepStrictEqual(env.log, ["protect(false) failed", "ScaleIn=1", "markIdle w1"])
      env.log.length = 0
      yield* pollOnce("w1")
      assert.deepStrictEqual(env.log, ["protect(false)", "ScaleIn=1", "markIdle w1"])
    }))
  })
})
