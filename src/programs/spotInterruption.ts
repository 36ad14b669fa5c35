/**
 * A worker on EC2 Spot capacity leaves before AWS takes the instance back. AWS: "A Spot Instance
 * interruption notice is a warning that is issued two minutes before Amazon EC2 stops or
 * terminates your Spot Instance. If you specify hibernation as the interruption behavior, you
 * receive an interruption notice, but you do not receive a two-minute warning because the
 * hibernation process begins immediately", and "We recommend that you check for these
 * interruption notices every 5 seconds" ("Spot Instance interruption notices", EC2 user guide).
 *
 * On an interruption notice the worker stops receiving, and its current task runs on only if, at
 * its pace so far, it ends before the action time less `margin` (the time to store its outputs and
 * leave); otherwise it is handed back at once, visible to the other workers now. Hibernation has
 * no warning: everything is handed back at once.
 *
 * A rebalance recommendation has no deadline. AWS lists, among the actions to take, "Prevent new
 * work from being scheduled ... while continuing to use the instance until the scheduled work is
 * completed" ("EC2 instance rebalance recommendations"). So it drains the worker as SIGTERM does:
 * no new task, the current one finishes within the drain timeout, then the worker exits, leaving
 * the instance to be replaced (Auto Scaling's Capacity Rebalancing, where the group enables it) or
 * interrupted. Notices are still watched meanwhile, so an interruption notice that follows
 * tightens the deadline of the task still running.
 *
 * Either way the instance leaves the idle set (nothing should count it as spare capacity) and its
 * scale-in protection is released (runWorkerWith does, going away).
 */
import { Clock, Deferred, Duration, Effect, Option } from "effect"
import type { SpotInterruption } from "../domain/SpotNotice.ts"
import { IdleRegistry } from "../services/IdleRegistry.ts"
import { SpotNotices } from "../services/SpotNotices.ts"
import { completeTerminationIfRequested, terminationRequested } from "./terminationHook.ts"
import type { WorkerOptions } from "./worker.ts"
import { runWorker } from "./worker.ts"

export interface SpotNoticeOptions {
  /** Kept before the action time: what storing a finished task's outputs and leaving need. Default 30 seconds. */
  readonly margin?: Duration.Input
  /** How often the notices are read. Default 5 seconds, as AWS recommends. */
  readonly checkEvery?: Duration.Input
}

export const defaultSpotMargin = Duration.seconds(30)

/** When this instance must hold no task: the action time less the margin; for hibernation, now. */
export const mustEndBy = (notice: SpotInterruption, margin: Duration.Input, now: number) =>
  notice.action === "hibernate" ? now : notice.at - Duration.toMillis(Duration.fromInputUnsafe(margin))

/**
 * Reads the notices until an interruption: the first rebalance recommendation completes
 * `rebalance`, an interruption completes `interruption` with the time no task may outlast. A
 * failed read is logged and tried again at the next check.
 */
const watchNotices = (rebalance: Deferred.Deferred<void>, interruption: Deferred.Deferred<number>, options: SpotNoticeOptions) =>
  Effect.gen(function*() {
    const notices = yield* SpotNotices
    const margin = options.margin ?? defaultSpotMargin
    while (true) {
      const notice = yield* notices.current.pipe(
        Effect.catch((error) => Effect.logWarning(`${error.message}; asking again`).pipe(Effect.as(Option.none())))
      )
      if (Option.isSome(notice)) {
        if (notice.value._tag === "SpotInterruption") {
          const { action, at } = notice.value
          const endBy = mustEndBy(notice.value, margin, yield* Clock.currentTimeMillis)
          yield* Effect.logWarning(`spot interruption notice: ${action} at ${new Date(at).toISOString()}; draining, no task held past ${new Date(endBy).toISOString()}`)
          return yield* Deferred.succeed(interruption, endBy)
        }
        if (!(yield* Deferred.isDone(rebalance))) {
          yield* Effect.logWarning("spot rebalance recommendation: draining (no new task; the current one may finish)")
          yield* Deferred.succeed(rebalance, undefined)
        }
      }
      yield* Effect.sleep(options.checkEvery ?? "5 seconds")
    }
  })

/**
 * Runs a worker (`run`, given `options` with the notices added) that drains on Spot notices, and
 * takes this instance out of the idle set once it has drained for one; then, only after a Spot
 * drain, `afterSpotDrain` with what `run` returned.
 */
export const drainingOnSpotNotices = <A, E, R, E2 = never, R2 = never>(
  workerId: string,
  options: WorkerOptions,
  run: (options: WorkerOptions) => Effect.Effect<A, E, R>,
  spot: SpotNoticeOptions = {},
  afterSpotDrain: (result: A) => Effect.Effect<A, E2, R2> = Effect.succeed
) =>
  Effect.gen(function*() {
    const rebalance = yield* Deferred.make<void>()
    const interruption = yield* Deferred.make<number>()
    yield* Effect.forkScoped(watchNotices(rebalance, interruption, spot))
    const recommended = Deferred.await(rebalance)
    const result = yield* run({
      ...options,
      drain: options.drain === undefined ? recommended : Effect.raceFirst(options.drain, recommended),
      mustEndBy: Deferred.await(interruption)
    })
    if ((yield* Deferred.isDone(rebalance)) || (yield* Deferred.isDone(interruption))) {
      yield* (yield* IdleRegistry).markBusy(workerId).pipe(
        Effect.catch((error) => Effect.logWarning(`worker ${workerId}: could not leave the idle set: ${error.message}`))
      )
      return yield* afterSpotDrain(result)
    }
    return result
  }).pipe(Effect.scoped)

/** `runWorker` on Spot capacity. */
export const runWorkerOnSpot = (workerId: string, options: WorkerOptions & SpotNoticeOptions = {}) => {
  const { checkEvery, margin, ...workerOptions } = options
  const spot = { ...(checkEvery === undefined ? {} : { checkEvery }), ...(margin === undefined ? {} : { margin }) }
  return drainingOnSpotNotices(workerId, workerOptions, (withNotices) => runWorker(workerId, withNotices), spot)
}

/**
 * `afterSpotDrain` for a worker under a termination lifecycle hook (runWorkerInFleet): drained for
 * Spot before Auto Scaling asked, it stays until Auto Scaling takes the instance (Capacity
 * Rebalancing terminates it once its replacement runs; so does the interruption) and completes the
 * hook then, or the instance would wait out the hook's heartbeat timeout.
 */
export const completeHookAfterSpotDrain = (lifecycleHookName: string, checkEvery?: Duration.Input) => (completed: boolean) =>
  completed ? Effect.succeed(true) : terminationRequested(checkEvery).pipe(Effect.andThen(completeTerminationIfRequested(lifecycleHookName)))
