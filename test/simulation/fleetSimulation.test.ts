/**
 * The autoscaling simulation on Effect's TestClock (no real waiting): a day of bursty arrivals on
 * a fleet scaled by the real policy (work-sized: src/domain/ScalingPolicy.ts), each instance
 * running the real worker poll loop and idle/busy protocol over the in-process queue and idle set,
 * scaled in only through the real protector program, draining on SIGTERM; Spot instances get
 * interruption notices in a drill.
 *
 * Bounds, and why (on the default seed and three others):
 * - busy instances terminated: 0, the protector's whole point. A control run that terminates the
 *   oldest instances instead (no protector, no drain) does kill busy workers, so the count can
 *   detect harm.
 * - every task completes, none twice.
 * - running instance-minutes at most 1.25x the task-minutes (the ideal is 1: an instance exactly
 *   while it encodes). The previous fleet (1..20 On-Demand sized by tasks, `previousFleetOptions`)
 *   ran 1.97x on the default seed; that reference is pinned here so a change to the model shows.
 * - p95 queue wait no worse than the previous fleet's on the same seed (693 s on the default).
 * - the defaults are the fleet the comparison keeps (src/simulation/candidates.ts): the cheapest
 *   candidate meeting these bounds on every seed.
 * - determinism: two runs with the same seed give the same report.
 */
import { assert, describe, it } from "@effect/vitest"
import { decideScaling, defaultScalingSettings } from "../../src/domain/ScalingPolicy.ts"
import { Effect } from "effect"
import { chooseCandidate, fleetCandidates, seedsCompared } from "../../src/simulation/candidates.ts"
import { simulateFleet } from "../../src/simulation/fleetSimulation.ts"
import { defaultSimulationOptions, previousFleetOptions, spotDrillOptions } from "../../src/simulation/options.ts"
import type { FleetReport } from "../../src/simulation/report.ts"
import { formatReport } from "../../src/simulation/report.ts"

const settings = { ...defaultScalingSettings, min: 1, max: 20, scaleOutCooldownMs: 60_000, scaleInCooldownMs: 120_000 }
const base = { visibleMessages: 0, inFlightMessages: 0, instances: 1, idleInstances: 0, now: 1_000_000 }

describe("ScalingPolicy", () => {
  it("tracks one task per worker, in-flight tasks included, clamped to [min, max]", () => {
    assert.deepStrictEqual(decideScaling({ ...base, visibleMessages: 5, inFlightMessages: 1 }, settings), { desired: 6, reason: "scale-out", target: 6 })
    assert.strictEqual(decideScaling({ ...base, visibleMessages: 500 }, settings).desired, 20)
    assert.strictEqual(decideScaling({ ...base, instances: 0 }, settings).desired, 1)
    assert.strictEqual(decideScaling({ ...base, visibleMessages: 4 }, { ...settings, targetBacklogPerInstance: 2 }).desired, 2)
  })

  it("scales out at once but not within the out-cooldown", () => {
    assert.deepStrictEqual(decideScaling({ ...base, visibleMessages: 9, lastScaleOutAt: base.now - 30_000 }, settings), {
      desired: 1,
      reason: "scale-out-cooldown",
      target: 9
    })
    assert.strictEqual(decideScaling({ ...base, visibleMessages: 9, lastScaleOutAt: base.now - 60_000 }, settings).desired, 9)
  })

  it("scales in only onto idle instances, one step per in-cooldown", () => {
    const busyFleet = { ...base, instances: 10, inFlightMessages: 2 }
    assert.deepStrictEqual(decideScaling({ ...busyFleet, idleInstances: 0 }, settings), { desired: 10, reason: "scale-in-no-idle", target: 2 })
    assert.deepStrictEqual(decideScaling({ ...busyFleet, idleInstances: 3 }, settings), { desired: 7, reason: "scale-in", target: 2 })
    assert.strictEqual(decideScaling({ ...busyFleet, idleInstances: 8, protectedInstances: 5 }, settings).desired, 5)
    assert.strictEqual(decideScaling({ ...busyFleet, idleInstances: 8, lastScaleInAt: base.now - 60_000 }, settings).reason, "scale-in-cooldown")
    // still busy work for 2: never below the target even with more idle instances
    assert.strictEqual(decideScaling({ ...busyFleet, idleInstances: 9 }, settings).desired, 2)
  })
})

describe("work-sized scaling", () => {
  const work = { ...settings, drainTargetSeconds: 600 }
  it("sizes the fleet to finish the estimated work within the drain target, not by counting tasks", () => {
    // Ten 30-second tasks are five minutes of work: one instance finishes them within ten.
    assert.strictEqual(decideScaling({ ...base, visibleMessages: 10, queuedWorkSeconds: 300 }, work).desired, 1)
    // Three 10-minute chunks: three instances.
    assert.strictEqual(decideScaling({ ...base, visibleMessages: 3, queuedWorkSeconds: 1800 }, work).desired, 3)
    // What is left of the tasks in flight counts too.
    assert.strictEqual(decideScaling({ ...base, visibleMessages: 2, queuedWorkSeconds: 600, inFlightMessages: 1, inFlightWorkSeconds: 600 }, work).desired, 2)
  })

  it("never sizes below the tasks in flight nor above the tasks in the system", () => {
    assert.strictEqual(decideScaling({ ...base, instances: 4, inFlightMessages: 4, queuedWorkSeconds: 0, inFlightWorkSeconds: 60 }, work).target, 4)
    assert.strictEqual(decideScaling({ ...base, visibleMessages: 2, queuedWorkSeconds: 100_000 }, work).desired, 2)
    // Without work figures, or with the drain target off, it counts tasks as before.
    assert.strictEqual(decideScaling({ ...base, visibleMessages: 5 }, work).desired, 5)
    assert.strictEqual(decideScaling({ ...base, visibleMessages: 5, queuedWorkSeconds: 300 }, { ...work, drainTargetSeconds: 0 }).desired, 5)
  })
})

