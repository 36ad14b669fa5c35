/**
 * Prints the autoscaling simulation report: `node scripts/simulate.ts [seed]` (with
 * node_modules/.bin on PATH). See src/programs/simulation/fleetSimulation.ts.
 */
import { formatReport, simulateFleet } from "../src/programs/simulation/fleetSimulation.ts"

const seedArgument = process.argv[2]
const seed = seedArgument === undefined ? undefined : Number(seedArgument)
if (seed !== undefined && !Number.isInteger(seed)) {
  console.error(`simulate: the seed must be an integer, not ${seedArgument}`)
  process.exit(2)
}
const started = performance.now()
const report = simulateFleet(seed === undefined ? {} : { seed })
console.log(formatReport(report))
console.log(`(simulated ${report.tasks} tasks over one day in ${Math.round(performance.now() - started)} ms)`)
