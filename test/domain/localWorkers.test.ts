/**
 * `vidpipe process`'s default worker count (src/domain/LocalWorkers.ts): one ladder ffmpeg already
 * keeps about 8 cores busy, so one worker below 16 cores, then one per 8.
 */
import { describe, expect, it } from "vitest"
import { localWorkersFor } from "../../src/domain/LocalWorkers.ts"

describe("localWorkersFor", () => {
  it("is one worker per 8 cores, at least one", () => {
    expect([1, 2, 4, 8, 15, 16, 23, 24, 64, 0].map(localWorkersFor)).toEqual([1, 1, 1, 1, 1, 2, 2, 3, 8, 1])
    // Never more than `--workers` accepts, however many cores.
    expect(localWorkersFor(1024)).toBe(64)
  })
})
