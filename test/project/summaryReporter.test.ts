/**
 * `npm test`'s closing line counts every failure: a nested vitest runs the suites in
 * test/summaryFixtures (one failing assertion, a file that fails to load, a `beforeAll` that
 * throws before two tests, an unhandled rejection, a pass and a skip) with the project's reporter.
 * Vitest's own JSON counted 1 failed and 3 skipped for these.
 */
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const repo = path.resolve(import.meta.dirname, "../..")

describe("the closing line of npm test", () => {
  it("counts a suite that fails to load, a beforeAll that throws and an unhandled error as failed", () => {
    const vitest = path.join(repo, "node_modules", "vitest", "vitest.mjs")
    const result = spawnSync(
      process.execPath,
      [vitest, "run", "--root", path.join(repo, "test", "summaryFixtures"), "--reporter=dot", `--reporter=${path.join(repo, "scripts", "summaryReporter.ts")}`],
      { cwd: repo, encoding: "utf8", env: { ...process.env, CI: "true", NO_COLOR: "1" } }
    )
    const lines = result.stdout.split("\n").map((line) => line.trim())
    expect(lines.filter((line) => /^\d+ passed, \d+ failed, \d+ skipped$/.test(line)), result.stdout + result.stderr).toEqual(["2 passed, 5 failed, 1 skipped"])
    expect(result.status).not.toBe(0)
  }, 120_000)
})
