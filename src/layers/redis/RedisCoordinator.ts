/**
 * Coordinator on Redis: the decisions are Lua scripts (coordinatorScripts.ts) registered with
 * `defineCommand`, which runs them by SHA and reloads them after `SCRIPT FLUSH` or a failover.
 */
import { Duration, Effect, Layer, Option, Schema } from "effect"
import { CoordinatorFailed } from "../../domain/Errors.ts"
import type { FinalizeLease } from "../../services/Coordinator.ts"
import { Coordinator } from "../../services/Coordinator.ts"
import { claimScript, CompleteReply, completeScript, DoneReply, LeaseReply, markFinalizedScript, renewScript } from "./coordinatorScripts.ts"
import { RedisConnection } from "../../services/RedisConnection.ts"
import { defineScripts, redisCall } from "./RedisConnection.ts"
import { decodeScriptReply } from "./scriptReply.ts"

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
  /** A script run, its reply decoded; a reply of another shape will not change on a retry. */
  const script = <S extends Schema.Decoder<unknown>>(operation: string, reply: S, run: () => Promise<unknown>) =>
    Effect.flatMap(call(operation, run), decodeScriptReply(reply, (reason) => new CoordinatorFailed({ operation, reason, retryable: false })))
  const leaseOf = (jobId: string, owner: string, token: number, expiresAt: number) =>
    token > 0
      ? Option.some<FinalizeLease>({ jobId, owner, token, expiresAt })
      : Option.none<FinalizeLease>()

  return Coordinator.of({
    complete: Effect.fn("Coordinator.complete")(function*({ jobId, leaseFor, owner, taskId, total }) {
      const [completed, token, expiresAt] = yield* script("complete", CompleteReply, () =>
        redis.vidpipeComplete(...keys(jobId), taskId, total, owner, millis(leaseFor), recordTtlMs)
      )
      return { completed, total, lease: leaseOf(jobId, owner, token, expiresAt) }
    }),
    claimFinalize: Effect.fn("Coordinator.claimFinalize")(function*({ jobId, leaseFor, owner }) {
      const [token, expiresAt] = yield* script("claimFinalize", LeaseReply, () =>
        redis.vidpipeClaim(...keys(jobId), owner, millis(leaseFor), recordTtlMs)
      )
      return leaseOf(jobId, owner, token, expiresAt)
    }),
    renewLease: Effect.fn("Coordinator.renewLease")(function*(lease, leaseFor) {
      const renewed = yield* script("renewLease", DoneReply, () => redis.vidpipeRenew(...keys(lease.jobId), String(lease.token), millis(leaseFor), recordTtlMs))
      return renewed === 1
    }),
    markFinalized: Effect.fn("Coordinator.markFinalized")(function*(lease) {
      const marked = yield* script("markFinalized", DoneReply, () => redis.vidpipeMarkFinalized(...keys(lease.jobId), String(lease.token), recordTtlMs))
      return marked === 1
    }),
    state: Effect.fn("Coordinator.state")(function*(jobId) {
      const [doneKey, stateKey] = keys(jobId)
      const [completed, state] = yield* call("state", () => Promise.all([client.smembers(doneKey), client.hgetall(stateKey)]))
      const lease = state["token"] === undefined ? Option.none<FinalizeLease>() : leaseOf(jobId, state["owner"] ?? "", Number(state["token"]), Number(state["expires"]))
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
