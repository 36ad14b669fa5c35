/**
 * A deterministic simulation of an autoscaled worker fleet over a day of bursty arrivals, on
 * Effect's `TestClock`: nothing waits in real time, and every sleep in the code under test (long
 * polls, heartbeats, visibility timeouts, encodes, boots, alarms) fires in simulated time.
 *
 * Real code under test, unchanged:
 * - each instance runs the worker's poll loop and idle/busy protocol (`runWorkerWith`: long poll,
 *   ScaleIn metric + idle set on an empty poll, leave the idle set + protect on a task, release on
 *   the next empty poll, drain on SIGTERM, hand back past the drain timeout) with its own
 *   FleetControl, over the in-process JobQueue (SQS FIFO semantics) and IdleRegistry (`KillMe`);
 * - the scaling policy (`decideScaling`) plays the CloudWatch alarms + Auto Scaling policies;
 * - the protector program (`protect`) answers every scale-in, reading the idle set.
 * Simulated: an encode is a sleep of the task's duration (with the worker's real heartbeat), and
 * Auto Scaling itself: it launches instances that boot for `bootMs`, and on scale-in asks the
 * protector, stricter than AWS (every instance is a candidate, protected ones too), then sends the
 * named instances SIGTERM `terminationDelayMs` later; they drain for up to `drainTimeoutMs` (the
 * lifecycle hook). The `oldest` control kills the oldest instances at once instead.
 */
import { Clock, Deferred, Duration, Effect, Fiber, Layer, Option, References, Schema, Scope } from "effect"
import { TestClock } from "effect/testing"
import { decideScaling } from "../domain/ScalingPolicy.ts"
import type { CapacityToTerminate, TerminationPolicyEvent } from "../domain/TerminationPolicy.ts"
import type { LocalFleetControlShape } from "../layers/local/LocalFleetControl.ts"
import { makeLocalFleetControl } from "../layers/local/LocalFleetControl.ts"
import { makeLogMetrics } from "../layers/local/LogMetrics.ts"
import { memoryCoordinatorLayer } from "../layers/local/MemoryCoordinator.ts"
import { memoryIdleRegistryLayer } from "../layers/local/MemoryIdleRegistry.ts"
import { Coordinator } from "../services/Coordinator.ts"
import { memoryJobQueueLayer } from "../layers/local/MemoryJobQueue.ts"
import { sharedScaleInProtectionLayer } from "../layers/SharedScaleInProtection.ts"
import { FleetControl } from "../services/FleetControl.ts"
import { IdleRegistry } from "../services/IdleRegistry.ts"
import type { ReceivedMessage } from "../services/JobQueue.ts"
import { JobQueue } from "../services/JobQueue.ts"
import { PipelineMetrics } from "../services/PipelineMetrics.ts"
import { TaskProgress } from "../services/TaskProgress.ts"
import { defaultPipelineSettings, PipelineSettings } from "../services/PipelineSettings.ts"
import { protect } from "../programs/protector.ts"
import { runWorkerWith } from "../programs/worker.ts"
import { heartbeat } from "../programs/workerTask.ts"
import { generateArrivals, mulberry32 } from "./arrivals.ts"
import type { SimulationOptions } from "./options.ts"
import { defaultSimulationOptions, minute } from "./options.ts"
import type { FleetReport, ScaleEvent } from "./report.ts"
import { percentile, round } from "./report.ts"
import { localSourceCopiesLayer } from "../layers/local/LocalSourceCopies.ts"

interface Instance {
  readonly id: string
  readonly zone: string
  readonly kind: "on-demand" | "spot"
  readonly launchedAt: number
  readonly fleet: LocalFleetControlShape
  readonly sigterm: Deferred.Deferred<void>
  /** A Spot interruption notice (the drill). */
  readonly notice: Deferred.Deferred<void>
  fiber: Fiber.Fiber<void> | undefined
  /** The task it is encoding, if any, with its estimate and start. */
  holding: { readonly id: string; readonly estimateMs: number; readonly startedAt: number } | undefined
  /** Named for termination: no longer part of the group's capacity. */
  terminating: boolean
  /** Spot took it back: the interruption ends it at `reclaimedAt`. */
  reclaimedAt: number | undefined
}

