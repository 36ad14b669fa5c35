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
import { Clock, Deferred, Duration, Effect, Fiber, Layer, References, Schema, Scope } from "effect"
import { TestClock } from "effect/testing"
import { decideScaling } from "../domain/ScalingPolicy.ts"
import type { CapacityToTerminate, TerminationPolicyEvent } from "../domain/TerminationPolicy.ts"
import type { LocalFleetControlShape } from "../layers/local/LocalFleetControl.ts"
import { makeLocalFleetControl } from "../layers/local/LocalFleetControl.ts"
import { makeLogMetrics } from "../layers/local/LogMetrics.ts"
import { memoryIdleRegistryLayer } from "../layers/local/MemoryIdleRegistry.ts"
import { memoryJobQueueLayer } from "../layers/local/MemoryJobQueue.ts"
import { sharedScaleInProtectionLayer } from "../layers/SharedScaleInProtection.ts"
import { FleetControl } from "../services/FleetControl.ts"
import { IdleRegistry } from "../services/IdleRegistry.ts"
import type { ReceivedMessage } from "../services/JobQueue.ts"
import { JobQueue } from "../services/JobQueue.ts"
import { PipelineMetrics } from "../services/PipelineMetrics.ts"
import { defaultPipelineSettings, PipelineSettings } from "../services/PipelineSettings.ts"
import { protect } from "../programs/protector.ts"
import { runWorkerWith } from "../programs/worker.ts"
import { heartbeat } from "../programs/workerTask.ts"
import { generateArrivals } from "./arrivals.ts"
import type { SimulationOptions } from "./options.ts"
import { defaultSimulationOptions, minute } from "./options.ts"
import type { FleetReport, ScaleEvent } from "./report.ts"
import { percentile, round } from "./report.ts"
import { localSourceCopiesLayer } from "../layers/local/LocalSourceCopies.ts"

interface Instance {
  readonly id: string
  readonly zone: string
  readonly launchedAt: number
  readonly fleet: LocalFleetControlShape
  readonly sigterm: Deferred.Deferred<void>
  fiber: Fiber.Fiber<void> | undefined
  /** The task it is encoding, if any. */
  holding: string | undefined
  /** Named for termination: no longer part of the group's capacity. */
  terminating: boolean
}

/** What the simulation puts in a message body, read back through its Schema. */
const TaskBody = Schema.Struct({ id: Schema.String, durationMs: Schema.Number, enqueuedAt: Schema.Number })
type TaskBody = typeof TaskBody.Type
const decodeTaskBody = Schema.decodeUnknownEffect(Schema.fromJsonString(TaskBody))

const runSimulation = (options: SimulationOptions) =>
  Effect.gen(function*() {
    const queue = yield* JobQueue
    const registry = yield* IdleRegistry
    const metrics = yield* PipelineMetrics
    const scope = yield* Scope.Scope
    const arrivals = generateArrivals(options)
    const instances = new Map<string, Instance>()
    const firstReceived = new Set<string>()
    const completed = new Set<string>()
    const waits: Array<number> = []
    const scaleEvents: Array<ScaleEvent> = []
    let arrived = 0
    let launched = 0
    let instanceMs = 0
    let busyTerminated = 0
    let drainedBusy = 0
    let refusedScaleIns = 0
    let maxFleet = 0
    let lastScaleOutAt: number | undefined
    let lastScaleInAt: number | undefined

    /** The simulated encode: the task's duration, with the worker's real heartbeat. */
    const encode = (instance: Instance) => (_workerId: string, message: ReceivedMessage) =>
      Effect.gen(function*() {
        const task = yield* decodeTaskBody(message.body)
        const now = yield* Clock.currentTimeMillis
        if (!firstReceived.has(task.id)) {
          firstReceived.add(task.id)
          waits.push(now - task.enqueuedAt)
        }
        instance.holding = task.id
        yield* heartbeat(message)
        yield* Effect.sleep(task.durationMs)
        completed.add(task.id)
        yield* queue.delete(message.receipt).pipe(Effect.ignore)
      }).pipe(
        Effect.scoped,
        Effect.onInterrupt(() => Effect.sync(() => void busyTerminated++)),
        Effect.ensuring(Effect.sync(() => (instance.holding = undefined)))
      )

    const retire = (instance: Instance, now: number) => {
      instanceMs += now - instance.launchedAt
      instances.delete(instance.id)
    }

    const launch = Effect.fnUntraced(function*(now: number, bootMs: number) {
      const id = `i-${String(launched).padStart(5, "0")}`
      const instance: Instance = {
        id,
        zone: options.zones[launched % options.zones.length]!,
        launchedAt: now,
        fleet: yield* makeLocalFleetControl(id),
        sigterm: yield* Deferred.make<void>(),
        fiber: undefined,
        holding: undefined,
        terminating: false
      }
      launched++
      instances.set(id, instance)
      instance.fiber = yield* Effect.sleep(bootMs).pipe(
        Effect.andThen(runWorkerWith(encode(instance))(id, { drain: Deferred.await(instance.sigterm), drainTimeout: options.drainTimeoutMs })),
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
        retire(instance, yield* Clock.currentTimeMillis)
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
      const decision = decideScaling(
        {
          visibleMessages: depth.visible,
          inFlightMessages: depth.inFlight,
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
          const body: TaskBody = { id: task.id, durationMs: task.durationMs, enqueuedAt: task.arrivesAt }
          yield* queue.send({ body: JSON.stringify(body), groupId: task.id, deduplicationId: task.id })
          yield* metrics.record("ScaleOut")
          arrived++
        }), { discard: true }),
      scope
    )
    yield* Effect.forkIn(
      Effect.forever(Effect.sleep(options.evaluationPeriodMs).pipe(Effect.andThen(evaluate), Effect.andThen(Effect.sync(() => {
        maxFleet = Math.max(maxFleet, instances.size)
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
      busyTerminated,
      drainedBusy,
      instancesLaunched: launched,
      instanceMinutes: round(instanceMs / minute),
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
