/**
 * The worker fibers' shared scale-in protection (layers/SharedScaleInProtection.ts) over a
 * recording fleet: the instance is protected when the first worker takes a task and released only
 * when the last one holds none; a refused call is tried again on the next hold; each build of the
 * layer (each process) keeps its own state.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { sharedScaleInProtectionLayer } from "../../src/layers/SharedScaleInProtection.ts"
import { FleetControl, FleetControlFailed } from "../../src/services/FleetControl.ts"
import { ScaleInProtection } from "../../src/services/ScaleInProtection.ts"

/** A fleet that records each protection call, refusing the calls `refuse` names (1-based). */
const recordingFleet = (refuse: (call: number) => boolean = () => false) => {
  const calls: Array<string> = []
  const layer = Layer.succeed(FleetControl, FleetControl.of({
    instanceId: Effect.succeed("i-test"),
    setScaleInProtection: (protect) =>
      Effect.suspend(() => {
        const refused = refuse(calls.length + 1)
        calls.push(`protect(${protect})${refused ? " refused" : ""}`)
        return refused ? Effect.fail(new FleetControlFailed({ operation: "protect", reason: "scripted", retryable: true })) : Effect.void
      })
  }))
  return { calls, layer }
}

describe("shared scale-in protection", () => {
  it.effect("protected from the first worker's task until the last worker holds none", () => {
    const fleet = recordingFleet()
    return Effect.gen(function*() {
      const protection = yield* ScaleInProtection
      yield* protection.hold("w1", true)
      yield* protection.hold("w2", true)
      assert.deepStrictEqual(fleet.calls, ["protect(true)"])
      // w1 is idle again, but w2 still holds a task: the instance stays protected.
      yield* protection.hold("w1", false)
      assert.deepStrictEqual(fleet.calls, ["protect(true)"])
      yield* protection.hold("w2", false)
      assert.deepStrictEqual(fleet.calls, ["protect(true)", "protect(false)"])
      // Already released: an idle worker's poll changes nothing.
      yield* protection.hold("w1", false)
      assert.deepStrictEqual(fleet.calls, ["protect(true)", "protect(false)"])
    }).pipe(Effect.provide(sharedScaleInProtectionLayer.pipe(Layer.provide(fleet.layer))))
  })

  it.effect("a refused protect does not fail the worker and is tried again on the next hold", () => {
    const fleet = recordingFleet((call) => call === 1)
    return Effect.gen(function*() {
      const protection = yield* ScaleInProtection
      yield* protection.hold("w1", true)
      assert.deepStrictEqual(fleet.calls, ["protect(true) refused"])
      yield* protection.hold("w1", true)
      assert.deepStrictEqual(fleet.calls, ["protect(true) refused", "protect(true)"])
    }).pipe(Effect.provide(sharedScaleInProtectionLayer.pipe(Layer.provide(fleet.layer))))
  })

  it.effect("each build of the layer is a process of its own", () => {
    const fleet = recordingFleet()
    const build = sharedScaleInProtectionLayer.pipe(Layer.provide(fleet.layer))
    return Effect.gen(function*() {
      const first = yield* Layer.build(Layer.fresh(build))
      const second = yield* Layer.build(Layer.fresh(build))
      yield* Effect.flatMap(ScaleInProtection, (p) => p.hold("w1", true)).pipe(Effect.provideContext(first))
      // The second build knows nothing of the first: its idle worker has nothing to release, and
      // its first task asks for protection itself.
      yield* Effect.flatMap(ScaleInProtection, (p) => p.hold("w1", false)).pipe(Effect.provideContext(second))
      yield* Effect.flatMap(ScaleInProtection, (p) => p.hold("w2", true)).pipe(Effect.provideContext(second))
      assert.deepStrictEqual(fleet.calls, ["protect(true)", "protect(true)"])
    }).pipe(Effect.scoped)
  })
})
