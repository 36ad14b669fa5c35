/**
 * ScaleInProtection for the worker fibers of one process, over whatever FleetControl the
 * deployment has: which of them hold a task, and the protection the fleet last accepted.
 */
import { Effect, Layer, Semaphore } from "effect"
import { FleetControl } from "../services/FleetControl.ts"
import { ScaleInProtection } from "../services/ScaleInProtection.ts"

export const makeSharedScaleInProtection = Effect.gen(function*() {
  const fleet = yield* FleetControl
  /** Workers of this process that hold a task. */
  const busy = new Set<string>()
  /** The protection the fleet last accepted (false at start, like the fleet's own state). */
  let confirmed = false
  /** Serializes the calls, so a release and a protect cannot overtake each other. */
  const lock = yield* Semaphore.make(1)
  // A failed call leaves `confirmed` differing from what is wanted, so the next hold tries again.
  const bringInLine = (workerId: string) =>
    Effect.gen(function*() {
      const wanted = busy.size > 0
      if (wanted === confirmed) return
      yield* fleet.setScaleInProtection(wanted)
      confirmed = wanted
    }).pipe(
      lock.withPermits(1),
      Effect.catch((error) => Effect.logWarning(`worker ${workerId}: ${error.message}; will retry on the next poll`))
    )
  return ScaleInProtection.of({
    hold: (workerId, holding) =>
      Effect.suspend(() => {
        if (holding) busy.add(workerId)
        else busy.delete(workerId)
        return bringInLine(workerId)
      })
  })
})

export const sharedScaleInProtectionLayer = Layer.effect(ScaleInProtection, makeSharedScaleInProtection)
