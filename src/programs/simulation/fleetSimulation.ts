/**
 * A deterministic, discrete-time (1 s steps, simulated clock: nothing waits in real time)
 * simulation of an autoscaled worker fleet over one day of bursty arrivals. It drives the real
 * scaling policy (`decideScaling`) and the real protector decision
 * (`chooseInstancesToTerminate`), with the worker's idle/busy protocol:
 *
 * - a booting instance becomes a worker `bootMs` after launch and starts long-polling;
 * - a long poll returns a task as soon as one is visible (FIFO); the worker leaves the idle set
 *   (markBusy) and is protected until it next finds the queue empty;
 * - a poll that stays empty for `pollMs` (20 s) registers the worker idle (markIdle: `idleSince`
 *   kept across repeated empty polls, `seenAt` refreshed) and releases its protection;
 * - after a task the worker polls again at once, still protected and not idle.
 *
 * Every `evaluationPeriodMs` the policy sees the queue (visible, in flight), the instances
 * (booting included), the protected ones and the instances the protector could name (fresh idle
 * entries idle for `minIdleMs`). A scale-out launches instances at once. A scale-in builds the
 * termination-policy event the way Auto Scaling would, except stricter: every live instance is a
 * candidate (busy and booting ones too, which Auto Scaling would leave out as protected), and
 * `CapacityToTerminate` per Availability Zone comes from the scale-in amount spread over the idle
 * set, longest idle first. Only the instances the protector names are terminated; the desired
 * capacity drops by that many (a refused scale-in is as if cancelled). A named instance that is
 * busy is counted in `busyTerminated`, which must stay 0.
 *
 * Randomness is a seeded PRNG (mulberry32), so the same options give the same report.
 */
import type { ScalingReason, ScalingSettings } from "../../domain/ScalingPolicy.ts"
import { decideScaling, defaultScalingSettings } from "../../domain/ScalingPolicy.ts"
import type { CandidateInstance, CapacityToTerminate, TerminationPolicyEvent } from "../../domain/TerminationPolicy.ts"
import type { IdleEntry } from "../../services/IdleRegistry.ts"
import { chooseInstancesToTerminate } from "../protector.ts"

export interface SimulationOptions {
  readonly seed: number
  readonly scaling: ScalingSettings
  /** Simulated span (default one day). */
  readonly durationMs: number
  readonly bootMs: number
  /** The long-poll wait: an empty poll this long marks the worker idle. */
  readonly pollMs: number
  /** How often the alarms (and so the policy) look at the metrics. */
  readonly evaluationPeriodMs: number
  /** The protector's `minIdle` and `freshWithin`. */
  readonly minIdleMs: number
  readonly freshWithinMs: number
  readonly zones: ReadonlyArray<string>
  /** Task durations, drawn log-uniformly in [min, max]. */
  readonly taskMinMs: number
  readonly taskMaxMs: number
  /** Tasks per job, uniform in [min, max]. */
  readonly tasksPerJob: readonly [number, number]
  /** Background job arrivals per hour, by hour of day (24 entries). */
  readonly jobsPerHour: ReadonlyArray<number>
  /** Bursts: `jobs` jobs (uniform in the range) arriving within `spreadMs` from a time in [from, to). */
  /**
   * `protector` (the default) asks `chooseInstancesToTerminate`; `oldest` is the control without
   * it (Auto Scaling's OldestInstance policy), which shows that `busyTerminated` does detect harm.
   */
  readonly termination: "protector" | "oldest"
  readonly bursts: ReadonlyArray<{ readonly fromMs: number; readonly toMs: number; readonly jobs: readonly [number, number]; readonly spreadMs: number }>
}

const hour = 3_600_000
const minute = 60_000

export const defaultSimulationOptions: SimulationOptions = {
  seed: 20240611,
  scaling: { ...defaultScalingSettings, min: 1, max: 20 },
  durationMs: 24 * hour,
  bootMs: 90_000,
  pollMs: 20_000,
  evaluationPeriodMs: 60_000,
  minIdleMs: 60_000,
  freshWithinMs: 60_000,
  zones: ["eu-west-1a", "eu-west-1b"],
  taskMinMs: 30_000,
  taskMaxMs: 10 * minute,
  tasksPerJob: [3, 10],
  termination: "protector",
  //           0    1    2    3    4    5    6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23
  jobsPerHour: [0.5, 0.3, 0.2, 0.2, 0.2, 0.3, 1, 2, 4, 6, 6, 6, 5, 6, 6, 6, 5, 4, 3, 3, 3, 2, 1, 1],
  bursts: [
    { fromMs: 10 * hour, toMs: 11 * hour, jobs: [10, 20], spreadMs: 5 * minute },
    { fromMs: 14 * hour, toMs: 15 * hour, jobs: [10, 20], spreadMs: 5 * minute },
    { fromMs: 20 * hour, toMs: 21 * hour, jobs: [15, 25], spreadMs: 10 * minute }
  ]
}

