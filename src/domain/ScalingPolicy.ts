/**
 * The fleet scaling policy, pure: what the infrastructure's CloudWatch alarms mirror and what a
 * local fleet (or the simulation in `src/simulation`) can call directly.
 *
 * The rule:
 *
 * 1. **Size the fleet to the work, not to the messages.** Each task carries an estimate of its
 *    encode seconds (domain/WorkEstimate.ts); the backlog is the estimated work waiting in the
 *    queue plus what is left of the tasks being encoded, and the fleet should finish it within
 *    `drainTargetSeconds`: `byWork = ceil(work / drainTargetSeconds)`. A 10-minute chunk and a
 *    30-second audio task no longer weigh the same. Never fewer instances than tasks in flight (each
 *    holds a worker), never more than tasks in the system (an instance beyond them has nothing to
 *    do): `target = clamp(max(inFlight, min(visible + inFlight, byWork)), min, max)`.
 *    Without work figures (or with `drainTargetSeconds` 0) the backlog is counted in tasks,
 *    `targetBacklogPerInstance` per instance: `ceil((visible + inFlight) / targetBacklogPerInstance)`.
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
  /** Tasks (waiting + in flight) each instance should carry, when sizing by tasks; 1 means one task per worker. */
  readonly targetBacklogPerInstance: number
  /** Work-sized: finish the estimated backlog within this many seconds (0: size by tasks). */
  readonly drainTargetSeconds: number
  readonly min: number
  readonly max: number
  readonly scaleOutCooldownMs: number
  readonly scaleInCooldownMs: number
}

/**
 * Chosen with the fleet simulation (README, "Autoscaling simulation"): no instance while there is
 * no work (min 0), the backlog finished within 10 minutes, up to 30 Spot instances for bursts, one
 * scale-in step a minute. Against the earlier 1..20 On-Demand fleet sized by tasks, on the same
 * simulated day: 1.23x instead of 1.97x the task-minutes, p95 wait 472 s instead of 693 s.
 */
export const defaultScalingSettings: ScalingSettings = {
  targetBacklogPerInstance: 1,
  drainTargetSeconds: 600,
  min: 0,
  max: 30,
  scaleOutCooldownMs: 60_000,
  scaleInCooldownMs: 60_000
}

export interface ScalingInput {
  /** Tasks waiting in the queue (ApproximateNumberOfMessagesVisible). */
  readonly visibleMessages: number
  /** Tasks being worked on (ApproximateNumberOfMessagesNotVisible). */
  readonly inFlightMessages: number
  /** Estimated encode seconds of the waiting tasks; absent: size by tasks. */
  readonly queuedWorkSeconds?: number
  /** Estimated encode seconds left of the tasks in flight. */
  readonly inFlightWorkSeconds?: number
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

export const targetCapacity = (
  input: Pick<ScalingInput, "visibleMessages" | "inFlightMessages" | "queuedWorkSeconds" | "inFlightWorkSeconds">,
  settings: ScalingSettings
): number => {
  const inFlight = Math.max(0, input.inFlightMessages)
  const tasks = Math.max(0, input.visibleMessages) + inFlight
  if (settings.drainTargetSeconds > 0 && input.queuedWorkSeconds !== undefined) {
    const work = Math.max(0, input.queuedWorkSeconds) + Math.max(0, input.inFlightWorkSeconds ?? 0)
    const byWork = Math.ceil(work / settings.drainTargetSeconds)
    return clamp(Math.max(inFlight, Math.min(tasks, byWork)), settings.min, settings.max)
  }
  const per = settings.targetBacklogPerInstance > 0 ? settings.targetBacklogPerInstance : 1
  return clamp(Math.ceil(tasks / per), settings.min, settings.max)
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
