/**
 * A worker: long-poll the queue, and for each task heartbeat its visibility, encode with a
 * time budget, store the outputs, record the completion, finalize if it won, and only then
 * delete the message. Transient failures are retried in place, then handed back to the queue;
 * permanent ones (and the last allowed receive) fail the job with the reason.
 *
 * Idle/busy protocol (what lets the fleet scale in safely):
 *   empty poll   → [unprotect, if this instance was protected] → ScaleIn metric → register idle
 *   task arrives → leave the idle set → protect from scale-in → encode …
 * Protection is released only when the worker finds the queue empty again, never between
 * back-to-back tasks. Stale idle entries expire in the registry (`idle(freshWithin)`).
 */
import { Cause, Clock, Deferred, Duration, Effect, Option, Schedule, Semaphore } from "effect"
import { TaskTimedOut } from "../domain/Errors.ts"
import { errorInfo, isTerminal } from "../domain/Job.ts"
import type { PlanTask, Task } from "../domain/Task.ts"
import { Coordinator } from "../services/Coordinator.ts"
import type { FleetControlShape } from "../services/FleetControl.ts"
import { FleetControl } from "../services/FleetControl.ts"
import { IdleRegistry } from "../services/IdleRegistry.ts"
import type { ReceivedMessage } from "../services/JobQueue.ts"
import { JobQueue } from "../services/JobQueue.ts"
import { JobStore } from "../services/JobStore.ts"
import { PipelineMetrics } from "../services/PipelineMetrics.ts"
import { encodeTask } from "./encodeTask.ts"
import { FaultInjection } from "../services/FaultInjection.ts"
import { finalize } from "./finalize.ts"
import { ingest } from "./ingest.ts"
import { failJob, updateTask } from "./jobRecords.ts"
import { PipelineSettings } from "../services/PipelineSettings.ts"
import { retryTransient } from "./retryTransient.ts"
import { decodeTask } from "./taskMessages.ts"

interface Retryable {
  readonly _tag: string
  readonly message: string
  readonly retryable: boolean
}

/** Progress is written at most this often per task, to keep the job store quiet. */
const progressEveryMs = 1000

const setTask = Effect.fnUntraced(function*(jobId: string, taskId: string, change: Parameters<typeof updateTask>[2]) {
  const store = yield* JobStore
  const now = yield* Clock.currentTimeMillis
  yield* store.update(jobId, (job) => updateTask(job, taskId, change, now))
})

/** Keeps the delivery invisible while we work on it; stops with the surrounding scope. */
export const heartbeat = Effect.fnUntraced(function*(message: ReceivedMessage) {
  const queue = yield* JobQueue
  const settings = yield* PipelineSettings
  yield* queue.extendVisibility(message.receipt, settings.visibility).pipe(
    Effect.catch((error) => Effect.logWarning(`heartbeat for ${message.groupId} failed: ${error.message}`)),
    Effect.repeat(Schedule.spaced(settings.heartbeatEvery)),
    Effect.delay(settings.heartbeatEvery),
    Effect.forkScoped
  )
})

/** Encode, store, complete, maybe finalize. Fails only with errors the caller should act on. */
const runTask = Effect.fnUntraced(function*(workerId: string, task: Task, message: ReceivedMessage) {
  const settings = yield* PipelineSettings
  const metrics = yield* PipelineMetrics

  // The worker already left the idle set and protected the instance (pollOnce).
  yield* setTask(task.jobId, task.taskId, (state) => ({ ...state, status: "running", attempts: message.receiveCount, worker: workerId }))
  const store = yield* JobStore
  yield* store.update(task.jobId, (job) => (job.status === "queued" ? { ...job, status: "processing" } : job))
  yield* heartbeat(message)

  let lastReport = 0
  const onProgress = (fraction: number) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (now - lastReport < progressEveryMs && fraction < 1) return
      lastReport = now
      yield* store.update(task.jobId, (job) => updateTask(job, task.taskId, (state) => ({ ...state, progress: fraction }), now)).pipe(
        Effect.ignore
      )
    })

  const started = yield* Clock.currentTimeMillis
  const { ffmpegMillis, result: track } = yield* encodeTask(task, onProgress).pipe(
    Effect.timeoutOrElse({
      duration: settings.taskTimeout,
      orElse: () => Effect.fail(new TaskTimedOut({ taskId: task.taskId, seconds: Duration.toSeconds(settings.taskTimeout) }))
    }),
    Effect.retry(retryTransient(settings.transientRetries))
  )
  yield* setTask(task.jobId, task.taskId, (state) => {
    const { error: _error, ...rest } = state
    return { ...rest, status: "done", progress: 1, result: track }
  })
  yield* metrics.record("TaskSeconds", ((yield* Clock.currentTimeMillis) - started) / 1000, { kind: task._tag })
  yield* metrics.record("TasksCompleted")
  yield* completeAndMaybeFinalize(workerId, task)
  return ffmpegMillis
})

