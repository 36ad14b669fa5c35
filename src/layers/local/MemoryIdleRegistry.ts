/**
 * In-process idle registry, for the one-machine fleet.
 */
import { Clock, Duration, Effect, Layer } from "effect"
import type { IdleEntry } from "../../services/IdleRegistry.ts"
import { IdleRegistry } from "../../services/IdleRegistry.ts"

export const makeMemoryIdleRegistry = Effect.sync(() => {
  const entries = new Map<string, IdleEntry>()
  return IdleRegistry.of({
    markIdle: (instanceId) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        entries.set(instanceId, { instanceId, idleSince: entries.get(instanceId)?.idleSince ?? now, seenAt: now })
      }),
    markBusy: (instanceId) => Effect.sync(() => void entries.delete(instanceId)),
    idle: (freshWithin) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const oldest = now - Duration.toMillis(Duration.fromInputUnsafe(freshWithin))
        return [...entries.values()].filter((e) => e.seenAt >= oldest).sort((a, b) => a.idleSince - b.idleSince)
      })
  })
})

export const memoryIdleRegistryLayer = Layer.effect(IdleRegistry, makeMemoryIdleRegistry)
