/**
 * A worker: long-poll the queue and hand each delivery to `handleDelivery` (workerDelivery.ts:
 * run the task, workerTask.ts; or apply the failure policy, workerFailures.ts), until drained.
 *
 * Idle/busy protocol (what lets the fleet scale in safely):
 *   empty poll   → [unprotect, if this instance was protected] → ScaleIn metric → register idle
 *   task arrives → leave the idle set → protect from scale-in → encode …
 * Protection is released only when the worker finds the queue empty again, never between
 * back-to-back tasks, and held while any worker of this process holds a task (ScaleInProtection).
 * Stale idle entries expire in the registry (`idle(freshWithin)`).
 */
import { Deferred, Duration, Effect, Option } from "effect"
import type { ReceivedMessage } from "../services/JobQueue.ts"
import { IdleRegistry } from "../services/IdleRegistry.ts"
import { JobQueue } from "../services/JobQueue.ts"
import { PipelineMetrics } from "../services/PipelineMetrics.ts"
import { PipelineSettings } from "../services/PipelineSettings.ts"
import { ScaleInProtection } from "../services/ScaleInProtection.ts"
import { SourceCopies } from "../services/SourceCopies.ts"
import { TaskProgress } from "../services/TaskProgress.ts"
import { handleDelivery } from "./workerDelivery.ts"
import { handBackOnInterrupt } from "./workerFailures.ts"
import { makeTaskPace } from "./taskPace.ts"

export interface WorkerOptions {
  /** Completes when the worker should drain: stop receiving, finish (or hand back) the current task. */
  readonly drain?: Effect.Effect<void>
  /** How long a draining worker lets its current task run before handing it back. */
  readonly drainTimeout?: Duration.Input
  /**
   * Completes with the time (epoch ms) by which this instance must hold no task, once one is
   * known (a Spot interruption, spotInterruption.ts). It drains the worker too, and the current
   * task runs on only if, at its pace so far, it ends by then; otherwise it is handed back at once.
   */
  readonly mustEndBy?: Effect.Effect<number>
}

/** What a draining worker waits on: the request itself, and the end of its grace period. */
export interface Drain {
  readonly requested: Effect.Effect<void>
  readonly deadline: Effect.Effect<void>
  /** Completes with the time by which no task may be held, once one is known. */
  readonly mustEndBy?: Effect.Effect<number>
}

const neverDrains: Drain = { requested: Effect.never, deadline: Effect.never }

/**
 * What a worker does with one delivery. The pipeline's is `handleDelivery`; the fleet simulation
 * passes one that only takes simulated time, so it runs this same poll loop and idle protocol.
 */
export type Deliver<E, R> = (workerId: string, message: ReceivedMessage) => Effect.Effect<void, E, R>

/**
 * One long poll and whatever it brought. An empty poll is the scale-in signal: the worker releases
 * its scale-in protection (if it held it), reports ScaleIn and registers in the idle set. A received
 * task first takes the worker out of the idle set and protects the instance. A drain request ends
 * a poll that is still waiting (it holds no task yet); a task already taken runs until the drain
 * deadline, then is handed back, or, once the time the instance must be empty by is known
 * (`mustEndBy`), is handed back at once unless it can end by then.
 */
