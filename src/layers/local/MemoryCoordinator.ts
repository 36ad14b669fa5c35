/**
 * In-process Coordinator: the same decisions as the Redis Lua script, made inside `Effect.sync`
 * so they are atomic with respect to every fiber in the process. Time comes from `Clock`.
 */
import { Clock, Duration, Effect, Layer, Option } from "effect"
import type { FinalizeLease } from "../../services/Coordinator.ts"
import { Coordinator } from "../../services/Coordinator.ts"

interface JobRecord {
  readonly completed: Set<string>
  total: number | undefined
  finalized: boolean
  lease: FinalizeLease | undefined
  lastToken: number
}

const millis = (input: Duration.Input) => Duration.toMillis(Duration.fromInputUnsafe(input))

export const makeMemoryCoordinator = Effect.sync(() => {
  const jobs = new Map<string, JobRecord>()

  const recordOf = (jobId: string) => {
    let record = jobs.get(jobId)
    if (record === undefined) {
      record = { completed: new Set(), total: undefined, finalized: false, lease: undefined, lastToken: 0 }
      jobs.set(jobId, record)
    }
    return record
  }

  /** Grants a new lease when the job is whole, unfinalized and nobody holds a live lease. */
  const tryLease = (jobId: string, record: JobRecord, owner: string, leaseFor: Duration.Input, now: number) => {
    const whole = record.total !== undefined && record.completed.size >= record.total
    const leaseLive = record.lease !== undefined && record.lease.expiresAt > now
    if (!whole || record.finalized || leaseLive) return Option.none<FinalizeLease>()
    record.lastToken += 1
    record.lease = { jobId, owner, token: record.lastToken, expiresAt: now + millis(leaseFor) }
    return Option.some(record.lease)
  }

  const holds = (record: JobRecord | undefined, lease: FinalizeLease, now: number) =>
    record !== undefined && record.lease?.token === lease.token && record.lease.expiresAt > now && !record.finalized

  return Coordinator.of({
    complete: Effect.fn("Coordinator.complete")(function*({ jobId, taskId, total, owner, leaseFor }) {
      const now = yield* Clock.currentTimeMillis
      const record = recordOf(jobId)
      record.total = total
      record.completed.add(taskId)
      const lease = tryLease(jobId, record, owner, leaseFor, now)
      return { completed: record.completed.size, total, lease }
    }),
    claimFinalize: Effect.fn("Coordinator.claimFinalize")(function*({ jobId, owner, leaseFor }) {
      const now = yield* Clock.currentTimeMillis
      const record = jobs.get(jobId)
      return record === undefined ? Option.none() : tryLease(jobId, record, owner, leaseFor, now)
    }),
    renewLease: Effect.fn("Coordinator.renewLease")(function*(lease, leaseFor) {
      const now = yield* Clock.currentTimeMillis
      const record = jobs.get(lease.jobId)
      if (!holds(record, lease, now)) return false
      record!.lease = { ...lease, expiresAt: now + millis(leaseFor) }
      return true
    }),
    markFinalized: Effect.fn("Coordinator.markFinalized")(function*(lease) {
      const now = yield* Clock.currentTimeMillis
      const record = jobs.get(lease.jobId)
      if (!holds(record, lease, now)) return false
      record!.finalized = true
      record!.lease = undefined
      return true
    }),
    state: (jobId) =>
      Effect.sync(() => {
        const record = jobs.get(jobId)
        return {
          completed: record === undefined ? [] : [...record.completed],
          total: record?.total,
          finalized: record?.finalized ?? false,
          lease: Option.fromNullishOr(record?.lease)
        }
      }),
    forget: (jobId) => Effect.sync(() => void jobs.delete(jobId))
  })
})

export const memoryCoordinatorLayer = Layer.effect(Coordinator, makeMemoryCoordinator)
