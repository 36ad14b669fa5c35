/**
 * A worker's failure policy. A failure retrying can help goes back to the queue, visible again
 * soon, until the task's last allowed receive; a permanent failure, or the last receive, fails the
 * job with the reason. A failure the job store cannot record is never dropped: the delivery goes
 * back and fails again, recorded. An interrupted delivery (a drain, a shutdown) goes back at once.
 */
import { Clock, Effect } from "effect"
import type { Job } from "../domain/Job.ts"
import { errorInfo, isTerminal } from "../domain/Job.ts"
import type { PlanTask, Task } from "../domain/Task.ts"
import type { ReceivedMessage } from "../services/JobQueue.ts"
import { JobQueue } from "../services/JobQueue.ts"
import { JobStore } from "../services/JobStore.ts"
import { PipelineMetrics } from "../services/PipelineMetrics.ts"
import { PipelineSettings } from "../services/PipelineSettings.ts"
import { failJob, updateTask } from "./jobRecords.ts"
import type { Retryable } from "../domain/retryTransient.ts"
import { setTask } from "./workerTask.ts"

/** What the policy reads from a failure: its name and reason (recorded on the job) and whether retrying can help. */
export interface TaskFailure extends Retryable {
  readonly _tag: string
  readonly message: string
}

/** Makes the delivery visible again after a backoff by its receive count, rather than after a whole visibility timeout. */
const visibleAgainSoon = Effect.fnUntraced(function*(message: ReceivedMessage) {
  const queue = yield* JobQueue
  yield* queue.extendVisibility(message.receipt, `${Math.min(60, 2 ** message.receiveCount)} seconds`).pipe(Effect.ignore)
})

/**
 * The delivery goes back to the queue, visible again soon (SQS: ChangeMessageVisibility), and
 * nothing is written to the job store (it may be what failed).
 */
export const handBack = Effect.fnUntraced(function*(message: ReceivedMessage, error: TaskFailure) {
  yield* Effect.logWarning(`handing ${message.groupId} back: ${error.message}`)
  yield* visibleAgainSoon(message)
})

/** Makes an interrupted delivery visible again at once instead of after its visibility timeout. */
export const handBackOnInterrupt = (message: ReceivedMessage) =>
  Effect.onInterrupt(() =>
    Effect.gen(function*() {
      const queue = yield* JobQueue
      yield* queue.extendVisibility(message.receipt, 0).pipe(Effect.ignore)
      yield* Effect.logWarning(`handed ${message.groupId} back to the queue`)
    })
  )

/** Writes a failure on the job; false (logged) when the store fails too, so the caller hands the delivery back. */
const recordFailure = Effect.fnUntraced(function*(about: string, jobId: string, change: (job: Job) => Job) {
  const store = yield* JobStore
  return yield* store.update(jobId, change).pipe(
    Effect.as(true),
    Effect.catch((storeError) => Effect.logWarning(`${about}: could not record the failure: ${storeError.message}`).pipe(Effect.as(false)))
  )
})

/**
 * This worker's disk cannot hold the task (DiskTooSmall, checked before anything was copied): the
 * task goes back to the queue visible at once, for a worker with room, and the worker's process
 * takes no task for a while (SourceCopies.pauseAfterRefusal, worker.ts), so the refused task does
 * not come straight back to it. Not a failure of the task: no TasksFailed, and the task shows
 * queued, with the refusal as its last error so the job says why it waits.
 *
 * The queue still counts the receive (SQS cannot un-count one, short of sending the task again
 * as a new message). That is kept on purpose: on the last allowed receive the refusal fails the
 * job like any failure, with the bytes needed and free, because `maxReceiveCount` refusals in a
 * row say that no worker has had room for this source, and a job that waits for ever on a disk no
 * worker has is worse than one that fails saying so.
 */
