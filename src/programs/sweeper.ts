/**
 * The sweeper, run by every worker on a schedule, recovers jobs that nothing else will move:
 * - every task is done but the job is not ready (the finalizer died, or the completion records
 *   were lost): completions are recorded again (idempotent) and the winner of an expired lease
 *   finalizes;
 * - an unfinished job nobody has touched for `staleAfter` (its messages were lost): its unfinished
 *   tasks are sent again under a new attempt number (duplicates are harmless: every step is idempotent).
 * Several sweepers may run at once; the coordinator's lease and the queue's deduplication keep
 * their work from doubling.
 */
import { Clock, Duration, Effect, Schedule } from "effect"
import type { Job } from "../domain/Job.ts"
import { planTasks } from "./ingest.ts"
import { JobStore } from "../services/JobStore.ts"
import { enqueueTask } from "./taskMessages.ts"
import { PipelineSettings } from "./PipelineSettings.ts"
import { completeAndMaybeFinalize } from "./worker.ts"

const finishWholeJob = Effect.fnUntraced(function*(owner: string, job: Job) {
  const total = job.tasks.length
  for (const task of job.tasks) {
    yield* completeAndMaybeFinalize(owner, { jobId: job.id, taskId: task.taskId, totalTasks: total })
  }
})

const resendUnfinished = Effect.fnUntraced(function*(job: Job, now: number) {
  const store = yield* JobStore
  if (job.probe === undefined || job.plan === undefined) return
  const unfinished = new Set(job.tasks.filter((t) => t.status !== "done").map((t) => t.taskId))
  // A new attempt number per sweep gets past the queue's deduplication window.
  const attempt = Math.floor(now / 1000)
  const tasks = planTasks(job, job.probe, job.plan.rungs).filter((t) => unfinished.has(t.taskId)).map((t) => ({ ...t, attempt }))
  yield* Effect.forEach(tasks, enqueueTask, { discard: true })
  yield* store.update(job.id, (current) => ({ ...current, updatedAt: now }))
  yield* Effect.logWarning(`sweeper: job ${job.id} was idle; re-sent ${tasks.map((t) => t.taskId).join(", ")}`)
})

export const sweepOnce = Effect.fn("sweeper.sweepOnce")(function*(owner: string) {
  const store = yield* JobStore
  const settings = yield* PipelineSettings
  const now = yield* Clock.currentTimeMillis
  const jobs = yield* store.list({ activeOnly: true, limit: 1000 })
  for (const job of jobs) {
    if (job.tasks.length === 0) continue // not ingested yet
    const recover = Effect.gen(function*() {
      if (job.tasks.every((t) => t.status === "done")) return yield* finishWholeJob(owner, job)
      if (now - job.updatedAt > Duration.toMillis(settings.staleAfter)) return yield* resendUnfinished(job, now)
    })
    yield* recover.pipe(Effect.catch((error) => Effect.logWarning(`sweeper: job ${job.id}: ${error.message}`)))
  }
})

/** Sweeps every `sweepEvery`, starting one period after the worker starts. */
export const runSweeper = (owner: string) =>
  Effect.gen(function*() {
    const settings = yield* PipelineSettings
    yield* sweepOnce(owner).pipe(
      Effect.catch((error) => Effect.logWarning(`sweeper: ${error.message}`)),
      Effect.delay(settings.sweepEvery),
      Effect.repeat(Schedule.spaced(settings.sweepEvery))
    )
  })
