/**
 * The local fleet supervisor: every `every` it reads the queue depth and the idle set, asks the
 * scaling policy (`domain/ScalingPolicy.ts`) for the desired size, grows by spawning workers and
 * shrinks only by stopping the workers the protector (`chooseInstancesToTerminate`) names — the
 * ones idle for at least `minIdle`. Stopping a worker drains it (it finishes a task it took in the
 * meantime) and waits for its exit. When the supervisor is interrupted it stops all its workers.
 * Processes are behind `FleetProcesses`, so this program holds no process code.
 */
import { Clock, Duration, Effect } from "effect"
import { decideScaling } from "../domain/ScalingPolicy.ts"
import type { ScalingSettings } from "../domain/ScalingPolicy.ts"
import type { TerminationPolicyEvent } from "../domain/TerminationPolicy.ts"
import { IdleRegistry } from "../services/IdleRegistry.ts"
import { JobQueue } from "../services/JobQueue.ts"
import { chooseInstancesToTerminate } from "./protector.ts"

export interface FleetProcesses {
  /** Starts a worker registering as `id`. */
  readonly spawnWorker: (id: string) => Effect.Effect<void>
  /** Asks the worker to drain (SIGTERM) and completes when it has exited. */
  readonly stopWorker: (id: string) => Effect.Effect<void>
  /** Whether the worker is still running (it may have died on its own). */
  readonly isRunning: (id: string) => Effect.Effect<boolean>
}

export interface LocalFleetOptions {
  readonly min: number
  readonly max: number
  /** How often to look. */
  readonly every: Duration.Input
  /** Only workers idle at least this long may be stopped. */
  readonly minIdle: Duration.Input
  /** Idle entries not refreshed within this no longer count. */
  readonly freshWithin: Duration.Input
  /** Worker ids are `${idPrefix}-${n}`. */
  readonly idPrefix: string
}

const zone = "local"

export const runLocalFleet = (options: LocalFleetOptions, processes: FleetProcesses) =>
  Effect.gen(function*() {
    const queue = yield* JobQueue
    const registry = yield* IdleRegistry
    const everyMs = Duration.toMillis(Duration.fromInputUnsafe(options.every))
    const minIdleMs = Duration.toMillis(Duration.fromInputUnsafe(options.minIdle))
    const settings: ScalingSettings = {
      targetBacklogPerInstance: 1,
      // The local fleet sees the queue depth only (no work figures): it sizes by tasks.
      drainTargetSeconds: 0,
      min: options.min,
      max: options.max,
      scaleOutCooldownMs: everyMs,
      scaleInCooldownMs: everyMs
    }
    let workers: Array<string> = []
    let next = 1
    let lastScaleOutAt: number | undefined
    let lastScaleInAt: number | undefined

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* Effect.logInfo(`fleet: stopping ${workers.length} worker(s)`)
        yield* Effect.forEach(workers, processes.stopWorker, { concurrency: "unbounded", discard: true })
        workers = []
      })
    )

    const step = Effect.gen(function*() {
      // Forget workers that died on their own.
      const alive = yield* Effect.filter(workers, processes.isRunning)
      if (alive.length !== workers.length) {
        yield* Effect.logWarning(`fleet: ${workers.filter((w) => !alive.includes(w)).join(", ")} exited on their own`)
        workers = alive
      }
      const depth = yield* queue.depth
      const idle = (yield* registry.idle(options.freshWithin)).filter((entry) => workers.includes(entry.instanceId))
      const now = yield* Clock.currentTimeMillis
      const idleLongEnough = idle.filter((entry) => now - entry.idleSince >= minIdleMs)
      const decision = decideScaling({
        visibleMessages: depth.visible,
        inFlightMessages: depth.inFlight,
        instances: workers.length,
        idleInstances: idleLongEnough.length,
        now,
        ...(lastScaleOutAt === undefined ? {} : { lastScaleOutAt }),
        ...(lastScaleInAt === undefined ? {} : { lastScaleInAt })
      }, settings)
      if (decision.desired > workers.length) {
        const ids = Array.from({ length: decision.desired - workers.length }, () => `${options.idPrefix}-${next++}`)
        yield* Effect.logInfo(
          `fleet: ${decision.reason}: backlog ${depth.visible}+${depth.inFlight}, ${workers.length} -> ${decision.desired}, starting ${ids.join(", ")}`
        )
        yield* Effect.forEach(ids, (id) => processes.spawnWorker(id).pipe(Effect.map(() => {
          workers.push(id)
        })), { discard: true })
        lastScaleOutAt = now
      } else if (decision.desired < workers.length) {
        const event: TerminationPolicyEvent = {
          AutoScalingGroupName: options.idPrefix,
          CapacityToTerminate: [{ AvailabilityZone: zone, Capacity: workers.length - decision.desired }],
          Instances: workers.map((id) => ({ AvailabilityZone: zone, InstanceId: id })),
          Cause: "SCALE_IN"
        }
        const { InstanceIDs } = chooseInstancesToTerminate(event, idle, now, minIdleMs)
        if (InstanceIDs.length === 0) return
        yield* Effect.logInfo(
          `fleet: ${decision.reason}: backlog ${depth.visible}+${depth.inFlight}, ${workers.length} -> ${workers.length - InstanceIDs.length}, stopping ${InstanceIDs.join(", ")}`
        )
        lastScaleInAt = now
        yield* Effect.forEach(InstanceIDs, (id) =>
          processes.stopWorker(id).pipe(Effect.map(() => {
            workers = workers.filter((w) => w !== id)
          })), { concurrency: "unbounded", discard: true })
      }
    })

    yield* Effect.logInfo(`fleet ${options.idPrefix}: min ${options.min}, max ${options.max}`)
    while (true) {
      yield* step.pipe(Effect.catchCause((cause) => Effect.logWarning("fleet: this round failed, trying again", cause)))
      yield* Effect.sleep(options.every)
    }
  })
