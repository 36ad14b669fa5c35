/**
 * What the fleet simulation simulates: the fleet's settings (the same knobs the infrastructure
 * sets), the worker's timings, and a day of bursty arrivals with realistic task durations.
 */
import type { ScalingSettings } from "../domain/ScalingPolicy.ts"
import { defaultScalingSettings } from "../domain/ScalingPolicy.ts"
import type { Prices } from "./prices.ts"
import { usEast1Prices } from "./prices.ts"

/**
 * What the group runs on. `on-demand` may keep a warm pool of stopped instances that a scale-out
 * resumes (`resumeMs`) instead of booting (`bootMs`); AWS refuses a warm pool on a group with Spot
 * or a mixed instances policy, so `spot` has none.
 */
export type Capacity =
  | { readonly kind: "on-demand"; readonly warmPool: number; readonly reuseOnScaleIn: boolean }
  | { readonly kind: "spot" }

/** A Spot drill: this share of launched instances gets an interruption notice at a random moment. */
export interface SpotDrill {
  readonly fraction: number
  /** From the notice to the interruption (AWS: two minutes). */
  readonly noticeMs: number
  /** A task must be able to end this long before the interruption to be finished; otherwise it is handed back at once. */
  readonly marginMs: number
  /** The notice comes this long at most after the instance's boot (uniformly). */
  readonly withinMs: number
}

export interface Burst {
  /** `jobs` jobs (uniform in the range) arriving within `spreadMs` from a time in [fromMs, toMs). */
  readonly fromMs: number
  readonly toMs: number
  readonly jobs: readonly [number, number]
  readonly spreadMs: number
}

export interface SimulationOptions {
  readonly seed: number
  readonly scaling: ScalingSettings
  /** Simulated span of arrivals (default one day); the run continues until the queue is drained. */
  readonly durationMs: number
  /** From launch to the worker's first poll. */
  readonly bootMs: number
  /** From a warm-pool (stopped) instance's resume to the worker's first poll. */
  readonly resumeMs: number
  readonly capacity: Capacity
  readonly spotDrill: SpotDrill | undefined
  /** A task's estimate is its duration times e^u, u uniform in [-estimateError, estimateError]. */
  readonly estimateError: number
  readonly prices: Prices
  /** The worker's long-poll wait (PipelineSettings.pollSeconds). */
  readonly pollSeconds: number
  /** How often the alarms (and so the policy) look at the metrics. */
  readonly evaluationPeriodMs: number
  /** The protector's `minIdle` and `freshWithin`. */
  readonly minIdleMs: number
  readonly freshWithinMs: number
  /**
   * From the protector's answer to the instance's SIGTERM (Auto Scaling moving it to
   * Terminating:Wait and the lifecycle hook reaching the worker). A named worker may take a task
   * in this gap: the drain then finishes it.
   */
  readonly terminationDelayMs: number
  /** The lifecycle hook's timeout: how long a draining worker may finish its task. */
  readonly drainTimeoutMs: number
  readonly zones: ReadonlyArray<string>
  /** Task durations, drawn log-uniformly in [min, max]. */
  readonly taskMinMs: number
  readonly taskMaxMs: number
  /** Tasks per job, uniform in [min, max]. */
  readonly tasksPerJob: readonly [number, number]
  /** Background job arrivals per hour, by hour of day (24 entries). */
  readonly jobsPerHour: ReadonlyArray<number>
  readonly bursts: ReadonlyArray<Burst>
  /**
   * `protector` (the default): the real protector names the instances, which then drain.
   * `oldest`: the control without it (Auto Scaling's OldestInstance policy, no drain), which
   * shows that `busyTerminated` does detect harm.
   */
  readonly termination: "protector" | "oldest"
}

export const hour = 3_600_000
export const minute = 60_000

export const defaultSimulationOptions: SimulationOptions = {
  seed: 20240611,
  scaling: defaultScalingSettings,
  durationMs: 24 * hour,
  bootMs: 90_000,
  resumeMs: 30_000,
  capacity: { kind: "spot" },
  spotDrill: undefined,
  estimateError: 0.3,
  prices: usEast1Prices,
  pollSeconds: 20,
  evaluationPeriodMs: 60_000,
  minIdleMs: 20_000,
  freshWithinMs: 60_000,
  terminationDelayMs: 10_000,
  drainTimeoutMs: 15 * minute,
  zones: ["eu-west-1a", "eu-west-1b"],
  taskMinMs: 30_000,
  taskMaxMs: 10 * minute,
  tasksPerJob: [3, 10],
  //           0    1    2    3    4    5    6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23
  jobsPerHour: [0.5, 0.3, 0.2, 0.2, 0.2, 0.3, 1, 2, 4, 6, 6, 6, 5, 6, 6, 6, 5, 4, 3, 3, 3, 2, 1, 1],
  bursts: [
    { fromMs: 10 * hour, toMs: 11 * hour, jobs: [10, 20], spreadMs: 5 * minute },
    { fromMs: 14 * hour, toMs: 15 * hour, jobs: [10, 20], spreadMs: 5 * minute },
    { fromMs: 20 * hour, toMs: 21 * hour, jobs: [15, 25], spreadMs: 10 * minute }
  ],
  termination: "protector"
}

/**
 * The fleet before work-sized scaling (kept as the reference the bounds compare with): sized by
 * tasks, 1..20 On-Demand instances, two minutes between scale-ins, a minute's idleness before the
 * protector names an instance.
 */
export const previousFleetOptions: Partial<SimulationOptions> = {
  scaling: { ...defaultScalingSettings, drainTargetSeconds: 0, min: 1, max: 20, scaleInCooldownMs: 120_000 },
  minIdleMs: 60_000,
  capacity: { kind: "on-demand", warmPool: 0, reuseOnScaleIn: true }
}

/** The drill the README and the test run: a tenth of the Spot instances get AWS's two-minute notice within 20 minutes of their boot. */
export const spotDrillOptions: SpotDrill = { fraction: 0.1, noticeMs: 120_000, marginMs: 30_000, withinMs: 20 * minute }