describe("fleet simulation (one simulated day, TestClock)", () => {
  const bounds = (report: FleetReport, previous: FleetReport) => {
    assert.strictEqual(report.busyTerminated, 0, "busy instances terminated")
    assert.strictEqual(report.tasksCompleted, report.tasks, "every task completes")
    assert.strictEqual(report.tasksCompletedTwice, 0, "no task completes twice")
    assert.strictEqual(report.jobsFinalized, report.jobs, "every job finalized once")
    assert.strictEqual(report.jobsFinalizedTwice, 0)
    assert.isAtMost(report.ratio, 1.25, "running instance-minutes / task-minutes")
    assert.isAtMost(report.p95QueueWaitSeconds, previous.p95QueueWaitSeconds, "p95 queue wait, against the previous fleet's on this seed")
    assert.isAtMost(report.maxFleetSize, defaultSimulationOptions.scaling.max)
    assert.isAtLeast(report.maxFleetSize, 10, "the bursts do scale the fleet out")
    assert.isAbove(report.scaleInReports, 0, "idle workers report the ScaleIn metric")
    assert.isBelow(report.cost, previous.cost / 2, "what the fleet costs at list prices")
  }

  it.live("never terminates a busy worker, completes every task, within 1.25x the task-minutes and no worse a p95 wait, deterministically", () =>
    Effect.gen(function*() {
      const started = performance.now()
      const report = yield* simulateFleet()
      const elapsed = performance.now() - started
      console.log(`${formatReport(report)}\n(${Math.round(elapsed)} ms)`)
      const previous = yield* simulateFleet(previousFleetOptions)
      // The reference measured before work-sized scaling: the previous fleet on this seed.
      assert.deepStrictEqual([previous.ratio, previous.p95QueueWaitSeconds, previous.instancesLaunched], [1.97, 693, 365])
      bounds(report, previous)
      assert.deepStrictEqual(yield* simulateFleet(), report, "same seed, same report")
      assert.notDeepEqual(yield* simulateFleet({ seed: 7 }), report, "another seed, another day")
    }), 60_000)

  it.live("holds the bounds over other seeds", () =>
    Effect.forEach([1, 2, 3], (seed) =>
      Effect.gen(function*() {
        bounds(yield* simulateFleet({ seed }), yield* simulateFleet({ ...previousFleetOptions, seed }))
      }), { discard: true }), 60_000)

  it.live("the defaults are the cheapest compared fleet that meets the bounds on every seed", () =>
    Effect.gen(function*() {
      const results = yield* Effect.forEach(fleetCandidates, (candidate) =>
        Effect.map(Effect.forEach(seedsCompared, (seed) => simulateFleet({ ...candidate.options, seed })), (reports) => ({ candidate, reports })))
      const chosen = chooseCandidate(results.slice(1), results[0]!)
      const defaults = yield* Effect.forEach(seedsCompared, (seed) => simulateFleet({ seed }))
      assert.deepStrictEqual(chosen?.reports, defaults, `kept: ${chosen?.candidate.name}`)
    }), 120_000)

  it.live("a Spot drill: a tenth of the instances get a two-minute notice; no task is lost or done twice, and the work redone is reported", () =>
    Effect.gen(function*() {
      const report = yield* simulateFleet({ spotDrill: spotDrillOptions })
      console.log(formatReport(report))
      assert.isAbove(report.spotNotices, 0.05 * report.instancesLaunched, "notices delivered")
      assert.isAbove(report.spotHandedBack, 0, "tasks that could not end within the notice were handed back at once")
      // One instance holds one task: a notice gives up at most that one (a worker that took tasks
      // again before it knew it was draining would hand back many).
      assert.isAtMost(report.spotHandedBack + report.spotCutOff, report.spotNotices)
      assert.isAbove(report.workRedoneMinutes, 0)
      assert.strictEqual(report.tasksCompleted, report.tasks, "no task lost")
      assert.strictEqual(report.tasksCompletedTwice, 0, "no task finished twice")
      assert.strictEqual(report.jobsFinalized, report.jobs, "every job finalized")
      assert.strictEqual(report.jobsFinalizedTwice, 0, "no job finalized twice")
      assert.strictEqual(report.busyTerminated, 0, "Spot took instances back; scale-in still killed no busy worker")
    }), 60_000)

  it.live("an instance named idle that takes a task before its SIGTERM finishes it while draining", () =>
    Effect.gen(function*() {
      // A long gap between the protector's answer and the SIGTERM makes the race common.
      const report = yield* simulateFleet({ terminationDelayMs: 60_000 })
      assert.isAbove(report.drainedBusy, 0, "the race happened")
      assert.strictEqual(report.busyTerminated, 0)
      assert.strictEqual(report.tasksCompleted, report.tasks)
      // With a drain shorter than the tasks, the raced task is handed back (counted) and redone.
      const short = yield* simulateFleet({ terminationDelayMs: 60_000, drainTimeoutMs: 1_000 })
      assert.isAbove(short.busyTerminated, 0, "a drain past its timeout hands the task back")
      assert.strictEqual(short.tasksCompleted, short.tasks, "handed-back tasks are redone")
    }), 60_000)

  it.live("control: without the protector (oldest instances first, no drain) busy workers are terminated", () =>
    Effect.gen(function*() {
      const report = yield* simulateFleet({ termination: "oldest" })
      assert.isAbove(report.busyTerminated, 0)
      assert.strictEqual(report.tasksCompleted, report.tasks, "their tasks are redelivered and redone")
    }), 60_000)
})
