/**
 * The closing line of `npm test`: "N passed, N failed, N skipped", alone on its line, for CI to
 * read. Every failure counts, not only failed assertions:
 * - a test that failed;
 * - a test that did not run because its suite or file broke (a `beforeAll` that threw): failed,
 *   not skipped;
 * - a file or suite that broke with no test left to blame (it failed to load, an `afterAll`
 *   threw): one failure;
 * - an error no test handled (an unhandled rejection or exception during the run): one failure.
 */
import type { Reporter, SerializedError, TestModule, TestSuite } from "vitest/node"

export interface Tally {
  passed: number
  failed: number
  skipped: number
}

/** Counts the tests under `suite`; those that did not pass under a broken suite count as failed. */
const countSuite = (suite: TestModule | TestSuite, underBrokenSuite: boolean, tally: Tally) => {
  const broken = suite.errors().length > 0
  const failedBefore = tally.failed
  for (const child of suite.children) {
    if (child.type === "suite") {
      countSuite(child, underBrokenSuite || broken, tally)
      continue
    }
    const state = child.result().state
    if (state === "passed") tally.passed++
    else if (state === "failed" || underBrokenSuite || broken) tally.failed++
    else tally.skipped++
  }
  if (broken && tally.failed === failedBefore) tally.failed++
}

export const tallyRun = (modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): Tally => {
  const tally: Tally = { passed: 0, failed: 0, skipped: 0 }
  for (const module of modules) countSuite(module, false, tally)
  tally.failed += unhandledErrors.length
  return tally
}

export const summaryLine = (tally: Tally) => `${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped`

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>) {
    process.stdout.write(`\n${summaryLine(tallyRun(modules, unhandledErrors))}\n`)
  }
}
