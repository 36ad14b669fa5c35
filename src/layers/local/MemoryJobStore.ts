/**
 * In-process JobStore: a map of job records, updated atomically within the process.
 */
import { Effect, Layer } from "effect"
import { JobNotFound, JobStoreFailed } from "../../domain/Errors.ts"
import type { Job } from "../../domain/Job.ts"
import { isTerminal } from "../../domain/Job.ts"
import { JobStore } from "../../services/JobStore.ts"

export const makeMemoryJobStore = Effect.sync(() => {
  const jobs = new Map<string, Job>()
  const find = (jobId: string) => {
    const job = jobs.get(jobId)
    return job === undefined ? Effect.fail(new JobNotFound({ jobId })) : Effect.succeed(job)
  }
  return JobStore.of({
    create: (job) =>
      jobs.has(job.id)
        ? Effect.fail(new JobStoreFailed({ operation: "create", reason: `job ${job.id} already exists`, retryable: false }))
        : Effect.sync(() => void jobs.set(job.id, job)),
    get: find,
    update: (jobId, change) =>
      Effect.map(find(jobId), (job) => {
        const next = change(job)
        jobs.set(jobId, next)
        return next
      }),
    list: (options) =>
      Effect.sync(() =>
        [...jobs.values()]
          .filter((job) => !options?.activeOnly || !isTerminal(job.status))
          .filter((job) => !options?.withEvents || (job.outbox?.length ?? 0) > 0)
          .filter((job) => options?.owner === undefined || job.owner === options.owner)
          .filter((job) => options?.createdBefore === undefined || job.createdAt < options.createdBefore)
          .sort((a, b) => b.createdAt - a.createdAt)
          .slice(0, options?.limit ?? 100)
      ),
    delete: (jobId) => Effect.sync(() => void jobs.delete(jobId))
  })
})

export const memoryJobStoreLayer = Layer.effect(JobStore, makeMemoryJobStore)
