/**
 * The sweeper, run by every worker on a schedule, recovers jobs that nothing else will move:
 * - every task is done but the job is not ready (the finalizer died, or the completion records
 *   were lost): completions are recorded again (idempotent) and the winner of an expired lease
 *   finalizes; a job the coordinator already counts as finalized (its finalizer died just before
 *   recording it) is recorded ready;
 * - an unfinished job nobody has touched for `staleAfter` (its messages were lost): its unfinished
 *   tasks are sent again under a new attempt number (duplicates are harmless: every step is idempotent);
 *   a job uploaded but never planned (its plan task was lost) gets its plan task again, and one
 *   whose source is whole in storage but that was never accepted (still awaiting its upload) is
 *   accepted;
 * - a task whose message went to the dead-letter queue because no delivery of it ever reported back
 *   (its worker crashed, or was killed, on every one of `maxReceiveCount` receives): its job fails
 *   with that reason instead of waiting to be re-sent, and crashing workers, forever; the letter is
 *   then deleted, so letters never pile up in front of newer ones. A failure the worker lived to
 *   report fails the job there (workerFailures.ts); this covers the deliveries that killed it.
 * Several sweepers may run at once; the coordinator's lease and the queue's deduplication keep
 * their work from doubling.
 */
import { Clock, Duration, Effect, Option, Schedule } from "effect"
import type { ErrorInfo, Job } from "../domain/Job.ts"
import { isTerminal, manifestKeyOf } from "../domain/Job.ts"
import { recordEvent } from "../domain/jobEvents.ts"
import { backlogWorkSeconds } from "../domain/WorkEstimate.ts"
import { planTaskId } from "../domain/Task.ts"
import { Coordinator } from "../services/Coordinator.ts"
import { JobQueue } from "../services/JobQueue.ts"
import { JobStore } from "../services/JobStore.ts"
import type { PipelineSettingsShape } from "../services/PipelineSettings.ts"
import { PipelineMetrics } from "../services/PipelineMetrics.ts"
import { PipelineSettings } from "../services/PipelineSettings.ts"
import { Storage } from "../services/Storage.ts"
import { acceptUpload } from "./acceptUpload.ts"
import { planTasks } from "./ingest.ts"
import { failJob, updateTask } from "./jobRecords.ts"
import { decodeTask, enqueueTask } from "./taskMessages.ts"
import { completeAndMaybeFinalize } from "./workerTask.ts"

const finishWholeJob = Effect.fnUntraced(function*(owner: string, job: Job, now: number) {
  const total = job.tasks.length
  for (const task of job.tasks) {
    yield* completeAndMaybeFinalize(owner, { jobId: job.id, taskId: task.taskId, totalTasks: total })
  }
  yield* recordFinalized(job, now)
})

/**
 * A finalizer that died after the coordinator recorded the job finalized, before the job record
 * said so, leaves a published manifest that no lease will ever be granted for again: record it
 * (once nobody has touched the job for a lease period, so a live finalizer is not overtaken).
 */
