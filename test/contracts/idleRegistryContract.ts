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

    it.live("drops entries not refreshed within the window", () =>
      run(Effect.gen(function*() {
        const registry = yield* IdleRegistry
        yield* registry.markIdle("i-old")
        yield* Effect.sleep("300 millis")
        yield* registry.markIdle("i-new")
        assert.deepStrictEqual((yield* registry.idle("200 millis")).map((e) => e.instanceId), ["i-new"])
      })))
  })