export const pollOnceWith = <E, R>(deliver: Deliver<E, R>) =>
  Effect.fn("worker.pollOnce")(function*(workerId: string, drain: Drain = neverDrains) {
    const queue = yield* JobQueue
    const metrics = yield* PipelineMetrics
    const settings = yield* PipelineSettings
    const idle = yield* IdleRegistry
    const protection = yield* ScaleInProtection
    // A disk that just refused a task (DiskTooSmall) keeps this process off the queue for a while:
    // the refused task, visible again at once, goes to another worker instead of straight back here.
    const pause = yield* (yield* SourceCopies).pauseAfterRefusal
    if (Duration.isGreaterThan(pause, Duration.zero)) {
      const drained = yield* Effect.sleep(pause).pipe(Effect.as(false), Effect.raceFirst(drain.requested.pipe(Effect.as(true))))
      if (drained) return 0
    }
    const received = yield* queue.receive({ maxMessages: 1, waitSeconds: settings.pollSeconds, visibility: settings.visibility }).pipe(
      Effect.map(Option.some),
      Effect.raceFirst(drain.requested.pipe(Effect.as(Option.none())))
    )
    if (Option.isNone(received)) return 0
    const messages = received.value
    if (messages.length === 0) {
      yield* protection.hold(workerId, false)
      yield* metrics.record("ScaleIn", 1, { worker: workerId })
      yield* idle.markIdle(workerId).pipe(Effect.catch((error) => Effect.logWarning(`could not register as idle: ${error.message}`)))
      return 0
    }
    // Before any work: out of the idle set, then protected. Neither failure stops the task.
    yield* idle.markBusy(workerId).pipe(Effect.catch((error) => Effect.logWarning(`could not leave the idle set: ${error.message}`)))
    yield* protection.hold(workerId, true)
    yield* Effect.forEach(
      messages,
      (message) =>
        Effect.gen(function*() {
          const pace = yield* makeTaskPace
          const mustEndBy = drain.mustEndBy ?? Effect.never
          yield* deliver(workerId, message).pipe(
            Effect.provideService(TaskProgress, pace.report),
            handBackOnInterrupt(message),
            // When the drain's grace period ends first, the task is interrupted (and so handed back).
            Effect.raceFirst(drain.deadline.pipe(Effect.andThen(Effect.logWarning(`worker ${workerId}: drain timeout reached during ${message.groupId}`)))),
            // So is a task that cannot end before the instance goes: at once, not at the end.
            Effect.raceFirst(Effect.flatMap(mustEndBy, (endBy) => pace.giveUpFor(endBy, `worker ${workerId}: ${message.groupId}`)))
          )
        }),
      { discard: true }
    )
    return messages.length
  })

export const pollOnce = pollOnceWith(handleDelivery)

/**
 * Polls until interrupted or drained; a failing queue is retried with backoff instead of
 * stopping the worker.
 */
export const runWorkerWith = <E extends { readonly message: string }, R>(deliver: Deliver<E, R>) => {
  const poll = pollOnceWith(deliver)
  return (workerId: string, options: WorkerOptions = {}) =>
    Effect.gen(function*() {
      const drainRequested = yield* Deferred.make<void>()
      const endBy = yield* Deferred.make<number>()
      if (options.drain) yield* Effect.forkScoped(options.drain.pipe(Effect.andThen(Deferred.succeed(drainRequested, undefined))))
      if (options.mustEndBy) {
        // The drain first: a task given up for the deadline must find the loop already stopping,
        // or the worker could take a task (the same one, visible again) before it learns it drains.
        yield* Effect.forkScoped(options.mustEndBy.pipe(
          Effect.tap(() => Deferred.succeed(drainRequested, undefined)),
          Effect.flatMap((time) => Deferred.succeed(endBy, time))
        ))
      }
      const requested = Deferred.await(drainRequested)
      const drain: Drain = {
        requested,
        deadline: requested.pipe(Effect.andThen(Effect.sleep(options.drainTimeout ?? "10 minutes"))),
        mustEndBy: Deferred.await(endBy)
      }
      while (!(yield* Deferred.isDone(drainRequested))) {
        yield* poll(workerId, drain).pipe(
          Effect.catch((error) =>
            Effect.logWarning(`worker ${workerId}: ${error.message}; backing off`).pipe(Effect.andThen(Effect.sleep("2 seconds")))
          )
        )
      }
      // Going away: release the instance (unless another worker of this process still holds a task).
      yield* (yield* ScaleInProtection).hold(workerId, false)
      yield* Effect.logInfo(`worker ${workerId}: drained`)
    }).pipe(Effect.scoped)
}

const runPipelineWorker = runWorkerWith(handleDelivery)

/**
 * The pipeline's worker. It first removes what dead workers of this machine left in the source
 * copies' folder (SourceCopies.sweep; later sweeps come with its tasks), and going away (drained,
 * interrupted) it removes the copies no task holds.
 */
export const runWorker = (workerId: string, options: WorkerOptions = {}) =>
  Effect.gen(function*() {
    const copies = yield* SourceCopies
    const swept = yield* copies.sweep
    if (swept > 0) yield* Effect.logInfo(`worker ${workerId}: removed ${swept} source copy file(s) left by workers that are gone`)
    yield* runPipelineWorker(workerId, options).pipe(Effect.ensuring(copies.discardIdle))
  })