const recordFinalized = Effect.fnUntraced(function*(job: Job, now: number) {
  const coordinator = yield* Coordinator
  const storage = yield* Storage
  const store = yield* JobStore
  const settings = yield* PipelineSettings
  if (now - job.updatedAt < Duration.toMillis(settings.finalizeLease)) return
  if (!(yield* coordinator.state(job.id)).finalized) return
  const manifestKey = manifestKeyOf(job)
  if (Option.isNone(yield* storage.head("outputs", manifestKey))) {
    return yield* Effect.logError(`sweeper: job ${job.id} is finalized but its manifest ${manifestKey} is missing`)
  }
  yield* store.update(job.id, (current) =>
    current.status === "ready" ? current : recordEvent({
      ...current,
      status: "ready",
      manifestKey,
      updatedAt: now,
      finishedAt: current.finishedAt ?? now,
      manifestWrites: Math.max(current.manifestWrites ?? 0, 1),
      finalizeRuns: (current.finalizeRuns ?? 0) + 1
    }, "job.ready", now))
  yield* Effect.logWarning(`sweeper: job ${job.id} was finalized by a worker that died before recording it; recorded ready`)
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

/** A source only appears in storage once whole (S3 objects, folder storage's rename into place). */
const acceptLostUpload = Effect.fnUntraced(function*(job: Job) {
  const storage = yield* Storage
  if (Option.isNone(yield* storage.head("uploads", job.sourceKey))) return
  yield* acceptUpload(job.id)
  yield* Effect.logWarning(`sweeper: job ${job.id} had its source uploaded but was never accepted; accepted it now`)
})

const resendPlan = Effect.fnUntraced(function*(job: Job, now: number) {
  const store = yield* JobStore
  // A new attempt number per sweep gets past the queue's deduplication window.
  yield* enqueueTask({ _tag: "plan", jobId: job.id, taskId: planTaskId(job.id), attempt: Math.floor(now / 1000), sourceKey: job.sourceKey })
  yield* store.update(job.id, (current) => ({ ...current, updatedAt: now }))
  yield* Effect.logWarning(`sweeper: job ${job.id} was uploaded but never planned; re-sent its plan task`)
})

/**
 * Whether the dead letter of `taskId` belongs to the job's current run of that task: its last
 * recorded delivery was the last allowed one (attempts = receive count), started ("running") and
 * never reported back, and nobody has touched the job for a visibility timeout (a worker still
 * encoding writes progress). A retry resets the task to "queued", so an older dead letter of a
 * retried job does not fail it again; neither does one whose task finished after all.
 */
export const deadLetterFails = (job: Job, taskId: string, settings: Pick<PipelineSettingsShape, "maxReceiveCount" | "visibility">, now: number) => {
  if (isTerminal(job.status)) return false
  const task = job.tasks.find((t) => t.taskId === taskId)
  return task !== undefined &&
    task.status === "running" &&
    task.attempts >= settings.maxReceiveCount &&
    now - job.updatedAt >= Duration.toMillis(settings.visibility)
}

export const deadLetterError = (label: string, receives: number): ErrorInfo => ({
  _tag: "TaskDeadLettered",
  message: `task ${label} was received ${receives} times and never finished (its worker crashed or was stopped each time); it is in the dead-letter queue`
})

/**
 * What a dead letter leaves behind once it is read: `failed` its job (recorded), `stale` nothing to
 * record (the job is gone, finished, retried, or the body is not a task), or `undecided` (its job
 * was touched within a visibility timeout: a worker may still report the task).
 */
type LetterOutcome = { readonly _tag: "failed"; readonly jobId: string } | { readonly _tag: "stale" } | { readonly _tag: "undecided" }
const stale: LetterOutcome = { _tag: "stale" }
const undecided: LetterOutcome = { _tag: "undecided" }

const judgeLetter = Effect.fnUntraced(function*(body: string, now: number) {
  const store = yield* JobStore
  const settings = yield* PipelineSettings
  const task = yield* Effect.option(decodeTask(body))
  if (Option.isNone(task)) {
    yield* Effect.logError(`sweeper: a dead letter is not a task message, dropped: ${body.slice(0, 200)}`)
    return stale
  }
  if (task.value._tag === "plan") return yield* judgePlanLetter(task.value.jobId, now)
  const { jobId, taskId } = task.value
  // Only a missing job makes the letter meaningless; a failing store keeps it for the next sweep.
  const job = yield* store.get(jobId).pipe(Effect.catchTag("JobNotFound", () => Effect.succeed(undefined)))
  if (job === undefined || isTerminal(job.status)) return stale
  const state = job.tasks.find((t) => t.taskId === taskId)
  if (state === undefined || state.status !== "running" || state.attempts < settings.maxReceiveCount) return stale
  if (!deadLetterFails(job, taskId, settings, now)) return undecided
  let failed: ErrorInfo | undefined
  yield* store.update(jobId, (current) => {
    failed = undefined
    if (!deadLetterFails(current, taskId, settings, now)) return current
    const running = current.tasks.find((t) => t.taskId === taskId)!
    failed = deadLetterError(running.label, running.attempts)
    const error = failed
    return failJob(updateTask(current, taskId, (t) => ({ ...t, status: "failed", error }), now), error, now)
  })
  // Someone else moved the job meanwhile: what the letter said no longer applies.
  if (failed === undefined) return stale
  yield* Effect.logError(`sweeper: job ${jobId} failed: ${failed.message}`)
  const outcome: LetterOutcome = { _tag: "failed", jobId }
  return outcome
})

/** A job still waiting for its plan (queued, no tasks) that nobody touched for a visibility timeout. */
const awaitsPlan = (job: Job, settings: Pick<PipelineSettingsShape, "visibility">, now: number) =>
  job.status === "queued" && job.tasks.length === 0 && now - job.updatedAt >= Duration.toMillis(settings.visibility)

/** A dead-lettered plan: every worker that took it died planning (probing) it. Its job fails. */
const judgePlanLetter = Effect.fnUntraced(function*(jobId: string, now: number) {
  const store = yield* JobStore
  const settings = yield* PipelineSettings
  const job = yield* store.get(jobId).pipe(Effect.catchTag("JobNotFound", () => Effect.succeed(undefined)))
  if (job === undefined || job.status !== "queued" || job.tasks.length > 0) return stale
  if (!awaitsPlan(job, settings, now)) return undecided
  const error = deadLetterError(`plan of job ${jobId}`, settings.maxReceiveCount)
  let failed = false
  yield* store.update(jobId, (current) => {
    failed = awaitsPlan(current, settings, now)
    return failed ? failJob(current, error, now) : current
  })
  if (!failed) return stale
  yield* Effect.logError(`sweeper: job ${jobId} failed: ${error.message}`)
  const outcome: LetterOutcome = { _tag: "failed", jobId }
  return outcome
})

/**
 * Reads the dead-letter queue: each letter is recorded on its job first (the job fails with the
 * reason; see `deadLetterFails`), then deleted from the queue, so the next listing reaches the
 * letters behind it; a letter whose job cannot be read now, or may still be reported by a live
 * worker, stays for a later sweep. Returns the ids of the jobs failed here.
 */
const recordDeadLetters = Effect.fnUntraced(function*(now: number) {
  const queue = yield* JobQueue
  const failedJobs = new Set<string>()
  for (const letter of yield* queue.deadLetters) {
    const outcome = yield* judgeLetter(letter.body, now).pipe(
      Effect.catch((error) => Effect.logWarning(`sweeper: dead letter ${letter.messageId} kept: ${error.message}`).pipe(Effect.as(undecided)))
    )
    if (outcome._tag === "undecided") continue
    if (outcome._tag === "failed") failedJobs.add(outcome.jobId)
    yield* queue.deleteDeadLetter(letter.receipt)
  }
  return failedJobs
})

export const sweepOnce = Effect.fn("sweeper.sweepOnce")(function*(owner: string) {
  const store = yield* JobStore
  const settings = yield* PipelineSettings
  const now = yield* Clock.currentTimeMillis
  const jobs = yield* store.list({ activeOnly: true, limit: 1000 })
  // The work-sized scaling signal (ScalingPolicy.ts): every sweeper reports it; the alarm takes the largest.
  const backlog = backlogWorkSeconds(jobs)
  yield* (yield* PipelineMetrics).record("BacklogWorkSeconds", Math.round(backlog.queued + backlog.inFlight))
  const failed = yield* recordDeadLetters(now).pipe(
    Effect.catch((error) => Effect.logWarning(`sweeper: dead letters: ${error.message}`).pipe(Effect.as(new Set<string>())))
  )
  for (const job of jobs) {
    if (failed.has(job.id)) continue // failed just now
    const recover = Effect.gen(function*() {
      // Uploaded, but the acceptance was lost (the ingest Lambda gave up, serve's upload route could
      // not record it): the source is whole in storage, so it is accepted now.
      if (job.status === "awaiting-upload") return now - job.updatedAt > Duration.toMillis(settings.staleAfter) ? yield* acceptLostUpload(job) : undefined
      // Uploaded but never planned (its plan task was lost, or never sent): the plan is sent again.
      if (job.tasks.length === 0) return job.status === "queued" && now - job.updatedAt > Duration.toMillis(settings.staleAfter) ? yield* resendPlan(job, now) : undefined
      if (job.tasks.every((t) => t.status === "done")) return yield* finishWholeJob(owner, job, now)
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