export interface ScaleEvent {
  readonly at: number
  readonly from: number
  readonly to: number
  readonly reason: ScalingReason
}

export interface FleetReport {
  readonly seed: number
  readonly jobs: number
  readonly tasks: number
  readonly tasksCompleted: number
  /** Instances terminated while holding a task: must be 0. */
  readonly busyTerminated: number
  readonly instancesLaunched: number
  readonly instanceMinutes: number
  /** The ideal: the sum of task durations. */
  readonly taskMinutes: number
  /** instanceMinutes / taskMinutes. */
  readonly ratio: number
  /** A fleet kept at `max` all day, for comparison. */
  readonly staticMaxInstanceMinutes: number
  readonly p50QueueWaitSeconds: number
  readonly p95QueueWaitSeconds: number
  readonly maxQueueWaitSeconds: number
  /** The largest burst's work spread over `max` workers: the wait no autoscaler could avoid. */
  readonly largestBurstDrainSeconds: number
  readonly maxFleetSize: number
  readonly scaleOuts: number
  readonly scaleIns: number
  /** Scale-ins the protector cut short (named fewer instances than asked). */
  readonly refusedScaleIns: number
  readonly scaleEvents: ReadonlyArray<ScaleEvent>
}

/** mulberry32: a small, seeded 32-bit PRNG returning floats in [0, 1). */
export const mulberry32 = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface SimTask {
  readonly jobId: number
  readonly arrivesAt: number
  readonly durationMs: number
  readonly burst: number | undefined
}

type WorkerState = "booting" | "polling" | "busy"

interface Worker {
  readonly id: string
  readonly zone: string
  readonly launchedAt: number
  readonly readyAt: number
  state: WorkerState
  pollStartedAt: number
  protected: boolean
  task: SimTask | undefined
  finishAt: number
}

/** The arrivals: background jobs by hour (Bernoulli per second of the hourly rate) plus the bursts. */
export const generateArrivals = (options: SimulationOptions): ReadonlyArray<SimTask> => {
  const rng = mulberry32(options.seed)
  const tasks: Array<SimTask> = []
  let jobId = 0
  const between = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1))
  const duration = () => Math.round(Math.exp(Math.log(options.taskMinMs) + rng() * (Math.log(options.taskMaxMs) - Math.log(options.taskMinMs))) / 1000) * 1000
  const job = (at: number, burst: number | undefined) => {
    const id = jobId++
    const n = between(options.tasksPerJob[0], options.tasksPerJob[1])
    for (let i = 0; i < n; i++) tasks.push({ jobId: id, arrivesAt: at, durationMs: duration(), burst })
  }
  for (let t = 0; t < options.durationMs; t += minute) {
    const rate = options.jobsPerHour[Math.floor(t / hour) % 24] ?? 0
    if (rng() < rate / 60) job(t + Math.floor(rng() * 60) * 1000, undefined)
  }
  options.bursts.forEach((burst, b) => {
    const start = burst.fromMs + Math.floor(rng() * ((burst.toMs - burst.fromMs) / 1000)) * 1000
    const n = between(burst.jobs[0], burst.jobs[1])
    for (let i = 0; i < n; i++) job(start + Math.floor(rng() * (burst.spreadMs / 1000)) * 1000, b)
  })
  return tasks.filter((task) => task.arrivesAt < options.durationMs).toSorted((a, b) => a.arrivesAt - b.arrivesAt || a.jobId - b.jobId)
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