/** Records the completion (idempotent) and finalizes if this call won the lease. */
export const completeAndMaybeFinalize = Effect.fnUntraced(function*(workerId: string, task: Pick<Task, "jobId" | "taskId" | "totalTasks">) {
  const settings = yield* PipelineSettings
  const coordinator = yield* Coordinator
  const faults = yield* FaultInjection
  const outcome = yield* coordinator.complete({
    jobId: task.jobId,
    taskId: task.taskId,
    total: task.totalTasks,
    owner: workerId,
    leaseFor: settings.finalizeLease
  })
  if (Option.isNone(outcome.lease)) return
  yield* faults.afterLeaseWon
  yield* finalize(task.jobId, outcome.lease.value)
})

/**
 * Records a failure: fails the job when retrying cannot help (a permanent error, or the last
 * allowed receive), otherwise leaves the task for redelivery.
 */
const handleFailure = Effect.fnUntraced(function*(task: Task, message: ReceivedMessage, error: Retryable) {
  const settings = yield* PipelineSettings
  const store = yield* JobStore
  const metrics = yield* PipelineMetrics
  const queue = yield* JobQueue
  const lastChance = message.receiveCount >= settings.maxReceiveCount
  yield* metrics.record("TasksFailed")
  if (error.retryable && !lastChance) {
    yield* Effect.logWarning(`task ${task.taskId} attempt ${message.receiveCount} failed, will be retried: ${error.message}`)
    // A task whose outputs are already stored (it failed completing or finalizing) stays done.
    // Only a record: a store that fails too (a Redis blip) must not keep the task from going back.
    yield* setTask(task.jobId, task.taskId, (state) => state.status === "done" ? state : { ...state, status: "queued", error: errorInfo(error) }).pipe(
      Effect.catch((storeError) => Effect.logWarning(`task ${task.taskId}: could not record the retry: ${storeError.message}`))
    )
    // Make it visible again soon rather than after a whole visibility timeout.
    yield* queue.extendVisibility(message.receipt, `${Math.min(60, 2 ** message.receiveCount)} seconds`).pipe(Effect.ignore)
    return
  }
  yield* Effect.logError(`task ${task.taskId} failed: ${error.message}`)
  const now = yield* Clock.currentTimeMillis
  const recorded = yield* store.update(task.jobId, (job) => failJob(updateTask(job, task.taskId, (state) => ({ ...state, status: "failed", error: errorInfo(error) }), now), errorInfo(error), now)).pipe(
    Effect.as(true),
    Effect.catch((storeError) => Effect.logWarning(`task ${task.taskId}: could not record the failure: ${storeError.message}`).pipe(Effect.as(false)))
  )
  // A failure the job does not show yet is not dropped: the task comes back, and fails again, recorded.
  if (!recorded) return yield* handBack(message, error)
  yield* metrics.record("JobsFailed")
  // A permanent failure is gone for good; a task that used up its receives goes to the
  // dead-letter queue (the queue moves it there on its next receive), where it can be inspected.
  yield* (error.retryable ? queue.extendVisibility(message.receipt, 0) : queue.delete(message.receipt)).pipe(Effect.ignore)
})

/** A store read retried in place: a blip of a few hundred milliseconds costs no redelivery. */
const retryStoreRead = retryTransient(3, "100 millis")

/**
 * The job store could not say whether the task's job exists: the delivery goes back to the queue,
 * visible again soon (SQS: ChangeMessageVisibility), and nothing is written to the failing store.
 */
const handBack = Effect.fnUntraced(function*(message: ReceivedMessage, error: Retryable) {
  const queue = yield* JobQueue
  yield* Effect.logWarning(`handing ${message.groupId} back: ${error.message}`)
  yield* queue.extendVisibility(message.receipt, `${Math.min(60, 2 ** message.receiveCount)} seconds`).pipe(Effect.ignore)
})

