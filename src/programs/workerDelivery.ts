/**
 * What one delivery becomes: its task read from the message, its job looked up, then the task
 * run (workerTask.ts) and the message deleted, or the failure handed to the failure policy
 * (workerFailures.ts). A message is deleted only once its work is done or cannot ever be.
 */
import { Cause, Clock, Effect, Exit, Option } from "effect"
import { isTerminal } from "../domain/Job.ts"
import type { ReceivedMessage } from "../services/JobQueue.ts"
import { JobQueue } from "../services/JobQueue.ts"
import { JobStore } from "../services/JobStore.ts"
import { retryTransient } from "../domain/retryTransient.ts"
import { decodeTask } from "./taskMessages.ts"
import { handBack, planFailed, taskFailed } from "./workerFailures.ts"
import { completeAndMaybeFinalize, runEncodeTask, runPlanTask } from "./workerTask.ts"

/** A store read retried in place: a blip of a few hundred milliseconds costs no redelivery. */
const retryStoreRead = retryTransient(3, "100 millis")

/**
 * A run's outcome: success goes to `onSuccess`, a typed failure to the failure policy. An
 * interruption (shutdown) or a defect leaves the message, redelivered after its visibility.
 */
const settle = <A, E, R1, R2>(
  outcome: Exit.Exit<A, E>,
  onSuccess: (value: A) => Effect.Effect<void, never, R1>,
  onFailure: (error: E) => Effect.Effect<void, never, R2>
): Effect.Effect<void, E, R1 | R2> => {
  if (Exit.isSuccess(outcome)) return onSuccess(outcome.value)
  const failure = Cause.findErrorOption(outcome.cause)
  return Option.isSome(failure) ? onFailure(failure.value) : Effect.failCause(outcome.cause)
}

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

  if (task._tag === "plan") {
    const planned = yield* Effect.exit(Effect.scoped(runPlanTask(task, message)))
    return yield* settle(planned, () => acknowledge, (error) => planFailed(task, message, error, acknowledge))
  }

  // Redelivered after its outputs were stored (the worker died before deleting): only complete it.
  const alreadyDone = job.value.tasks.some((t) => t.taskId === task.taskId && t.status === "done")
  const work = alreadyDone ? completeAndMaybeFinalize(workerId, task).pipe(Effect.as(0)) : Effect.scoped(runEncodeTask(workerId, task, message))
  const outcome = yield* Effect.exit(work)
  return yield* settle(outcome, (ffmpegMs) =>
    Effect.gen(function*() {
      yield* acknowledge
      // What the pipeline itself costs per task: everything but ffmpeg (job records, storage, coordinator, queue).
      const total = (yield* Clock.currentTimeMillis) - started
      yield* Effect.logDebug(`task ${task.taskId} took ${total} ms: ffmpeg ${ffmpegMs} ms, orchestration ${total - ffmpegMs} ms`).pipe(
        Effect.annotateLogs({ taskId: task.taskId, totalMs: total, ffmpegMs, orchestrationMs: total - ffmpegMs })
      )
    }), (error) => taskFailed(task, message, error))
})
