/**
 * A worker that leaves the fleet cleanly. When the fleet takes this instance away (on AWS: Auto
 * Scaling holds it in Terminating:Wait on the group's termination lifecycle hook), the worker
 * drains as on SIGTERM: it stops receiving and lets its current task finish within the drain
 * timeout, or hands it back. Then, and only then, it lets the termination proceed (on AWS:
 * CompleteLifecycleAction with CONTINUE), so the instance goes at once instead of at the hook's
 * heartbeat timeout. A drain for another reason (a plain SIGTERM) completes nothing.
 */
import type { Duration } from "effect"
import { Effect } from "effect"
import { IdleRegistry } from "../services/IdleRegistry.ts"
import { InstanceTermination } from "../services/InstanceTermination.ts"
import { retryTransient } from "../domain/retryTransient.ts"
import type { WorkerOptions } from "./worker.ts"
import { runWorker } from "./worker.ts"

export interface TerminationHookOptions {
  /** The termination lifecycle hook holding this instance (VIDPIPE_LIFECYCLE_HOOK). */
  readonly lifecycleHookName: string
  /** How often the fleet is asked whether it is taking this instance away. Default 5 seconds. */
  readonly checkEvery?: Duration.Input
}

const transient = retryTransient(4)

/** Completes once the fleet is taking this instance away. A failed check is logged and tried again. */
export const terminationRequested = (checkEvery: Duration.Input = "5 seconds") =>
  Effect.gen(function*() {
    const termination = yield* InstanceTermination
    while (true) {
      const terminating = yield* termination.terminating.pipe(
        Effect.catch((error) => Effect.logWarning(`${error.message}; asking again`).pipe(Effect.as(false)))
      )
      if (terminating) return yield* Effect.logInfo("the fleet is terminating this instance: draining")
      yield* Effect.sleep(checkEvery)
    }
  })

/** After the drain: lets the termination proceed if the fleet is taking this instance away. Never fails. */
export const completeTerminationIfRequested = Effect.fn("terminationHook.complete")(function*(lifecycleHookName: string) {
  const termination = yield* InstanceTermination
  const terminating = yield* termination.terminating.pipe(Effect.retry(transient))
  if (!terminating) return false
  yield* termination.complete(lifecycleHookName).pipe(Effect.retry(transient))
  yield* Effect.logInfo(`completed lifecycle hook ${lifecycleHookName}: the instance may terminate`)
  return true
}, (effect) =>
  Effect.catch(effect, (error) =>
    // The hook's heartbeat timeout and its default result (CONTINUE in infra/fleet.ts) still end the wait.
    Effect.logError(`could not complete the lifecycle hook: ${error.message}; the hook's timeout will end the wait`).pipe(Effect.as(false))
  ))

/** `runWorker` that also drains when the fleet takes the instance away, then completes the hook. */
export const runWorkerInFleet = (workerId: string, options: WorkerOptions & TerminationHookOptions) =>
  Effect.gen(function*() {
    const { checkEvery, lifecycleHookName, ...workerOptions } = options
    const fleetAsks = terminationRequested(checkEvery).pipe(Effect.provideService(InstanceTermination, yield* InstanceTermination))
    const drain = workerOptions.drain === undefined ? fleetAsks : Effect.raceFirst(workerOptions.drain, fleetAsks)
    yield* runWorker(workerId, { ...workerOptions, drain })
    const leaving = yield* completeTerminationIfRequested(lifecycleHookName)
    // Out of the idle set as it goes: an instance stopped into a warm pool comes back later under
    // the same id, and nothing should count it as spare capacity meanwhile.
    if (leaving) {
      yield* (yield* IdleRegistry).markBusy(workerId).pipe(
        Effect.catch((error) => Effect.logWarning(`worker ${workerId}: could not leave the idle set: ${error.message}`))
      )
    }
    return leaving
  })