export const handleDelivery = Effect.fn("worker.handleDelivery")(function*(workerId: string, message: ReceivedMessage) {
  const started = yield* Clock.currentTimeMillis
  const queue = yield* JobQueue
  const store = yield* JobStore
  const acknowledge = queue.delete(message.receipt).pipe(
    Effect.catch((error) => Effect.logWarning(`could not delete ${message.groupId}: ${error.message}`))
  )

  const decoded = yield* Effect.option(decodeTask(message.body))
  if (Option.isNone(decoded)) {
    // A body we cannot read will never succeed: drop it rather than poison the queue.
    yield* Effect.logError(`dropping unreadable message ${message.messageId} (group ${message.groupId})`)
    return yield* acknowledge
  }
  const task = decoded.value
  // Only JobNotFound means the job is gone. A store that fails (a Redis blip) says nothing about
  // the job: retried here, then the task is handed back, never acknowledged.
  const lookup = yield* store.get(task.jobId).pipe(
    Effect.retry(retryStoreRead),
    Effect.map(Option.some),
    Effect.catchTag("JobNotFound", () => Effect.succeedNone),
    Effect.result
  )
  if (lookup._tag === "Failure") return yield* handBack(message, lookup.failure)
  const job = lookup.success
  if (Option.isNone(job) || isTerminal(job.value.status)) {
    yield* Effect.logInfo(`skipping ${task.taskId}: job ${Option.isNone(job) ? "deleted" : job.value.status}`)
    return yield* acknowledge
  }

  if (task._tag === "plan") return yield* runPlanTask(task, message, acknowledge)

  // Redelivered after its outputs were stored (the worker died before deleting): only complete it.
  const alreadyDone = job.value.tasks.some((t) => t.taskId === task.taskId && t.status === "done")
  const work = alreadyDone ? completeAndMaybeFinalize(workerId, task).pipe(Effect.as(0)) : Effect.scoped(runTask(workerId, task, message))
  const outcome = yield* Effect.exit(work)
  if (outcome._tag === "Success") {
    yield* acknowledge
    // What the pipeline itself costs per task: everything but ffmpeg (job records, storage, coordinator, queue).
    const total = (yield* Clock.currentTimeMillis) - started
    return yield* Effect.logDebug(`task ${task.taskId} took ${total} ms: ffmpeg ${outcome.value} ms, orchestration ${total - outcome.value} ms`).pipe(
      Effect.annotateLogs({ taskId: task.taskId, totalMs: total, ffmpegMs: outcome.value, orchestrationMs: total - outcome.value })
    )
  }
  const failure = Cause.findErrorOption(outcome.cause)
  if (Option.isSome(failure)) return yield* handleFailure(task, message, failure.value)
  // Interrupted (shutdown) or a defect: leave the message; it is redelivered after its visibility.
  return yield* Effect.failCause(outcome.cause)
})

/**
 * A job's plan task: ingest (probe, ladder, tasks) here on the worker, with its ffprobe. Ingest is
 * idempotent, so a redelivered plan only re-sends the same tasks. A probe refusal fails the job
 * (ingest records it); a transient failure hands the plan back until its last allowed receive,
 * which fails the job with the reason rather than leaving it to the dead-letter queue.
 */
const runPlanTask = Effect.fnUntraced(function*(task: PlanTask, message: ReceivedMessage, acknowledge: Effect.Effect<void>) {
  const settings = yield* PipelineSettings
  const outcome = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
    yield* heartbeat(message)
    yield* ingest(task.jobId).pipe(Effect.retry(retryTransient(settings.transientRetries)))
  })))
  if (outcome._tag === "Success") return yield* acknowledge
  const failure = Cause.findErrorOption(outcome.cause)
  if (Option.isNone(failure)) return yield* Effect.failCause(outcome.cause)
  const error = failure.value
  if (error.retryable && message.receiveCount < settings.maxReceiveCount) return yield* handBack(message, error)
  yield* Effect.logError(`job ${task.jobId}: planning failed: ${error.message}`)
  const store = yield* JobStore
  const now = yield* Clock.currentTimeMillis
  let failedHere = false
  const recorded = yield* store.update(task.jobId, (job) => {
    failedHere = !isTerminal(job.status)
    return failedHere ? failJob(job, errorInfo(error), now) : job
  }).pipe(
    Effect.as(true),
    Effect.catch((storeError) => Effect.logWarning(`job ${task.jobId}: could not record the failure: ${storeError.message}`).pipe(Effect.as(false)))
  )
  if (!recorded) return yield* handBack(message, error)
  // A probe refusal was already recorded, and counted, by ingest.
  if (failedHere) yield* (yield* PipelineMetrics).record("JobsFailed")
  yield* acknowledge
})

/** Makes an interrupted delivery visible again at once instead of after its visibility timeout. */
const handBackOnInterrupt = (message: ReceivedMessage) =>
  Effect.onInterrupt(() =>
    Effect.gen(function*() {
      const queue = yield* JobQueue
      yield* queue.extendVisibility(message.receipt, 0).pipe(Effect.ignore)
      yield* Effect.logWarning(`handed ${message.groupId} back to the queue`)
    })
  )

export interface WorkerOptions {
  /** Completes when the worker should drain: stop receiving, finish (or hand back) the current task. */
  readonly drain?: Effect.Effect<void>
  /** How long a draining worker lets its current task run before handing it back. */
  readonly drainTimeout?: Duration.Input
}