export const simulateFleet = (overrides: Partial<SimulationOptions> = {}): FleetReport => {
  const options: SimulationOptions = { ...defaultSimulationOptions, ...overrides }
  const { scaling } = options
  const arrivals = generateArrivals(options)
  const step = 1_000
  const queue: Array<SimTask & { readonly enqueuedAt: number }> = []
  const workers: Array<Worker> = []
  const idle = new Map<string, IdleEntry>()
  const waits: Array<number> = []
  const scaleEvents: Array<ScaleEvent> = []
  let nextArrival = 0
  let launched = 0
  let instanceMs = 0
  let completed = 0
  let busyTerminated = 0
  let refusedScaleIns = 0
  let maxFleet = 0
  let lastScaleOutAt: number | undefined
  let lastScaleInAt: number | undefined

  const launch = (now: number, ready: boolean) => {
    const id = `i-${String(launched).padStart(5, "0")}`
    const zone = options.zones[launched % options.zones.length]!
    launched++
    workers.push({ id, zone, launchedAt: now, readyAt: ready ? now : now + options.bootMs, state: ready ? "polling" : "booting", pollStartedAt: now, protected: false, task: undefined, finishAt: 0 })
  }
  const terminate = (worker: Worker, now: number) => {
    if (worker.state === "busy" || worker.task !== undefined) {
      busyTerminated++
      // The message becomes visible again (after its visibility timeout; here at once) and is redone.
      if (worker.task !== undefined) queue.unshift({ ...worker.task, enqueuedAt: now })
    }
    instanceMs += now - worker.launchedAt
    idle.delete(worker.id)
    workers.splice(workers.indexOf(worker), 1)
  }

  for (let i = 0; i < scaling.min; i++) launch(0, true)

  // Run the day, then keep going (arrivals stopped) until the queue drains and every task is done.
  const hardStop = options.durationMs + 24 * hour
  let now = 0
  for (; now < hardStop; now += step) {
    while (nextArrival < arrivals.length && arrivals[nextArrival]!.arrivesAt <= now) {
      queue.push({ ...arrivals[nextArrival]!, enqueuedAt: now })
      nextArrival++
    }

    for (const worker of workers) {
      if (worker.state === "booting" && now >= worker.readyAt) {
        worker.state = "polling"
        worker.pollStartedAt = now
      }
      if (worker.state === "busy" && now >= worker.finishAt) {
        completed++
        worker.task = undefined
        worker.state = "polling" // polls again at once, still protected, not idle
        worker.pollStartedAt = now
      }
      if (worker.state !== "polling") continue
      const task = queue.shift()
      if (task !== undefined) {
        idle.delete(worker.id) // markBusy
        worker.protected = true
        worker.state = "busy"
        worker.task = task
        worker.finishAt = now + task.durationMs
        waits.push(now - task.enqueuedAt)
      } else if (now - worker.pollStartedAt >= options.pollMs) {
        // empty poll: release protection, ScaleIn metric, markIdle (idleSince kept)
        worker.protected = false
        idle.set(worker.id, { instanceId: worker.id, idleSince: idle.get(worker.id)?.idleSince ?? now, seenAt: now })
        worker.pollStartedAt = now
      }
    }

    if (now % options.evaluationPeriodMs === 0) {
      const fresh = [...idle.values()].filter((e) => e.seenAt >= now - options.freshWithinMs).toSorted((a, b) => a.idleSince - b.idleSince)
      const nameable = fresh.filter((e) => now - e.idleSince >= options.minIdleMs)
      const busy = workers.filter((w) => w.state === "busy").length
      const decision = decideScaling(
        {
          visibleMessages: queue.length,
          inFlightMessages: busy,
          instances: workers.length,
          protectedInstances: workers.filter((w) => w.protected).length,
          idleInstances: nameable.length,
          now,
          ...(lastScaleOutAt === undefined ? {} : { lastScaleOutAt }),
          ...(lastScaleInAt === undefined ? {} : { lastScaleInAt })
        },
        scaling
      )
      const from = workers.length
      if (decision.desired > from) {
        for (let i = from; i < decision.desired; i++) launch(now, false)
        lastScaleOutAt = now
        scaleEvents.push({ at: now, from, to: workers.length, reason: decision.reason })
      } else if (decision.desired < from) {
        const amount = from - decision.desired
        const byZone = new Map<string, number>()
        for (const entry of nameable.slice(0, amount)) {
          const zone = workers.find((w) => w.id === entry.instanceId)?.zone
          if (zone !== undefined) byZone.set(zone, (byZone.get(zone) ?? 0) + 1)
        }
        const capacity: Array<CapacityToTerminate> = [...byZone].map(([AvailabilityZone, Capacity]) => ({ AvailabilityZone, Capacity }))
        const candidates: Array<CandidateInstance> = workers.map((w) => ({ AvailabilityZone: w.zone, InstanceId: w.id }))
        const event: TerminationPolicyEvent = {
          AutoScalingGroupARN: "arn:aws:autoscaling:eu-west-1:000000000000:autoScalingGroup:sim",
          AutoScalingGroupName: "vidpipe-sim",
          CapacityToTerminate: capacity,
          Instances: candidates,
          Cause: "SCALE_IN",
          HasMoreInstances: false
        }
        const answer = options.termination === "protector"
          ? chooseInstancesToTerminate(event, fresh, now, options.minIdleMs)
          : { InstanceIDs: workers.slice(0, amount).map((w) => w.id) }
        if (answer.InstanceIDs.length < amount) refusedScaleIns++
        for (const id of answer.InstanceIDs) {
          const worker = workers.find((w) => w.id === id)
          if (worker !== undefined) terminate(worker, now)
        }
        if (answer.InstanceIDs.length > 0) {
          lastScaleInAt = now
          scaleEvents.push({ at: now, from, to: workers.length, reason: decision.reason })
        }
      }
    }
    maxFleet = Math.max(maxFleet, workers.length)
    if (now >= options.durationMs && nextArrival >= arrivals.length && queue.length === 0 && workers.every((w) => w.state !== "busy")) break
  }
  for (const worker of [...workers]) instanceMs += now - worker.launchedAt

  const taskMs = arrivals.reduce((n, t) => n + t.durationMs, 0)
  const sortedWaits = waits.toSorted((a, b) => a - b)
  const burstWork = new Map<number, number>()
  for (const task of arrivals) if (task.burst !== undefined) burstWork.set(task.burst, (burstWork.get(task.burst) ?? 0) + task.durationMs)
  const largestBurstMs = Math.max(0, ...burstWork.values())
  return {
    seed: options.seed,
    jobs: new Set(arrivals.map((t) => t.jobId)).size,
    tasks: arrivals.length,
    tasksCompleted: completed,
    busyTerminated,
    instancesLaunched: launched,
    instanceMinutes: round(instanceMs / minute),
    taskMinutes: round(taskMs / minute),
    ratio: round(instanceMs / taskMs, 2),
    staticMaxInstanceMinutes: round((scaling.max * now) / minute),
    p50QueueWaitSeconds: round(percentile(sortedWaits, 0.5) / 1000),
    p95QueueWaitSeconds: round(percentile(sortedWaits, 0.95) / 1000),
    maxQueueWaitSeconds: round(percentile(sortedWaits, 1) / 1000),
    largestBurstDrainSeconds: round(largestBurstMs / scaling.max / 1000),
    maxFleetSize: maxFleet,
    scaleOuts: scaleEvents.filter((e) => e.to > e.from).length,
    scaleIns: scaleEvents.filter((e) => e.to < e.from).length,
    refusedScaleIns,
    scaleEvents
  }
}

