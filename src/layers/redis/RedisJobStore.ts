/**
 * JobStore on Redis: each job is a hash {data (JSON), version}; updates are optimistic
 * (read, change, then a Lua compare-and-set on the version, retried on contention), so no
 * connection-bound WATCH is needed. A sorted set orders jobs by creation, and one per owner (API
 * key id) its own jobs; a set holds the unfinished ones for the sweeper, another those with events
 * in their outbox for the webhook relay (kept by the same script as the job, so never out of step).
 */
import { randomUUID } from "node:crypto"
import { Effect, Layer, Schema } from "effect"
import { JobNotFound, JobStoreFailed } from "../../domain/Errors.ts"
import type { Job } from "../../domain/Job.ts"
import { isTerminal, Job as JobSchema } from "../../domain/Job.ts"
import { JobStore } from "../../services/JobStore.ts"
import { RedisConnection } from "../../services/RedisConnection.ts"
import { defineScripts, redisCall } from "./RedisConnection.ts"

/** Writes a job remembers, enough to outlast the others made while one reply was being lost. */
const rememberedWrites = 32

const JobJson = Schema.fromJsonString(JobSchema)
const encodeJob = Schema.encodeSync(JobJson)
const decodeJob = Schema.decodeUnknownEffect(JobJson)

/**
 * KEYS: job hash, by-creation zset, active set, the owner's by-creation zset (the all-jobs zset again
 * for a job without owner), the with-events set. ARGV: expected version (0 = create), json, createdAt,
 * id, active (1/0), write id (unique per call), has events (1/0).
 * The hash remembers the ids of its last writes: when Redis ran a write but the connection died
 * before the reply arrived, ioredis sends the same call again after reconnecting, which finds
 * the version moved on. Without the ids that looked like contention, so the caller re-read and
 * applied its change a second time (finalizeRuns 2), or a create reported "already exists".
 */
const putScript = `
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local recent = redis.call('HGET', KEYS[1], 'writes') or ''
if current ~= tonumber(ARGV[1]) then
  if string.find(recent, ' ' .. ARGV[6] .. ' ', 1, true) then return 1 end
  return 0
end
local kept = {}
for w in string.gmatch(recent, '%S+') do kept[#kept + 1] = w end
while #kept >= ${rememberedWrites} do table.remove(kept, 1) end
kept[#kept + 1] = ARGV[6]
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', current + 1, 'writes', ' ' .. table.concat(kept, ' ') .. ' ')
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[4])
if ARGV[5] == '1' then redis.call('SADD', KEYS[3], ARGV[4]) else redis.call('SREM', KEYS[3], ARGV[4]) end
if ARGV[7] == '1' then redis.call('SADD', KEYS[5], ARGV[4]) else redis.call('SREM', KEYS[5], ARGV[4]) end
return 1
`

const maxAttempts = 50

export const makeRedisJobStore = Effect.gen(function*() {
  const { client, prefix } = yield* RedisConnection
  const redis = defineScripts(client, 5, { vidpipeJobPut: putScript })
  const jobKey = (id: string) => `${prefix}:job:${id}`
  const byCreation = `${prefix}:jobs`
  const active = `${prefix}:jobs:active`
  const withEvents = `${prefix}:jobs:outbox`
  const byOwner = (owner: string | undefined) => owner === undefined ? byCreation : `${prefix}:jobs:owner:${owner}`
  const call = <A>(operation: string, run: () => Promise<A>) =>
    redisCall(run, (reason) => new JobStoreFailed({ operation, reason, retryable: true }))
  const put = (operation: string, job: Job, expectedVersion: number) =>
    call(operation, () =>
      redis.vidpipeJobPut(
        jobKey(job.id), byCreation, active, byOwner(job.owner), withEvents,
        expectedVersion, encodeJob(job), job.createdAt, job.id, isTerminal(job.status) ? 0 : 1, randomUUID(), (job.outbox?.length ?? 0) > 0 ? 1 : 0
      )
    ).pipe(Effect.map((stored) => Number(stored) === 1))

  const read = Effect.fnUntraced(function*(jobId: string) {
    const [data, version] = yield* call("get", () => client.hmget(jobKey(jobId), "data", "version"))
    if (data === null || data === undefined) return yield* new JobNotFound({ jobId })
    const job = yield* decodeJob(data).pipe(
      Effect.mapError((error) => new JobStoreFailed({ operation: "get", reason: `unreadable job ${jobId}: ${error.message}`, retryable: false }))
    )
    return { job, version: Number(version) }
  })

  const readMany = (ids: ReadonlyArray<string>) =>
    Effect.forEach(ids, (id) => read(id).pipe(Effect.map((r) => [r.job]), Effect.catchTag("JobNotFound", () => Effect.succeed([]))), {
      concurrency: 16
    }).pipe(Effect.map((jobs) => jobs.flat()))

  return JobStore.of({
    create: Effect.fn("JobStore.create")(function*(job) {
      if (!(yield* put("create", job, 0))) {
        return yield* new JobStoreFailed({ operation: "create", reason: `job ${job.id} already exists`, retryable: false })
      }
    }),
    get: Effect.fn("JobStore.get")(function*(jobId) {
      return (yield* read(jobId)).job
    }),
    update: Effect.fn("JobStore.update")(function*(jobId, change) {
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const { job, version } = yield* read(jobId)
        const next = change(job)
        if (yield* put("update", next, version)) return next
      }
      return yield* new JobStoreFailed({ operation: "update", reason: `job ${jobId} kept changing under ${maxAttempts} attempts`, retryable: true })
    }),
    list: Effect.fn("JobStore.list")(function*(options) {
      const limit = options?.limit ?? 100
      if (options?.activeOnly || options?.withEvents) {
        const ids = yield* call("list", () => options.withEvents ? client.srandmember(withEvents, limit) : client.smembers(active))
        const jobs = yield* readMany(ids)
        return jobs.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit)
      }
      const index = byOwner(options?.owner)
      const ids = yield* call("list", () =>
        options?.createdBefore === undefined
          ? client.zrevrange(index, 0, limit - 1)
          : client.zrevrangebyscore(index, `(${options.createdBefore}`, "-inf", "LIMIT", 0, limit)
      )
      return yield* readMany(ids)
    }),
    delete: Effect.fn("JobStore.delete")(function*(jobId) {
      const owner = yield* read(jobId).pipe(
        Effect.map(({ job }) => job.owner),
        Effect.catchTag("JobNotFound", () => Effect.succeed(undefined))
      )
      yield* call("delete", () => client.multi().del(jobKey(jobId)).zrem(byCreation, jobId).zrem(byOwner(owner), jobId).srem(active, jobId).srem(withEvents, jobId).exec())
    })
  })
})

export const redisJobStoreLayer = Layer.effect(JobStore, makeRedisJobStore)
