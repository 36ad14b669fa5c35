/**
 * The one-machine fleet: the instance id is given, and protection is only remembered (there is
 * no group to scale in), readable by tests and the local protector.
 */
import { Effect, Layer } from "effect"
import type { FleetControlShape } from "../../services/FleetControl.ts"
import { FleetControl } from "../../services/FleetControl.ts"

export interface LocalFleetControlShape extends FleetControlShape {
  /** The protection last set (unprotected at start). */
  readonly protectedNow: Effect.Effect<boolean>
  /** How many calls actually changed the protection (skipped repeats are not counted). */
  readonly changes: Effect.Effect<number>
}

export const makeLocalFleetControl = (instanceId: string) =>
  Effect.sync((): LocalFleetControlShape => {
    let protectedNow = false
    let changes = 0
    return {
      instanceId: Effect.succeed(instanceId),
      setScaleInProtection: (protect) =>
        Effect.sync(() => {
          if (protect === protectedNow) return
          protectedNow = protect
          changes++
        }),
      protectedNow: Effect.sync(() => protectedNow),
      changes: Effect.sync(() => changes)
    }
  })

export const localFleetControlLayer = (instanceId: string) => Layer.effect(FleetControl, makeLocalFleetControl(instanceId))