const clock = (ms: number) => {
  const s = Math.floor(ms / 1000)
  return `${String(Math.floor(s / 3600)).padStart(2, "0")}:${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`
}

/** The report as a two-column table (the scale events summarized). */
export const formatReport = (report: FleetReport): string => {
  const rows: Array<[string, string]> = [
    ["seed", String(report.seed)],
    ["jobs / tasks", `${report.jobs} / ${report.tasks}`],
    ["tasks completed", String(report.tasksCompleted)],
    ["busy instances terminated", String(report.busyTerminated)],
    ["instances launched", String(report.instancesLaunched)],
    ["instance-minutes", String(report.instanceMinutes)],
    ["task-minutes (ideal)", String(report.taskMinutes)],
    ["ratio", String(report.ratio)],
    ["static fleet at max, instance-minutes", String(report.staticMaxInstanceMinutes)],
    ["queue wait p50 / p95 / max (s)", `${report.p50QueueWaitSeconds} / ${report.p95QueueWaitSeconds} / ${report.maxQueueWaitSeconds}`],
    ["largest burst drain at max (s)", String(report.largestBurstDrainSeconds)],
    ["max fleet size", String(report.maxFleetSize)],
    ["scale-outs / scale-ins", `${report.scaleOuts} / ${report.scaleIns}`],
    ["scale-ins cut short by the protector", String(report.refusedScaleIns)]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  const largest = report.scaleEvents.toSorted((a, b) => Math.abs(b.to - b.from) - Math.abs(a.to - a.from) || a.at - b.at).slice(0, 5)
  return [
    ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    `largest scale events: ${largest.map((e) => `${clock(e.at)} ${e.from}→${e.to}`).join(", ")}`
  ].join("\n")
}
