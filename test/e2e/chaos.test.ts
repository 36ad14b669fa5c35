/**
 * The pure half of `npm run chaos` (scripts/chaosPlan.ts): options, the seeded plan, and the
 * verdict. The chaos run itself takes minutes and is not part of `npm test`.
 */
import { describe, expect, it } from "vitest"
import type { ChaosRun, JobOutcome } from "../../scripts/chaosPlan.ts"
import { defaultChaosOptions, parseChaosArgs, planChaos, summarizeChaos } from "../../scripts/chaosPlan.ts"

describe("chaos options", () => {
  it("defaults, flags, help, and refusals that name the flag", () => {
    expect(parseChaosArgs([])).toEqual(defaultChaosOptions)
    expect(parseChaosArgs(["--jobs", "20", "--kills", "7", "--seed", "9", "--time-limit", "120", "--keep"])).toMatchObject({
      jobs: 20, kills: 7, seed: 9, timeLimit: 120, keep: true, workers: defaultChaosOptions.workers
    })
    expect(parseChaosArgs(["--help"])).toBe("help")
    expect(() => parseChaosArgs(["--jobs", "0"])).toThrow("--jobs must be an integer from 1 to 200 (got \"0\")")
    expect(() => parseChaosArgs(["--kills", "2.5"])).toThrow("--kills must be an integer")
    expect(() => parseChaosArgs(["--bogus"])).toThrow(/bogus/)
  })
})

describe("chaos plan", () => {
  it("is the same for the same seed, and another for another seed", () => {
    const options = { ...defaultChaosOptions, seed: 42 }
    expect(planChaos(options)).toEqual(planChaos(options))
    expect(planChaos({ ...options, seed: 43 })).not.toEqual(planChaos(options))
  })

  it("plans every job and disruption: Redis restarts not first, clips small and varied, ladders non-empty", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const plan = planChaos({ jobs: 12, kills: 5, redisRestarts: 1, seed })
      expect(plan.clips).toHaveLength(12)
      expect(plan.submitAtMs).toEqual([...plan.submitAtMs].sort((a, b) => a - b))
      expect(plan.disruptions.filter((d) => d.kind === "kill")).toHaveLength(5)
      expect(plan.disruptions.filter((d) => d.kind === "redis")).toHaveLength(1)
      expect(plan.disruptions[0]?.kind).toBe("kill")
      for (const clip of plan.clips) {
        expect(clip.ladder.length).toBeGreaterThan(0)
        expect(Math.max(clip.width, clip.height)).toBeLessThanOrEqual(854)
      }
      expect(new Set(plan.clips.map((c) => `${c.width}x${c.height}`)).size).toBeGreaterThan(2)
    }
  })
})

describe("chaos verdict", () => {
  const job = (jobId: string, change: Partial<JobOutcome> = {}): JobOutcome => ({
    jobId, clip: "clip", status: "ready", finalizeRuns: 1, manifestWrites: 1, maxAttempts: 1, problems: [], segmentsChecked: 3, ...change
  })
  const run = (change: Partial<ChaosRun> = {}): ChaosRun => ({
    options: { ...defaultChaosOptions, jobs: 2, kills: 1, redisRestarts: 1 },
    elapsedSeconds: 61,
    submitted: 2,
    submitFailures: [],
    kills: [{ worker: "w1.1", busy: true }],
    redisRestarts: [{ downMs: 2000 }],
    jobs: [job("a"), job("b")],
    queue: { visible: 0, inFlight: 0, deadLettered: 0 },
    recoveries: { "hand-backs": 1 },
    timedOut: false,
    ...change
  })

  it("passes when every job is ready, valid and finalized once, and prints the counts", () => {
    const summary = summarizeChaos(run())
    expect(summary.ok).toBe(true)
    expect(summary.lines).toContain("  jobs:            2 submitted, 2 ready, 0 failed, 0 unfinished")
    expect(summary.lines).toContain("  finalizeRuns:    1 ×2")
    expect(summary.lines.at(-1)).toMatch(/^PASS/)
  })

  it("fails on a double finalization, a missing segment, a failed or stuck job, or chaos that did not happen", () => {
    const summary = summarizeChaos(run({
      jobs: [job("a", { finalizeRuns: 2 }), job("b", { problems: ["missing file video/240p/seg-00002.m4s"] }), job("c", { status: "failed", error: "boom" }), job("d", { status: "processing" })],
      kills: [],
      timedOut: true
    }))
    expect(summary.ok).toBe(false)
    expect(summary.failures).toEqual([
      "job c (clip) failed: boom",
      "job d (clip) is still processing at the time limit",
      "job a (clip) was finalized 2 times",
      "job b (clip): missing file video/240p/seg-00002.m4s",
      "only 0 of 1 worker kills happened before the jobs finished"
    ])
    expect(summary.lines).toContain("  finalizeRuns:    1 ×1, 2 ×1")
  })
})
