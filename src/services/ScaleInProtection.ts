/**
 * The worker fibers' shared hold on this instance's scale-in protection. Protection belongs to
 * the instance, but one process may run several worker fibers (`serve`, `process`): the instance
 * stays protected while any of them holds a task, and is released when the last one finds the
 * queue empty. Built over FleetControl, once per process (layers/SharedScaleInProtection.ts).
 */
import type { Effect } from "effect"
import { Context } from "effect"

export interface ScaleInProtectionShape {
  /**
   * Records whether `workerId` holds a task, then brings the instance's protection in line. Never
   * fails: a worker that cannot protect itself still works (it only risks being scaled in mid-task,
   * and then the task is redelivered after its visibility timeout); a failed call is tried again on
   * the worker's next poll.
   */
  readonly hold: (workerId: string, busy: boolean) => Effect.Effect<void>
}

export class ScaleInProtection extends Context.Service<ScaleInProtection, ScaleInProtectionShape>()("vidpipe/ScaleInProtection") {}
