/**
 * The fleet scaling policy, pure: what the infrastructure's CloudWatch alarms mirror and what a
 * local fleet (or the simulation in `src/simulation`) can call directly.
 *
 * The rule:
 *
 * 1. **Target tracking on backlog per instance, in-flight tasks included.** The work in the system
 *    is `visible + inFlight` (tasks waiting in the queue plus tasks being encoded), and each
 *    instance should carry `targetBacklogPerInstance` of it (default 1: one task per worker, a
 *    worker encodes one task at a time). So
 *    `target = clamp(ceil((visible + inFlight) / targetBacklogPerInstance), min, max)`.
 *    Counting in-flight tasks keeps the fleet from shrinking under a worker that is busy with a
 *    long task while the queue happens to be empty.
 * 2. **Scale out at once, up to the target**, in one step (booting instances count as instances,
 *    so a pending scale-out is not repeated), but not again within `scaleOutCooldownMs` of the
 *    last scale-out.
 * 3. **Scale in slowly and only onto idle instances**: never by more than `idleInstances` (the
 *    instances in the idle set, idle long enough for the protector to name them) and never below
 *    `instances - protectedInstances`; one step per `scaleInCooldownMs`. Removing an instance
 *    that is busy is the one thing the fleet must never do; the protector enforces it, and the
 *    policy does not even ask for more than the protector could give.
 * 4. `min` and `max` always hold (an out-of-range fleet is brought back in range, the cooldowns
 *    notwithstanding, except that a too-large fleet still only loses idle instances).
 */

export interface ScalingSettings {
  /** Tasks (waiting + in flight) each instance should carry; 1 means one task per worker. */
  readonly targetBacklogPerInstance: number
  readonly min: number
  readonly max: number
  readonly scaleOutCooldownMs: number
  readonly scaleInCooldownMs: number
}

export const defaultScalingSettings: ScalingSettings = {
  targetBacklogPerInstance: 1,
  min: 1,
  max: 20,
  scaleOutCooldownMs: 60_000,
  scaleInCooldownMs: 120_000
}

export interface ScalingInput {
  /** Tasks waiting in the queue (ApproximateNumberOfMessagesVisible). */
  readonly visibleMessages: number
  /** Tasks being worked on (ApproximateNumberOfMessagesNotVisible). */
  readonly inFlightMessages: number
  /** Instances in the group, booting ones included (the current desired capacity). */
  readonly instances: number
  /** Instances protected from scale-in (busy workers); absent means unknown. */
  readonly protectedInstances?: number
  /** Instances the protector could name right now (in the idle set, idle long enough). */
  readonly idleInstances: number
  readonly now: number
  readonly lastScaleOutAt?: number
  readonly lastScaleInAt?: number
}

export type ScalingReason =
  | "below-min"
  | "scale-out"
  | "scale-out-cooldown"
  | "scale-in"
  | "scale-in-cooldown"
  | "scale-in-no-idle"
  | "steady"

export interface ScalingDecision {
  /** The new desired capacity (equal to `instances` when nothing changes). */
  readonly desired: number
  readonly reason: ScalingReason
  /** The target the backlog asks for, before cooldowns and the idle limit. */
  readonly target: number
}

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n))

export const targetCapacity = (input: Pick<ScalingInput, "visibleMessages" | "inFlightMessages">, settings: ScalingSettings): number => {
  const per = settings.targetBacklogPerInstance > 0 ? settings.targetBacklogPerInstance : 1
  const backlog = Math.max(0, input.visibleMessages) + Math.max(0, input.inFlightMessages)
  return clamp(Math.ceil(backlog / per), settings.min, settings.max)
}

const within = (since: number | undefined, now: number, cooldownMs: number) => since !== undefined && now - since < cooldownMs

export const decideScaling = (input: ScalingInput, settings: ScalingSettings = defaultScalingSettings): ScalingDecision => {
  const target = targetCapacity(input, settings)
  const current = input.instances
  if (current < settings.min) return { desired: settings.min, reason: "below-min", target }
  if (target > current) {
    if (within(input.lastScaleOutAt, input.now, settings.scaleOutCooldownMs)) return { desired: current, reason: "scale-out-cooldown", target }
    return { desired: target, reason: "scale-out", target }
  }
  if (target < current) {
    const removableByProtection = input.protectedInstances === undefined ? current : current - input.protectedInstances
    const step = Math.min(current - target, Math.max(0, input.idleInstances), Math.max(0, removableByProtection))
    if (step <= 0) return { desired: current, reason: "scale-in-no-idle", target }
    if (within(input.lastScaleInAt, input.now, settings.scaleInCooldownMs)) return { desired: current, reason: "scale-in-cooldown", target }
    return { desired: current - step, reason: "scale-in", target }
  }
  return { desired: current, reason: "steady", target }
}
