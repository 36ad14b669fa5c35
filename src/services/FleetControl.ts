/**
 * This instance's place in the fleet: its id (what it registers under in the idle set) and its
 * protection from scale-in, held while it works on a task so the group never removes a busy
 * worker (an Auto Scaling group on AWS; a no-op kept in memory on one machine).
 */
import type { Effect } from "effect"
import { Context, Schema } from "effect"

export class FleetControlFailed extends Schema.TaggedError<FleetControlFailed>()("FleetControlFailed", {
  operation: Schema.String,
  reason: Schema.String,
  retryable: Schema.Boolean
}) {
  override get message() {
    return `fleet ${this.operation}: ${this.reason}`
  }
}

export interface FleetControlShape {
  /** This instance's id (the EC2 instance id on AWS), resolved once when the layer is built. */
  readonly instanceId: Effect.Effect<string>
  /**
   * Protects this instance from scale-in (`true`) or releases it (`false`). Idempotent: a call
   * that would not change the last state this process set is skipped.
   */
  readonly setScaleInProtection: (protect: boolean) => Effect.Effect<void, FleetControlFailed>
}

export class FleetControl extends Context.Service<FleetControl, FleetControlShape>()("vidpipe/FleetControl") {}