/** What a draining worker waits on: the request itself, and the end of its grace period. */
export interface Drain {
  readonly requested: Effect.Effect<void>
  readonly deadline: Effect.Effect<void>
}

const neverDrains: Drain = { requested: Effect.never, deadline: Effect.never }

/**
 * Scale-in protection belongs to the instance, but one process may run several worker fibers
 * (`serve`, `process`) over one FleetControl: the instance stays protected while any of them
 * holds a task, and is released when the last one finds the queue empty.
 */
interface InstanceProtection {
  /** Workers of this process that hold a task. */
  readonly busy: Set<string>
  /** The protection the fleet last accepted (false at start, like the fleet's own state). */
  confirmed: boolean
  /** Serializes the calls, so a release and a protect cannot overtake each other. */
  readonly lock: Semaphore.Semaphore
}

const protections = new WeakMap<FleetControlShape, InstanceProtection>()

const protectionOf = (fleet: FleetControlShape) => {
  let state = protections.get(fleet)
  if (state === undefined) {
    state = { busy: new Set(), confirmed: false, lock: Semaphore.makeUnsafe(1) }
    protections.set(fleet, state)
  }
  return state
}

/**
 * Records whether this worker holds a task, then brings the instance's protection in line.
 * Never fails: a worker that cannot protect itself still works (it only risks being scaled in
 * mid-task, and then the task is redelivered after its visibility timeout). The failed call is
 * tried again on the next poll, because `confirmed` still differs from what is wanted.
 */
const holdProtection = Effect.fnUntraced(function*(workerId: string, busy: boolean) {
  const fleet = yield* FleetControl
  const state = protectionOf(fleet)
  if (busy) state.busy.add(workerId)
  else state.busy.delete(workerId)
  yield* Effect.gen(function*() {
    const wanted = state.busy.size > 0
    if (wanted === state.confirmed) return
    yield* fleet.setScaleInProtection(wanted)
    state.confirmed = wanted
  }).pipe(
    state.lock.withPermits(1),
    Effect.catch((error) => Effect.logWarning(`worker ${workerId}: ${error.message}; will retry on the next poll`))
  )
})

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
 * deadline, then is handed back.
 */
export const pollOnceWith = <E, R>(deliver: Deliver<E, R>) =>
  Effect.fn("worker.pollOnce")(function*(workerId: string, drain: Drain = neverDrains) {
    const queue = yield* JobQueue
    const metrics = yield* PipelineMetrics
    const settings = yield* PipelineSettings
    const idle = yield* IdleRegistry
    const received = yield* queue.receive({ maxMessages: 1, waitSeconds: settings.pollSeconds, visibility: settings.visibility }).pipe(
      Effect.map(Option.some),
      Effect.raceFirst(drain.requested.pipe(Effect.as(Option.none())))
    )
    if (Option.isNone(received)) return 0
    const messages = received.value
    if (messages.length === 0) {
      yield* holdProtection(workerId, false)
      yield* metrics.record("ScaleIn", 1, { worker: workerId })
      yield* idle.markIdle(workerId).pipe(Effect.catch((error) => Effect.logWarning(`could not register as idle: ${error.message}`)))
      return 0
    }
    // Before any work: out of the idle set, then protected. Neither failure stops the task.
    yield* idle.markBusy(workerId).pipe(Effect.catch((error) => Effect.logWarning(`could not leave the idle set: ${error.message}`)))
    yield* holdProtection(workerId, true)
    yield* Effect.forEach(
      messages,
      (message) =>
        deliver(workerId, message).pipe(
          handBackOnInterrupt(message),
          // When the drain's grace period ends first, the task is interrupted (and so handed back).
          Effect.raceFirst(drain.deadline.pipe(Effect.andThen(Effect.logWarning(`worker ${workerId}: drain timeout reached during ${message.groupId}`))))
        ),
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
      if (options.drain) yield* Effect.forkScoped(options.drain.pipe(Effect.andThen(Deferred.succeed(drainRequested, undefined))))
      const requested = Deferred.await(drainRequested)
      const drain: Drain = { requested, deadline: requested.pipe(Effect.andThen(Effect.sleep(options.drainTimeout ?? "10 minutes"))) }
      while (!(yield* Deferred.isDone(drainRequested))) {
        yield* poll(workerId, drain).pipe(
          Effect.catch((error) =>
            Effect.logWarning(`worker ${workerId}: ${error.message}; backing off`).pipe(Effect.andThen(Effect.sleep("2 seconds")))
          )
        )
      }
      // Going away: release the instance (unless another worker of this process still holds a task).
      yield* holdProtection(workerId, false)
      yield* Effect.logInfo(`worker ${workerId}: drained`)
    }).pipe(Effect.scoped)
}

export const runWorker = runWorkerWith(handleDelivery)
