/**
 * Job records: status, plan, per-task progress and results.
 */
import type { Effect } from "effect"
import { Context } from "effect"
import type { JobNotFound, JobStoreFailed } from "../domain/Errors.ts"
import type { Job } from "../domain/Job.ts"

export interface JobStoreShape {
  /** Fails with JobStoreFailed when a job with that id exists. */
  readonly create: (job: Job) => Effect.Effect<void, JobStoreFailed>
  readonly get: (jobId: string) => Effect.Effect<Job, JobNotFound | JobStoreFailed>
  /** Atomic read-modify-write; `change` may be re-run on contention, so it must be pure. */
  readonly update: (jobId: string, change: (job: Job) => Job) => Effect.Effect<Job, JobNotFound | JobStoreFailed>
  /**
   * Newest first. `activeOnly` keeps jobs not yet ready or failed (what the sweeper looks at);
   * `createdBefore` (epoch ms, exclusive) pages through older jobs; `owner` keeps only the jobs of
   * that API key id (an index, not a filter over everyone's jobs, so a page is a page).
   * `withEvents` keeps jobs with events in their outbox (what the webhook relay looks at).
   */
  readonly list: (options?: {
    readonly limit?: number
    readonly activeOnly?: boolean
    readonly withEvents?: boolean
    readonly createdBefore?: number
    readonly owner?: string
  }) => Effect.Effect<ReadonlyArray<Job>, JobStoreFailed>
  readonly delete: (jobId: string) => Effect.Effect<void, JobStoreFailed>
}

export class JobStore extends Context.Service<JobStore, JobStoreShape>()("vidpipe/JobStore") {}
