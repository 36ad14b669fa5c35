/**
 * The scale-in protector: Auto Scaling's custom termination policy asks which of its candidate
 * instances it may remove, and only instances in the idle set (`KillMe`), idle for at least
 * `minIdle` and seen within `freshWithin`, are named — longest idle first, never more per
 * Availability Zone (and market option) than Auto Scaling asked for. Anything going wrong (a
 * malformed event, Redis down or slow past the budget) answers with no instances, which makes
 * Auto Scaling keep everything and ask again later. `protect` never fails.
 */
import { Cause, Clock, Duration, Effect, Schema } from "effect"
import type { TerminationPolicyAnswer, TerminationPolicyEvent, WarmUpAnswer } from "../domain/TerminationPolicy.ts"
import { keepEverything, TerminationPolicyEvent as EventSchema } from "../domain/TerminationPolicy.ts"
import type { IdleEntry } from "../services/IdleRegistry.ts"
import { IdleRegistry } from "../services/IdleRegistry.ts"

export interface ProtectorOptions {
  /** The whole answer, Redis included, must come within this (keep it well below 2 s). */
  readonly budget: Duration.Input
  /** Only instances idle at least this long may be removed. */
  readonly minIdle: Duration.Input
  /** Idle entries not refreshed within this no longer count (the worker may be gone or busy). */
  readonly freshWithin: Duration.Input
}

const marketMatches = (a: string | undefined, b: string | undefined) => a === undefined || b === undefined || a === b

/**
 * The pure decision. Candidates are the event's `Instances` that are in `idle` and idle for at
 * least `minIdleMs` at `now`; they are taken longest idle first while their Availability Zone
 * (and market option) still has capacity to terminate.
 */
export const chooseInstancesToTerminate = (
  event: TerminationPolicyEvent,
  idle: ReadonlyArray<IdleEntry>,
  now: number,
  minIdleMs: number
): TerminationPolicyAnswer => {
  const candidates = new Map(event.Instances.map((instance) => [instance.InstanceId, instance]))
  const remaining = event.CapacityToTerminate.map((c) => ({ zone: c.AvailabilityZone, market: c.InstanceMarketOption, left: c.Capacity }))
  const chosen: Array<string> = []
  const eligible = idle
    .filter((entry) => Number.isFinite(entry.idleSince) && now - entry.idleSince >= minIdleMs)
    .toSorted((a, b) => a.idleSince - b.idleSince)
  for (const entry of eligible) {
    const instance = candidates.get(entry.instanceId)
    if (instance === undefined || chosen.includes(entry.instanceId)) continue
    const bucket = remaining.find((r) => r.left > 0 && r.zone === instance.AvailabilityZone && marketMatches(r.market, instance.InstanceMarketOption))
    if (bucket === undefined) continue
    bucket.left -= 1
    chosen.push(entry.instanceId)
  }
  return { InstanceIDs: chosen }
}

const describe = (error: Schema.SchemaError) => error.message.replace(/\n\s*/g, " ")

/** Answers a termination-policy event; every failure or timeout becomes "keep everything". */
export const protect = (event: unknown, options: ProtectorOptions): Effect.Effect<TerminationPolicyAnswer, never, IdleRegistry> =>
  Effect.gen(function*() {
    const decoded = yield* Schema.decodeUnknownEffect(EventSchema)(event).pipe(Effect.result)
    if (decoded._tag === "Failure") {
      yield* Effect.logWarning(`protector: not a termination-policy event, keeping every instance: ${describe(decoded.failure)}`)
      return keepEverything
    }
    const policyEvent = decoded.success
    if (policyEvent.Instances.length === 0 || policyEvent.CapacityToTerminate.every((c) => c.Capacity === 0)) return keepEverything
    const registry = yield* IdleRegistry
    const idle = yield* registry.idle(options.freshWithin)
    const now = yield* Clock.currentTimeMillis
    const answer = chooseInstancesToTerminate(policyEvent, idle, now, Duration.toMillis(Duration.fromInputUnsafe(options.minIdle)))
    yield* Effect.logInfo(
      `protector: ${policyEvent.AutoScalingGroupName ?? "a group"} (${policyEvent.Cause ?? "no cause given"}) asked for ${policyEvent.CapacityToTerminate.reduce((n, c) => n + c.Capacity, 0)} of ${policyEvent.Instances.length}; ${idle.length} idle; answering [${answer.InstanceIDs.join(", ")}]`
    )
    return answer
  }).pipe(
    Effect.timeoutOrElse({
      duration: options.budget,
      orElse: () => Effect.logWarning(`protector: no answer within ${Duration.format(Duration.fromInputUnsafe(options.budget))}, keeping every instance`).pipe(Effect.as(keepEverything))
    }),
    Effect.catchCause((cause) =>
      Effect.logWarning(`protector: keeping every instance: ${Cause.pretty(cause).split("\n")[0]}`).pipe(Effect.as(keepEverything))
    ),
    Effect.withSpan("protector.protect")
  )

/** The warm-up schedule: touches the idle set (opening or keeping the connection) within the budget. */
export const warmUp = (options: Pick<ProtectorOptions, "budget" | "freshWithin">): Effect.Effect<WarmUpAnswer, never, IdleRegistry> =>
  Effect.gen(function*() {
    const registry = yield* IdleRegistry
    yield* registry.idle(options.freshWithin)
    const answer: WarmUpAnswer = { warm: true, redis: true }
    return answer
  }).pipe(
    Effect.timeoutOrElse({ duration: options.budget, orElse: () => Effect.fail("timed out" as const) }),
    Effect.catchCause((cause) =>
      Effect.logWarning(`protector warm-up: the idle set could not be read: ${Cause.pretty(cause).split("\n")[0]}`).pipe(
        Effect.as<WarmUpAnswer>({ warm: true, redis: false })
      )
    )
  )
