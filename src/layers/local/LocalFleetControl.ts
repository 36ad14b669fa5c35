/**
 * The one-machine fleet: the instance id is given, and protection and termination are only
 * remembered (there is no group to scale in), readable by tests and the local protector. Nothing
 * asks a local instance to terminate unless `requestTermination` is called.
 */
import { Context, Effect, Layer } from "effect"
import type { FleetControlShape } from "../../services/FleetControl.ts"
import { FleetControl } from "../../services/FleetControl.ts"
import type { InstanceTerminationShape } from "../../services/InstanceTermination.ts"
import { InstanceTermination } from "../../services/InstanceTermination.ts"

export interface LocalFleetControlShape extends FleetControlShape, InstanceTerminationShape {
  /** The protection last set (unprotected at start). */
  readonly protectedNow: Effect.Effect<boolean>
  /** How many calls actually changed the protection (skipped repeats are not counted). */
  readonly changes: Effect.Effect<number>
  /** Makes `terminating` true from now on, as a scale-in of this instance would. */
  readonly requestTermination: Effect.Effect<void>
  /** The hook names `complete` was called with, in order. */
  readonly completedTerminations: Effect.Effect<ReadonlyArray<string>>
}

export const makeLocalFleetControl = (instanceId: string) =>
  Effect.sync((): LocalFleetControlShape => {
    let protectedNow = false
    let changes = 0
    let terminating = false
    const completed: Array<string> = []
    return {
      instanceId: Effect.succeed(instanceId),
      setScaleInProtection: (protect) =>
        Effect.sync(() => {
          if (protect === protectedNow) return
          protectedNow = protect
          changes++
        }),
      terminating: Effect.sync(() => terminating),
      complete: (hook) => Effect.sync(() => void completed.push(hook)),
      protectedNow: Effect.sync(() => protectedNow),
      changes: Effect.sync(() => changes),
      requestTermination: Effect.sync(() => {
        terminating = true
      }),
      completedTerminations: Effect.sync(() => [...completed])
    }
  })

/** FleetControl and InstanceTermination, over one remembered instance. */
export const localFleetControlLayer = (instanceId: string) =>
  Layer.effectContext(Effect.map(makeLocalFleetControl(instanceId), (fleet) => Context.make(FleetControl, fleet).pipe(Context.add(InstanceTermination, fleet))))