/** How often a simulated encode reports its progress (ffmpeg reports about every second; coarser is cheaper here). */
const progressEveryMs = 5_000

/** What the simulation puts in a message body, read back through its Schema. */
const TaskBody = Schema.Struct({ id: Schema.String, jobId: Schema.String, jobTasks: Schema.Int, durationMs: Schema.Number, estimateMs: Schema.Number, enqueuedAt: Schema.Number })
type TaskBody = typeof TaskBody.Type
const decodeTaskBody = Schema.decodeUnknownEffect(Schema.fromJsonString(TaskBody))

const runSimulation = (options: SimulationOptions) =>
  Effect.gen(function*() {
    const queue = yield* JobQueue
    const coordinator = yield* Coordinator
    const registry = yield* IdleRegistry
    const metrics = yield* PipelineMetrics
    const scope = yield* Scope.Scope
    const arrivals = generateArrivals(options)
    // Their own streams, so the day's arrivals are the same whatever is estimated or drilled.
    const estimateRng = mulberry32(options.seed ^ 0x2545f491)
    const estimates = new Map(arrivals.map((t) => [t.id, Math.round(t.durationMs * Math.exp((estimateRng() * 2 - 1) * options.estimateError))]))
    const drillRng = mulberry32(options.seed ^ 0x68e31da4)
    /** Estimated work of the tasks waiting in the queue (what the policy sizes the fleet on). */
    const queuedWork = new Map<string, number>()
    const instances = new Map<string, Instance>()
    const firstReceived = new Set<string>()
    const completed = new Set<string>()
    const waits: Array<number> = []
    const scaleEvents: Array<ScaleEvent> = []
    let arrived = 0
    let launched = 0
    let instanceMs = 0
    const runningMs = { "on-demand": 0, spot: 0 }
    let warmPool = options.capacity.kind === "on-demand" ? options.capacity.warmPool : 0
    let warmPoolStoppedMs = 0
    let warmPoolChangedAt = 0
    let resumed = 0
    let spotNotices = 0
    let spotHandedBack = 0
    let spotCutOff = 0
    let workRedoneMs = 0
    let completedTwice = 0
    /** Finalize leases won, per job: 1 for every job, or it finalized twice (or never). */
    const finalized = new Map<string, number>()
    const tasksPerJob = new Map<number, number>()
    for (const task of arrivals) tasksPerJob.set(task.jobId, (tasksPerJob.get(task.jobId) ?? 0) + 1)
    let busyTerminated = 0
    let drainedBusy = 0
    let refusedScaleIns = 0
    let maxFleet = 0
    let lastScaleOutAt: number | undefined
    let lastScaleInAt: number | undefined

    /** Progress as ffmpeg would report it, every few seconds: what the worker's pace is judged on. */
    const reportProgress = (durationMs: number, startedAt: number) =>
      Effect.gen(function*() {
        const progress = yield* TaskProgress
        yield* progress.encodeStarted
        while (true) {
          yield* Effect.sleep(progressEveryMs)
          yield* progress.progressed(Math.min(1, ((yield* Clock.currentTimeMillis) - startedAt) / durationMs))
        }
      })

    /**
     * The simulated encode: the task's duration, with the worker's real heartbeat and progress
     * reports. On a Spot notice the real worker code (`mustEndBy`) decides from that progress
     * whether the task finishes or is handed back at once.
     */
    const encode = (instance: Instance) => (_workerId: string, message: ReceivedMessage) =>
      Effect.gen(function*() {
        const task = yield* decodeTaskBody(message.body)
        const now = yield* Clock.currentTimeMillis
        if (!firstReceived.has(task.id)) {
          firstReceived.add(task.id)
          waits.push(now - task.enqueuedAt)
        }
        queuedWork.delete(task.id)
        instance.holding = { id: task.id, estimateMs: task.estimateMs, startedAt: now }
        yield* heartbeat(message)
        yield* Effect.forkScoped(reportProgress(task.durationMs, now))
        yield* Effect.sleep(task.durationMs)
        if (completed.has(task.id)) completedTwice++
        completed.add(task.id)
        // The real coordinator records the completion; the one that completes the job wins its lease.
        const outcome = yield* coordinator.complete({ jobId: task.jobId, taskId: task.id, total: task.jobTasks, owner: instance.id, leaseFor: "10 minutes" })
        if (Option.isSome(outcome.lease)) finalized.set(task.jobId, (finalized.get(task.jobId) ?? 0) + 1)
        yield* queue.delete(message.receipt).pipe(Effect.ignore)
      }).pipe(
        Effect.scoped,
        Effect.onInterrupt(() =>
          Effect.gen(function*() {
            const held = instance.holding
            if (held !== undefined) {
              queuedWork.set(held.id, held.estimateMs)
              workRedoneMs += (yield* Clock.currentTimeMillis) - held.startedAt
            }
            // Spot ending an instance is not a scale-in's doing; a busy scale-in kill is. The worker
            // gives a task up at once on the notice, or (it ran late) at the margin before the end.
            if (instance.reclaimedAt === undefined) busyTerminated++
            else if ((yield* Clock.currentTimeMillis) < instance.reclaimedAt - (options.spotDrill?.marginMs ?? 0)) spotHandedBack++
            else spotCutOff++
          })
        ),
        Effect.ensuring(Effect.sync(() => (instance.holding = undefined)))
      )

    const warmPoolChange = (now: number, by: number) => {
      warmPoolStoppedMs += warmPool * (now - warmPoolChangedAt)
      warmPoolChangedAt = now
      warmPool += by
    }

    /** Gone from the group: terminated, or (scaled in, with reuse) stopped back into the warm pool. */
    const retire = (instance: Instance, now: number, scaledIn = false) => {
      instanceMs += now - instance.launchedAt
      runningMs[instance.kind] += now - instance.launchedAt
      instances.delete(instance.id)
      const capacity = options.capacity
      if (scaledIn && capacity.kind === "on-demand" && capacity.reuseOnScaleIn && warmPool < capacity.warmPool) warmPoolChange(now, 1)
    }

    /**
     * A warm-pool instance taken by a scale-out is replaced in the pool: AWS launches one, runs it
     * through its boot (billed as running) and stops it.
     */
    const refillWarmPool = (now: number) =>
      Effect.sleep(options.bootMs).pipe(
        Effect.andThen(Effect.sync(() => {
          instanceMs += options.bootMs
          runningMs["on-demand"] += options.bootMs
          warmPoolChange(now + options.bootMs, 1)
        })),
        Effect.forkIn(scope)
      )

    /** The drill: this instance gets a Spot interruption notice at a random moment after its boot. */
    const maybeInterrupt = (instance: Instance, bootMs: number) =>
      Effect.gen(function*() {
        const drill = options.spotDrill
        if (drill === undefined || instance.kind !== "spot" || drillRng() >= drill.fraction) return
        yield* Effect.sleep(bootMs + Math.floor(drillRng() * drill.withinMs))
        if (!instances.has(instance.id) || instance.reclaimedAt !== undefined) return
        spotNotices++
        const now = yield* Clock.currentTimeMillis
        instance.reclaimedAt = now + drill.noticeMs
        // Out of the group's capacity at once (Auto Scaling launches a replacement); the worker
        // learns when it must be empty by (its `mustEndBy`), and drains.
        instance.terminating = true
        yield* Deferred.succeed(instance.notice, undefined)
        yield* Effect.sleep(drill.noticeMs)
        if (!instances.has(instance.id)) return
        if (instance.fiber !== undefined) yield* Fiber.interrupt(instance.fiber)
        retire(instance, yield* Clock.currentTimeMillis)
      }).pipe(Effect.forkIn(scope))

    const launch = Effect.fnUntraced(function*(now: number, bootMs: number) {
      const id = `i-${String(launched).padStart(5, "0")}`
      // A scale-out takes a stopped warm-pool instance first: it resumes instead of booting.
      const fromPool = warmPool > 0 && bootMs > 0
      if (fromPool) {
        warmPoolChange(now, -1)
        resumed++
        yield* refillWarmPool(now)
      }
      const boot = fromPool ? options.resumeMs : bootMs
      const instance: Instance = {
        id,
        zone: options.zones[launched % options.zones.length]!,
        kind: options.capacity.kind,
        launchedAt: now,
        fleet: yield* makeLocalFleetControl(id),
        sigterm: yield* Deferred.make<void>(),
        notice: yield* Deferred.make<void>(),
        fiber: undefined,
        holding: undefined,
        terminating: false,
        reclaimedAt: undefined
      }
      launched++
      instances.set(id, instance)
      yield* maybeInterrupt(instance, boot)
      instance.fiber = yield* Effect.sleep(boot).pipe(
        Effect.andThen(runWorkerWith(encode(instance))(id, {
          drain: Deferred.await(instance.sigterm),
          drainTimeout: options.drainTimeoutMs,
          mustEndBy: Deferred.await(instance.notice).pipe(Effect.map(() => (instance.reclaimedAt ?? 0) - (options.spotDrill?.marginMs ?? 0)))
        })),
        // Each instance is a process of its own: its own hold on its own protection.
        Effect.provide(sharedScaleInProtectionLayer),
        Effect.provideService(FleetControl, instance.fleet),
        Effect.forkIn(scope)
      )
    })

    /** Lifecycle hook: SIGTERM after the delay, the drain, then the instance is gone. */
    const drainAndTerminate = (instance: Instance) =>
      Effect.gen(function*() {
        yield* Effect.sleep(options.terminationDelayMs)
        if (instance.holding !== undefined) drainedBusy++
        yield* Deferred.succeed(instance.sigterm, undefined)
        if (instance.fiber !== undefined) yield* Fiber.await(instance.fiber)
        if (instances.has(instance.id)) retire(instance, yield* Clock.currentTimeMillis, true)
      }).pipe(Effect.forkIn(scope))

    const kill = Effect.fnUntraced(function*(instance: Instance, now: number) {
      if (instance.fiber !== undefined) yield* Fiber.interrupt(instance.fiber)
      retire(instance, now)
    })

    /** One alarm evaluation: the policy's decision, carried out the way Auto Scaling would. */
    const evaluate = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const group = [...instances.values()].filter((i) => !i.terminating)
      const members = new Set(group.map((i) => i.id))
      const depth = yield* queue.depth
      const fresh = (yield* registry.idle(options.freshWithinMs)).filter((e) => members.has(e.instanceId))
      const nameable = fresh.filter((e) => now - e.idleSince >= options.minIdleMs)
      const protectedInstances = (yield* Effect.forEach(group, (i) => i.fleet.protectedNow)).filter(Boolean).length
      const inFlightWorkMs = [...instances.values()].reduce((sum, i) => sum + (i.holding === undefined ? 0 : Math.max(0, i.holding.estimateMs - (now - i.holding.startedAt))), 0)
      const decision = decideScaling(
        {
          visibleMessages: depth.visible,
          inFlightMessages: depth.inFlight,
          queuedWorkSeconds: [...queuedWork.values()].reduce((a, b) => a + b, 0) / 1000,
          inFlightWorkSeconds: inFlightWorkMs / 1000,
          instances: group.length,
          protectedInstances,
          idleInstances: nameable.length,
          now,
          ...(lastScaleOutAt === undefined ? {} : { lastScaleOutAt }),
          ...(lastScaleInAt === undefined ? {} : { lastScaleInAt })
        },
        options.scaling
      )
      const from = group.length
      if (decision.desired > from) {
        for (let i = from; i < decision.desired; i++) yield* launch(now, options.bootMs)
        lastScaleOutAt = now
        scaleEvents.push({ at: now, from, to: decision.desired, reason: decision.reason })
        return
      }
      if (decision.desired === from) return
      const amount = from - decision.desired
      if (options.termination === "oldest") {
        // A busy one's encode is interrupted, which counts it in busyTerminated.
        for (const instance of group.slice(0, amount)) yield* kill(instance, now)
        lastScaleInAt = now
        scaleEvents.push({ at: now, from, to: from - amount, reason: decision.reason })
        return
      }
      const byZone = new Map<string, number>()
      for (const entry of nameable.slice(0, amount)) {
        const zone = instances.get(entry.instanceId)!.zone
        byZone.set(zone, (byZone.get(zone) ?? 0) + 1)
      }
      const capacity: Array<CapacityToTerminate> = [...byZone].map(([AvailabilityZone, Capacity]) => ({ AvailabilityZone, Capacity }))
      const event: TerminationPolicyEvent = {
        AutoScalingGroupName: "vidpipe-sim",
        CapacityToTerminate: capacity,
        Instances: group.map((i) => ({ AvailabilityZone: i.zone, InstanceId: i.id })),
        Cause: "SCALE_IN"
      }
      const answer = yield* protect(event, { budget: "1500 millis", minIdle: options.minIdleMs, freshWithin: options.freshWithinMs })
      if (answer.InstanceIDs.length < amount) refusedScaleIns++
      if (answer.InstanceIDs.length === 0) return
      for (const id of answer.InstanceIDs) {
        const instance = instances.get(id)!
        if (instance.holding !== undefined) busyTerminated++ // the protector named a busy instance
        instance.terminating = true
        yield* drainAndTerminate(instance)
      }
      lastScaleInAt = now
      scaleEvents.push({ at: now, from, to: from - answer.InstanceIDs.length, reason: decision.reason })
    })

    // The group starts at `min`, already booted; then arrivals and alarms run on the clock.
    for (let i = 0; i < options.scaling.min; i++) yield* launch(0, 0)
    yield* Effect.forkIn(
      Effect.forEach(arrivals, (task) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          yield* Effect.sleep(task.arrivesAt - now)
          const estimateMs = estimates.get(task.id) ?? task.durationMs
          const body: TaskBody = {
            id: task.id,
            jobId: `job${task.jobId}`,
            jobTasks: tasksPerJob.get(task.jobId) ?? 1,
            durationMs: task.durationMs,
            estimateMs,
            enqueuedAt: task.arrivesAt
          }
          queuedWork.set(task.id, estimateMs)
          yield* queue.send({ body: JSON.stringify(body), groupId: task.id, deduplicationId: task.id })
          yield* metrics.record("ScaleOut")
          arrived++
        }), { discard: true }),
      scope
    )
    yield* Effect.forkIn(
      Effect.forever(Effect.sleep(options.evaluationPeriodMs).pipe(Effect.andThen(evaluate), Effect.andThen(Effect.sync(() => {
        // The group's size (what `max` bounds): instances draining out of it are no longer counted.
        maxFleet = Math.max(maxFleet, [...instances.values()].filter((i) => !i.terminating).length)
      })))),
      scope
    )

    // Run the day, then on (arrivals stopped) until every task is done.
    const hardStop = options.durationMs + 24 * 60 * minute
    let now = 0
    while (now < hardStop) {
      yield* TestClock.adjust(minute)
      now = yield* Clock.currentTimeMillis
      if (now >= options.durationMs && arrived === arrivals.length && completed.size === arrivals.length) break
    }
    for (const instance of [...instances.values()]) retire(instance, now)
    warmPoolChange(now, 0)
    const perMinute = (pricePerHour: number) => pricePerHour / 60

    const taskMs = arrivals.reduce((n, t) => n + t.durationMs, 0)
    const sortedWaits = waits.toSorted((a, b) => a - b)
    const burstWork = new Map<number, number>()
    for (const task of arrivals) if (task.burst !== undefined) burstWork.set(task.burst, (burstWork.get(task.burst) ?? 0) + task.durationMs)
    const totals = yield* metrics.totals
    const report: FleetReport = {
      seed: options.seed,
      jobs: new Set(arrivals.map((t) => t.jobId)).size,
      tasks: arrivals.length,
      tasksCompleted: completed.size,
      tasksCompletedTwice: completedTwice,
      jobsFinalized: finalized.size,
      jobsFinalizedTwice: [...finalized.values()].filter((n) => n > 1).length,
      busyTerminated,
      drainedBusy,
      instancesLaunched: launched,
      warmPoolResumes: resumed,
      instanceMinutes: round(instanceMs / minute),
      onDemandMinutes: round(runningMs["on-demand"] / minute),
      spotMinutes: round(runningMs.spot / minute),
      warmPoolStoppedMinutes: round(warmPoolStoppedMs / minute),
      spotNotices,
      spotHandedBack,
      spotCutOff,
      workRedoneMinutes: round(workRedoneMs / minute),
      cost: round(
        (runningMs["on-demand"] / minute) * perMinute(options.prices.onDemandPerHour) +
          (runningMs.spot / minute) * perMinute(options.prices.spotPerHour) +
          (warmPoolStoppedMs / minute) * perMinute(options.prices.stoppedPerHour),
        2
      ),
      idealCost: round((taskMs / minute) * perMinute(options.prices.onDemandPerHour), 2),
      staticMaxCost: round(((options.scaling.max * now) / minute) * perMinute(options.prices.onDemandPerHour), 2),
      taskMinutes: round(taskMs / minute),
      ratio: round(instanceMs / taskMs, 2),
      staticMaxInstanceMinutes: round((options.scaling.max * now) / minute),
      p50QueueWaitSeconds: round(percentile(sortedWaits, 0.5) / 1000),
      p95QueueWaitSeconds: round(percentile(sortedWaits, 0.95) / 1000),
      maxQueueWaitSeconds: round(percentile(sortedWaits, 1) / 1000),
      largestBurstDrainSeconds: round(Math.max(0, ...burstWork.values()) / options.scaling.max / 1000),
      maxFleetSize: maxFleet,
      scaleOuts: scaleEvents.filter((e) => e.to > e.from).length,
      scaleIns: scaleEvents.filter((e) => e.to < e.from).length,
      refusedScaleIns,
      scaleInReports: totals["ScaleIn"] ?? 0,
      simulatedMinutes: round(now / minute),
      scaleEvents
    }
    return report
  })

/** The shared queue and idle set, metrics counted, the worker's timings; logs off. */
const simulationLayer = (options: SimulationOptions) =>
  Layer.mergeAll(
    memoryJobQueueLayer({ maxReceiveCount: 1000, defaultVisibility: defaultPipelineSettings.visibility }),
    memoryIdleRegistryLayer,
    memoryCoordinatorLayer,
    Layer.effect(PipelineMetrics, makeLogMetrics),
    localSourceCopiesLayer(),
    Layer.succeed(PipelineSettings, { ...defaultPipelineSettings, pollSeconds: options.pollSeconds }),
    Layer.succeed(References.MinimumLogLevel, "None")
  )

/** Runs one simulated day; the same options always give the same report. */
export const simulateFleet = (overrides: Partial<SimulationOptions> = {}): Effect.Effect<FleetReport> => {
  const options: SimulationOptions = { ...defaultSimulationOptions, ...overrides }
  return runSimulation(options).pipe(
    Effect.scoped,
    Effect.provide(simulationLayer(options)),
    Effect.provide(TestClock.layer({ warningDelay: Duration.minutes(10) }))
  )
}
