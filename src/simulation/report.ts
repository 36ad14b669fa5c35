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
  /** Instances stopped while holding a task (killed, or drained past the timeout): must be 0. */
  readonly busyTerminated: number
  /** Instances named idle that took a task before their SIGTERM, and finished it while draining. */
  readonly drainedBusy: number
  readonly instancesLaunched: number
  readonly instanceMinutes: number
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
    ["tasks completed", String(report.tasksCompleted)],
    ["busy instances terminated", String(report.busyTerminated)],
    ["named idle, took a task, drained", String(report.drainedBusy)],
    ["instances launched", String(report.instancesLaunched)],
    ["instance-minutes", String(report.instanceMinutes)],
    ["task-minutes (ideal)", String(report.taskMinutes)],
    ["ratio", String(report.ratio)],
    ["static fleet at max, instance-minutes", String(report.staticMaxInstanceMinutes)],
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
