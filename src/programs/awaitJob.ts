/**
 * Waits for a job to reach `ready` or `failed`, reporting each change on the way.
 * Polling keeps it backend-agnostic: the job may be worked on by fibers here or by other machines.
 */
import { Effect } from "effect"
import type { Job } from "../domain/Job.ts"
import { isTerminal } from "../domain/Job.ts"
import { JobStore } from "../services/JobStore.ts"

export const awaitJob = Effect.fn("awaitJob")(function*(
  jobId: string,
  onUpdate: (job: Job) => Effect.Effect<void> = () => Effect.void,
  every: number = 250
) {
  const store = yield* JobStore
  let lastSeen = -1
  while (true) {
    const job = yield* store.get(jobId)
    if (job.updatedAt !== lastSeen) {
      lastSeen = job.updatedAt
      yield* onUpdate(job)
    }
    if (isTerminal(job.status)) return job
    yield* Effect.sleep(every)
  }
})
