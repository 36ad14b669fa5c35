/**
 * Prints the autoscaling simulation report: `npm run simulate [-- seed]`. See
 * src/simulation/fleetSimulation.ts.
 */
import { Effect } from "effect"
import { simulateFleet } from "../src/simulation/fleetSimulation.ts"
import { formatReport } from "../src/simulation/report.ts"

const seedArgument = process.argv[2]
const seed = seedArgument === undefined ? undefined : Number(seedArgument)
if (seed !== undefined && !Number.isInteger(seed)) {
  console.error(`simulate: the seed must be an integer, not ${seedArgument}`)
  process.exit(2)
}
const started = performance.now()
const report = await Effect.runPromise(simulateFleet(seed === undefined ? {} : { seed }))
console.log(formatReport(report))
console.log(`(simulated ${report.tasks} tasks over ${report.simulatedMinutes} minutes on Effect's TestClock in ${Math.round(performance.now() - started)} ms)`)
