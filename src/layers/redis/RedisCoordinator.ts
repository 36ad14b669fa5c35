/**
 * Coordinator on Redis: the decisions are Lua scripts (coordinatorScripts.ts) registered with
 * `defineCommand`, which runs them by SHA and reloads them after `SCRIPT FLUSH` or a failover.
 */
import { Duration, Effect, Layer, Option } from "effect"
import { CoordinatorFailed } from "../../domain/Errors.ts"
import type { FinalizeLease } from "../../services/Coordinator.ts"
import { Coordinator } from "../../services/Coordinator.ts"
import { claimScript, completeScript, markFinalizedScript, renewScript } from "./coordinatorScripts.ts"
import { RedisConnection } from "../../services/RedisConnection.ts"
import { defineScripts, redisCall } from "./RedisConnection.ts"

/** Coordination records outlive any job by far, then go. */
const recordTtlMs = Duration.toMillis(Duration.days(14))


const millis = (input: Duration.Input) => Duration.toMillis(Duration.fromInputUnsafe(input))

export const makeRedisCoordinator = Effect.gen(function*() {
  const { client, prefix } = yield* RedisConnection
  const redis = defineScripts(client, 2, {
    vidpipeComplete: completeScript,
    vidpipeClaim: claimScript,
    vidpipeRenew: renewScript,
    vidpipeMarkFinalized: markFinalizedScript
  })
  const keys = (jobId: string) => [`${prefix}:coord:${jobId}:done`, `${prefix}:coord:${jobId}:state`] as const
  const call = <A>(operation: string, run: () => Promise<A>) =>
    redisCall(run, (reason) => new CoordinatorFailed({ operation, reason, retryable: true }))
  const leaseOf = (jobId: string, owner: string, token: unknown, expiresAt: unknown) =>
    Number(token) > 0
      ? Option.some<FinalizeLease>({ jobId, owner, token: Number(token), expiresAt: Number(expiresAt) })
      : Option.none<FinalizeLease>()

  return Coordinator.of({
    complete: Effect.fn("Coordinator.complete")(function*({ jobId, leaseFor, owner, taskId, total }) {
      const [completed, token, expiresAt] = (yield* call("complete", () =>
        redis.vidpipeComplete(...keys(jobId), taskId, total, owner, millis(leaseFor), recordTtlMs)
      )) as [number, number, number]
      return { completed: Number(completed), total, lease: leaseOf(jobId, owner, token, expiresAt) }
    }),
    claimFinalize: Effect.fn("Coordinator.claimFinalize")(function*({ jobId, leaseFor, owner }) {
      const [token, expiresAt] = (yield* call("claimFinalize", () =>
        redis.vidpipeClaim(...keys(jobId), owner, millis(leaseFor), recordTtlMs)
      )) as [number, number]
      return leaseOf(jobId, owner, token, expiresAt)
    }),
    renewLease: Effect.fn("Coordinator.renewLease")(function*(lease, leaseFor) {
      const renewed = yield* call("renewLease", () => redis.vidpipeRenew(...keys(lease.jobId), String(lease.token), millis(leaseFor), recordTtlMs))
      return Number(renewed) === 1
    }),
    markFinalized: Effect.fn("Coordinator.markFinalized")(function*(lease) {
      const marked = yield* call("markFinalized", () => redis.vidpipeMarkFinalized(...keys(lease.jobId), String(lease.token), recordTtlMs))
      return Number(marked) === 1
    }),
    state: Effect.fn("Coordinator.state")(function*(jobId) {
      const [doneKey, stateKey] = keys(jobId)
      const [completed, state] = yield* call("state", () => Promise.all([client.smembers(doneKey), client.hgetall(stateKey)]))
      const lease = state["token"] === undefined ? Option.none<FinalizeLease>() : leaseOf(jobId, state["owner"] ?? "", state["token"], state["expires"])
      return {
        completed,
        total: state["total"] === undefined ? undefined : Number(state["total"]),
        finalized: state["finalized"] === "1",
        lease
      }
    }),
    forget: Effect.fn("Coordinator.forget")(function*(jobId) {
      yield* call("forget", () => client.del(...keys(jobId)))
    })
  })
})

export const redisCoordinatorLayer = Layer.effect(Coordinator, makeRedisCoordinator)
