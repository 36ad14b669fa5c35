/**
 * The suites that test/project/summaryReporter.test.ts runs in a nested vitest: one of each kind of
 * failure the closing line must count. Not part of `npm test`'s own run (they are `*.suite.ts`).
 */
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: { include: ["*.suite.ts"], maxWorkers: 1 }
})
