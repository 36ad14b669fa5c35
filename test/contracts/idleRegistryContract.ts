/**
 * The IdleRegistry (`KillMe`) contract: idle since the first empty poll, busy removes, stale
 * entries stop counting.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { IdleRegistry } from "../../src/services/IdleRegistry.ts"

export const idleRegistryContract = (name: string, makeLayer: () => Layer.Layer<IdleRegistry, unknown>) =>
  describe(`IdleRegistry contract: ${name}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, IdleRegistry>) => effect.pipe(Effect.provide(makeLayer()))

    // The 30 ms sleeps only make the timestamps differ: a lower bound, which a slow machine only widens.
    it.live("keeps the first idle time across refreshes, longest idle first, and forgets busy ones", () =>
      run(Effect.gen(function*() {
        const registry = yield* IdleRegistry
        yield* registry.markIdle("i-a")
        yield* Effect.sleep("30 millis")
        yield* registry.markIdle("i-b")
        const first = (yield* registry.idle("1 minute")).find((e) => e.instanceId === "i-a")!
        yield* Effect.sleep("30 millis")
        yield* registry.markIdle("i-a")
        const entries = yield* registry.idle("1 minute")
        assert.deepStrictEqual(entries.map((e) => e.instanceId), ["i-a", "i-b"])
        assert.strictEqual(entries[0]!.idleSince, first.idleSince)
        assert.isAbove(entries[0]!.seenAt, first.seenAt)
        yield* registry.markBusy("i-a")
        assert.deepStrictEqual((yield* registry.idle("1 minute")).map((e) => e.instanceId), ["i-b"])
      })))

    // Real time (the Redis registry uses Redis's clock). i-old is at least 1.5 s old when read, so
    // a 1 s window always drops it; i-new only has to be read within 1 s of being marked (one call
    // later), which holds however busy the machine is.
    it.live("drops entries not refreshed within the window", () =>
      run(Effect.gen(function*() {
        const registry = yield* IdleRegistry
        yield* registry.markIdle("i-old")
        yield* Effect.sleep("1500 millis")
        yield* registry.markIdle("i-new")
        assert.deepStrictEqual((yield* registry.idle("1 second")).map((e) => e.instanceId), ["i-new"])
      })))
  })
