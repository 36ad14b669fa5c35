/**
 * This instance's way out of the fleet: the fleet says when it is taking the instance away, and
 * then waits until the instance, drained, lets it proceed (an Auto Scaling termination lifecycle
 * hook on AWS; only remembered on one machine). Built by the same layer as FleetControl, which
 * knows the instance and its group.
 */
import type { Effect } from "effect"
import { Context } from "effect"
import type { FleetControlFailed } from "./FleetControl.ts"

export interface InstanceTerminationShape {
  /** Whether the fleet is taking this instance away (it then waits for `complete`). */
  readonly terminating: Effect.Effect<boolean, FleetControlFailed>
  /**
   * Lets a waiting termination proceed, once this instance has drained. `lifecycleHookName` names
   * the group's termination hook that holds the instance (configuration the fleet layer lacks).
   */
  readonly complete: (lifecycleHookName: string) => Effect.Effect<void, FleetControlFailed>
}

export class InstanceTermination extends Context.Service<InstanceTermination, InstanceTerminationShape>()("vidpipe/InstanceTermination") {}