const refusedForDisk = Effect.fnUntraced(function*(task: Task, message: ReceivedMessage, error: TaskFailure) {
  const queue = yield* JobQueue
  yield* Effect.logWarning(`task ${task.taskId} refused on receive ${message.receiveCount}, handed back for another worker: ${error.message}`)
  yield* setTask(task.jobId, task.taskId, (state) => state.status === "done" ? state : { ...state, status: "queued", error: errorInfo(error) }).pipe(
    Effect.catch((storeError) => Effect.logWarning(`task ${task.taskId}: could not record the refusal: ${storeError.message}`))
  )
  yield* queue.extendVisibility(message.receipt, 0).pipe(Effect.ignore)
})

/**
 * An encode task failed: fails the job when retrying cannot help (a permanent error, or the last
 * allowed receive), otherwise leaves the task for redelivery.
 */
export const taskFailed = Effect.fnUntraced(function*(task: Task, message: ReceivedMessage, error: TaskFailure) {
  const settings = yield* PipelineSettings
  const metrics = yield* PipelineMetrics
  const queue = yield* JobQueue
  const lastChance = message.receiveCount >= settings.maxReceiveCount
  if (error._tag === "DiskTooSmall" && !lastChance) return yield* refusedForDisk(task, message, error)
  yield* metrics.record("TasksFailed")
  if (error.retryable && !lastChance) {
    yield* Effect.logWarning(`task ${task.taskId} attempt ${message.receiveCount} failed, will be retried: ${error.message}`)
    // A task whose outputs are already stored (it failed completing or finalizing) stays done.
    // Only a record: a store that fails too (a Redis blip) must not keep the task from going back.
    yield* setTask(task.jobId, task.taskId, (state) => state.status === "done" ? state : { ...state, status: "queued", error: errorInfo(error) }).pipe(
      Effect.catch((storeError) => Effect.logWarning(`task ${task.taskId}: could not record the retry: ${storeError.message}`))
    )
    return yield* visibleAgainSoon(message)
  }
  yield* Effect.logError(`task ${task.taskId} failed: ${error.message}`)
  const now = yield* Clock.currentTimeMillis
  const recorded = yield* recordFailure(
    `task ${task.taskId}`,
    task.jobId,
    (job) => failJob(updateTask(job, task.taskId, (state) => ({ ...state, status: "failed", error: errorInfo(error) }), now), errorInfo(error), now)
  )
  // A failure the job does not show yet is not dropped: the task comes back, and fails again, recorded.
  if (!recorded) return yield* handBack(message, error)
  yield* metrics.record("JobsFailed")
  // A permanent failure is gone for good; a task that used up its receives goes to the
  // dead-letter queue (the queue moves it there on its next receive), where it can be inspected.
  yield* (error.retryable ? queue.extendVisibility(message.receipt, 0) : queue.delete(message.receipt)).pipe(Effect.ignore)
})

/**
 * A plan task failed. A probe refusal fails the job (ingest records it); a transient failure hands
 * the plan back until its last allowed receive, which fails the job with the reason rather than
 * leaving it to the dead-letter queue. `acknowledge` deletes the delivery once the job shows it.
 */
export const planFailed = Effect.fnUntraced(function*(task: PlanTask, message: ReceivedMessage, error: TaskFailure, acknowledge: Effect.Effect<void>) {
  const settings = yield* PipelineSettings
  if (error.retryable && message.receiveCount < settings.maxReceiveCount) return yield* handBack(message, error)
  yield* Effect.logError(`job ${task.jobId}: planning failed: ${error.message}`)
  const now = yield* Clock.currentTimeMillis
  let failedHere = false
  const recorded = yield* recordFailure(`job ${task.jobId}`, task.jobId, (job) => {
    failedHere = !isTerminal(job.status)
    return failedHere ? failJob(job, errorInfo(error), now) : job
  })
  if (!recorded) return yield* handBack(message, error)
  // A probe refusal was already recorded, and counted, by ingest.
  if (failedHere) yield* (yield* PipelineMetrics).record("JobsFailed")
  yield* acknowledge
})
