/**
 * Running one task a worker has taken: keep its delivery invisible (heartbeat), then for an
 * encode task hold the source on this machine's disk (sourceCopy.ts), encode within the time
 * budget, store the outputs, record the task done, report the completion and finalize if it won;
 * for a plan task, ingest. Failures are returned to the caller, whose failure policy
 * (workerFailures.ts) decides what they mean.
 */
import { Clock, Duration, Effect, Option, Schedule } from "effect"
import { TaskTimedOut } from "../domain/Errors.ts"
import type { PlanTask, Task } from "../domain/Task.ts"
import { Coordinator } from "../services/Coordinator.ts"
import { FaultInjection } from "../services/FaultInjection.ts"
import type { ReceivedMessage } from "../services/JobQueue.ts"
import { JobQueue } from "../services/JobQueue.ts"
import { JobStore } from "../services/JobStore.ts"
import { PipelineMetrics } from "../services/PipelineMetrics.ts"
import { PipelineSettings } from "../services/PipelineSettings.ts"
import { TaskProgress } from "../services/TaskProgress.ts"
import { encodeTask } from "./encodeTask.ts"
import { finalize } from "./finalize.ts"
import { ingest } from "./ingest.ts"
import { localSource } from "./sourceCopy.ts"
import { updateTask } from "./jobRecords.ts"
import { retryTransient } from "../domain/retryTransient.ts"

/** Progress is written at most this often per task, to keep the job store quiet. */
const progressEveryMs = 1000

export const setTask = Effect.fnUntraced(function*(jobId: string, taskId: string, change: Parameters<typeof updateTask>[2]) {
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

/** Encode, store, complete, maybe finalize; returns the milliseconds ffmpeg took. Fails only with errors the caller should act on. */
export const runEncodeTask = Effect.fnUntraced(function*(workerId: string, task: Task, message: ReceivedMessage) {
  const settings = yield* PipelineSettings
  const metrics = yield* PipelineMetrics

  // The worker already left the idle set and protected the instance (pollOnce).
  yield* setTask(task.jobId, task.taskId, (state) => ({ ...state, status: "running", attempts: message.receiveCount, worker: workerId }))
  const store = yield* JobStore
  yield* store.update(task.jobId, (job) => (job.status === "queued" ? { ...job, status: "processing" } : job))
  yield* heartbeat(message)

  // Every report goes to the worker (it weighs the pace against a Spot interruption); the job store gets some.
  const pace = yield* TaskProgress
  let lastReport = 0
  const onProgress = (fraction: number) =>
    Effect.gen(function*() {
      yield* pace.progressed(fraction)
      const now = yield* Clock.currentTimeMillis
      if (now - lastReport < progressEveryMs && fraction < 1) return
      lastReport = now
      yield* store.update(task.jobId, (job) => updateTask(job, task.taskId, (state) => ({ ...state, progress: fraction }), now)).pipe(
        Effect.ignore
      )
    })

  const started = yield* Clock.currentTimeMillis
  const withinBudget = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(Effect.timeoutOrElse({
      duration: settings.taskTimeout,
      orElse: () => Effect.fail(new TaskTimedOut({ taskId: task.taskId, seconds: Duration.toSeconds(settings.taskTimeout) }))
    }))
  const { ffmpegMillis, result: track } = yield* Effect.gen(function*() {
    // The source on this machine's disk, held until the encode's outputs are stored. A disk too
    // small is not retried here: the task goes back to the queue at once for a worker with room
    // (workerFailures.ts).
    const input = yield* withinBudget(localSource(task)).pipe(
      Effect.retry({ schedule: retryTransient(settings.transientRetries), while: (error) => error._tag !== "DiskTooSmall" })
    )
    return yield* withinBudget(pace.encodeStarted.pipe(Effect.andThen(encodeTask(task, input, onProgress)))).pipe(
      Effect.retry(retryTransient(settings.transientRetries))
    )
  }).pipe(Effect.scoped)
  // Encoded and stored: only records are left (and perhaps the finalize), nothing to weigh at the encode's pace.
  yield* pace.progressed(1)
  const taskSeconds = ((yield* Clock.currentTimeMillis) - started) / 1000
  yield* setTask(task.jobId, task.taskId, (state) => {
    const { error: _error, ...rest } = state
    // What it took beside what it was estimated to: the estimates are corrected from it (WorkEstimate.ts).
    return { ...rest, status: "done", progress: 1, result: track, taskSeconds: Math.round(taskSeconds * 10) / 10 }
  })
  yield* metrics.record("TaskSeconds", taskSeconds, { kind: task._tag })
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
 * A job's plan task: ingest (probe, ladder, tasks) here on the worker, with its ffprobe. Ingest is
 * idempotent, so a redelivered plan only re-sends the same tasks.
 */
export const runPlanTask = Effect.fnUntraced(function*(task: PlanTask, message: ReceivedMessage) {
  const settings = yield* PipelineSettings
  yield* heartbeat(message)
  yield* ingest(task.jobId).pipe(Effect.retry(retryTransient(settings.transientRetries)))
})
