/**
 * What a fleet simulation found, and its printed form.
 */
import type { ScalingReason } from "../domain/ScalingPolicy.ts"

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
  /** Tasks finished a second time (a hand-back that was not one): must be 0, or a job would finalize twice. */
  readonly tasksCompletedTwice: number
  /** Jobs whose finalize lease the coordinator granted (MemoryCoordinator, the real one), and those granted it twice. */
  readonly jobsFinalized: number
  readonly jobsFinalizedTwice: number
  /** Instances stopped while holding a task (killed, or drained past the timeout): must be 0. */
  readonly busyTerminated: number
  /** Instances named idle that took a task before their SIGTERM, and finished it while draining. */
  readonly drainedBusy: number
  readonly instancesLaunched: number
  /** Launches that resumed a stopped warm-pool instance instead of booting one. */
  readonly warmPoolResumes: number
  /** Running instance-minutes (every kind): what the ratio counts. */
  readonly instanceMinutes: number
  readonly onDemandMinutes: number
  readonly spotMinutes: number
  /** Stopped warm-pool instance-minutes (billed for their volumes only). */
  readonly warmPoolStoppedMinutes: number
  /** Spot drill: notices delivered, tasks handed back at once, tasks cut off by the interruption, work redone. */
  readonly spotNotices: number
  readonly spotHandedBack: number
  readonly spotCutOff: number
  readonly workRedoneMinutes: number
  /** Dollars at the simulation's list prices (src/simulation/prices.ts). */
  readonly cost: number
  /** The task-minutes at the On-Demand price: an instance exactly while it encodes. */
  readonly idealCost: number
  /** A fleet kept at `max`, On-Demand, for the whole run. */
  readonly staticMaxCost: number
  /** The ideal: the sum of task durations. */
  readonly taskMinutes: number
  /** instanceMinutes / taskMinutes. */
  readonly ratio: number
  /** A fleet kept at `max` for the whole run, for comparison. */
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
  /** ScaleIn metric data points the workers sent (one per empty long poll). */
  readonly scaleInReports: number
  /** How long the run took in simulated time. */
  readonly simulatedMinutes: number
  readonly scaleEvents: ReadonlyArray<ScaleEvent>
}

export const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

const clock = (ms: number) => {
  const s = Math.floor(ms / 1000)
  return `${String(Math.floor(s / 3600)).padStart(2, "0")}:${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`
}

/** The report as a two-column table (the scale events summarized). */
export const formatReport = (report: FleetReport): string => {
  const rows: Array<[string, string]> = [
    ["seed", String(report.seed)],
    ["jobs / tasks", `${report.jobs} / ${report.tasks}`],
    ["tasks completed (twice)", `${report.tasksCompleted} (${report.tasksCompletedTwice})`],
    ["jobs finalized (twice)", `${report.jobsFinalized} (${report.jobsFinalizedTwice})`],
    ["busy instances terminated", String(report.busyTerminated)],
    ["named idle, took a task, drained", String(report.drainedBusy)],
    ["instances launched (warm-pool resumes)", `${report.instancesLaunched} (${report.warmPoolResumes})`],
    ["instance-minutes: On-Demand / Spot / warm pool stopped", `${report.onDemandMinutes} / ${report.spotMinutes} / ${report.warmPoolStoppedMinutes}`],
    ["instance-minutes running", String(report.instanceMinutes)],
    ["task-minutes (ideal)", String(report.taskMinutes)],
    ["ratio", String(report.ratio)],
    ["static fleet at max, instance-minutes", String(report.staticMaxInstanceMinutes)],
    ["cost / ideal / fleet at max (USD)", `${report.cost.toFixed(2)} / ${report.idealCost.toFixed(2)} / ${report.staticMaxCost.toFixed(2)}`],
    ["spot notices / handed back / cut off / work redone (min)", `${report.spotNotices} / ${report.spotHandedBack} / ${report.spotCutOff} / ${report.workRedoneMinutes}`],
    ["queue wait p50 / p95 / max (s)", `${report.p50QueueWaitSeconds} / ${report.p95QueueWaitSeconds} / ${report.maxQueueWaitSeconds}`],
    ["largest burst drain at max (s)", String(report.largestBurstDrainSeconds)],
    ["max fleet size", String(report.maxFleetSize)],
    ["scale-outs / scale-ins", `${report.scaleOuts} / ${report.scaleIns}`],
    ["scale-ins cut short by the protector", String(report.refusedScaleIns)],
    ["ScaleIn metric data points", String(report.scaleInReports)],
    ["simulated minutes", String(report.simulatedMinutes)]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  const largest = report.scaleEvents.toSorted((a, b) => Math.abs(b.to - b.from) - Math.abs(a.to - a.from) || a.at - b.at).slice(0, 5)
  return [
    ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    `largest scale events: ${largest.map((e) => `${clock(e.at)} ${e.from}→${e.to}`).join(", ")}`
  ].join("\n")
}
