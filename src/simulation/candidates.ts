/**
 * The fleets the simulation compares on the same days (issue 22): On-Demand with and without a
 * warm pool, and Spot (which cannot have one: AWS refuses a warm pool on a group with Spot or a
 * mixed instances policy), at the earlier ceiling of 20 instances and at 30. The one kept is the
 * cheapest whose p95 queue wait is no worse than the previous fleet's on every seed and whose
 * running instance-minutes stay within 1.25x the task-minutes; `defaultSimulationOptions` (and so
 * the deployment's defaults) must be that one, which the simulation test checks.
 */
import { defaultScalingSettings } from "../domain/ScalingPolicy.ts"
import type { FleetReport } from "./report.ts"
import type { SimulationOptions } from "./options.ts"
import { previousFleetOptions } from "./options.ts"

export interface Candidate {
  readonly name: string
  readonly options: Partial<SimulationOptions>
}

const onDemand = (warmPool: number) => ({ kind: "on-demand" as const, warmPool, reuseOnScaleIn: true })

export const fleetCandidates: ReadonlyArray<Candidate> = [
  { name: "previous: On-Demand 1..20 by tasks", options: previousFleetOptions },
  { name: "On-Demand 0..20", options: { capacity: onDemand(0), scaling: { ...defaultScalingSettings, max: 20 } } },
  { name: "On-Demand 0..20, warm pool 10", options: { capacity: onDemand(10), scaling: { ...defaultScalingSettings, max: 20 } } },
  { name: "On-Demand 0..30", options: { capacity: onDemand(0) } },
  { name: "On-Demand 0..30, warm pool 10", options: { capacity: onDemand(10) } },
  { name: "Spot 0..20", options: { capacity: { kind: "spot" }, scaling: { ...defaultScalingSettings, max: 20 } } },
  { name: "Spot 0..30", options: { capacity: { kind: "spot" } } }
]

export const seedsCompared: ReadonlyArray<number> = [20240611, 1, 2, 3]

export interface CandidateResult {
  readonly candidate: Candidate
  /** One report per seed, in `seedsCompared` order. */
  readonly reports: ReadonlyArray<FleetReport>
}

/** The bounds a candidate must meet on every seed, against the previous fleet's report for that seed. */
export const meetsBounds = (report: FleetReport, previous: FleetReport) =>
  report.busyTerminated === 0 && report.tasksCompleted === report.tasks && report.ratio <= 1.25 &&
  report.p95QueueWaitSeconds <= previous.p95QueueWaitSeconds

/** The cheapest candidate (total over the seeds) that meets the bounds on every seed. */
export const chooseCandidate = (results: ReadonlyArray<CandidateResult>, previous: CandidateResult) =>
  results
    .filter((result) => result.reports.every((report, i) => meetsBounds(report, previous.reports[i]!)))
    .toSorted((a, b) => a.reports.reduce((n, r) => n + r.cost, 0) - b.reports.reduce((n, r) => n + r.cost, 0))[0]
