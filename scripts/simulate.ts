/**
 * Prints the autoscaling simulation report: `npm run simulate [-- seed]`; with a Spot drill (a
 * tenth of the instances get a two-minute interruption notice): `npm run simulate -- --spot-drill`;
 * or the candidate fleets side by side over several seeds: `npm run simulate -- --compare`. See
 * src/simulation/fleetSimulation.ts and src/simulation/candidates.ts.
 */
import { Effect } from "effect"
import type { CandidateResult } from "../src/simulation/candidates.ts"
import { chooseCandidate, fleetCandidates, seedsCompared } from "../src/simulation/candidates.ts"
import { simulateFleet } from "../src/simulation/fleetSimulation.ts"
import { spotDrillOptions } from "../src/simulation/options.ts"
import { formatReport } from "../src/simulation/report.ts"

const argument = process.argv[2]
const started = performance.now()

if (argument === "--compare") {
  const results: Array<CandidateResult> = []
  for (const candidate of fleetCandidates) {
    const reports = await Effect.runPromise(Effect.forEach(seedsCompared, (seed) => simulateFleet({ ...candidate.options, seed })))
    results.push({ candidate, reports })
  }
  const chosen = chooseCandidate(results.slice(1), results[0]!)
  const sum = (reports: CandidateResult["reports"], pick: (r: CandidateResult["reports"][number]) => number) => reports.reduce((n, r) => n + pick(r), 0)
  console.log(`seeds ${seedsCompared.join(", ")}; cost in USD at src/simulation/prices.ts (us-east-1, 2026-12), summed over the seeds`)
  console.log("| fleet | cost | ratio (per seed) | p95 wait s (per seed) | instance-min On-Demand / Spot / warm stopped | launches (resumes) |")
  console.log("|---|---|---|---|---|---|")
  for (const { candidate, reports } of results) {
    const mark = candidate === chosen?.candidate ? " **(kept)**" : ""
    console.log(`| ${candidate.name}${mark} | ${sum(reports, (r) => r.cost).toFixed(2)} | ${reports.map((r) => r.ratio).join(" / ")} | ${reports.map((r) => r.p95QueueWaitSeconds).join(" / ")} | ${Math.round(sum(reports, (r) => r.onDemandMinutes))} / ${Math.round(sum(reports, (r) => r.spotMinutes))} / ${Math.round(sum(reports, (r) => r.warmPoolStoppedMinutes))} | ${sum(reports, (r) => r.instancesLaunched)} (${sum(reports, (r) => r.warmPoolResumes)}) |`)
  }
  console.log(`(${fleetCandidates.length * seedsCompared.length} simulated days in ${Math.round(performance.now() - started)} ms)`)
} else if (argument === "--spot-drill") {
  const report = await Effect.runPromise(simulateFleet({ spotDrill: spotDrillOptions }))
  console.log(formatReport(report))
  console.log(`(a Spot drill; ${Math.round(performance.now() - started)} ms)`)
} else {
  const seed = argument === undefined ? undefined : Number(argument)
  if (seed !== undefined && !Number.isInteger(seed)) {
    console.error(`simulate: give a seed (an integer), --spot-drill or --compare, not ${argument}`)
    process.exit(2)
  }
  const report = await Effect.runPromise(simulateFleet(seed === undefined ? {} : { seed }))
  console.log(formatReport(report))
  console.log(`(simulated ${report.tasks} tasks over ${report.simulatedMinutes} minutes on Effect's TestClock in ${Math.round(performance.now() - started)} ms)`)
}
