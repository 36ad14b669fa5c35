/**
 * Retrying a failed job: its unfinished tasks go back to the queue under a new attempt number
 * (so the queue's deduplication lets them through), and the job is queued again. Done tasks keep
 * their results and their completions in the coordinator, which are idempotent.
 */
import type { Job } from "../../../domain/Job.ts"
import type { Task } from "../../../domain/Task.ts"
import { planTasks } from "../../../programs/ingest.ts"

/** Why `job` cannot be retried, or undefined when it can. */
export const retryRefusal = (job: Job): string | undefined => {
  if (job.status !== "failed") return `job ${job.id} is ${job.status}; only a failed job can be retried`
  if (job.probe === undefined || job.plan === undefined) {
    return `job ${job.id} failed before it was planned (${job.error?.message ?? "no reason recorded"}); create a new job`
  }
  return undefined
}

/** The job queued again, with every task that is not done reset. Pure: a store update may re-run it. */
export const resetForRetry = (job: Job, now: number): { readonly job: Job; readonly taskIds: ReadonlyArray<string> } => {
  const taskIds = job.tasks.filter((task) => task.status !== "done").map((task) => task.taskId)
  const { error: _error, finishedAt: _finishedAt, ...rest } = job
  return {
    taskIds,
    job: {
      ...rest,
      status: "queued",
      updatedAt: now,
      tasks: job.tasks.map((task) => {
        if (task.status === "done") return task
        const { error: _taskError, worker: _worker, ...fresh } = task
        return { ...fresh, status: "queued", progress: 0 }
      })
    }
  }
}

/** The queue messages for `taskIds`, rebuilt from the job's plan. */
export const retryTasks = (job: Job, taskIds: ReadonlyArray<string>, attempt: number): ReadonlyArray<Task> => {
  if (job.probe === undefined || job.plan === undefined) return []
  const wanted = new Set(taskIds)
  return planTasks(job, job.probe, job.plan.rungs)
    .filter((task) => wanted.has(task.taskId))
    .map((task) => ({ ...task, attempt }))
}
