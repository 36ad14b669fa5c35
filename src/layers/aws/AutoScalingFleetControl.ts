/**
 * FleetControl on an EC2 Auto Scaling group: the instance id comes from IMDSv2 once, when the
 * layer is built, and protection is `SetInstanceProtection` on this instance. The last state set
 * is remembered so the worker can call it on every task without flooding the API (which is
 * throttled per account).
 *
 * Termination goes through the group's termination lifecycle hook: while the instance waits in
 * Terminating:Wait, IMDS reports `autoscaling/target-lifecycle-state` = `Terminated`; once the
 * worker has drained, `CompleteLifecycleAction` with `CONTINUE` lets Auto Scaling terminate it at
 * once instead of at the hook's heartbeat timeout. This runs in the worker's own Node process
 * (the SDK with the instance role's credentials), not a separate CLI under systemd.
 */
import type { AutoScalingClientConfig } from "@aws-sdk/client-auto-scaling"
import { AutoScalingClient, CompleteLifecycleActionCommand, SetInstanceProtectionCommand } from "@aws-sdk/client-auto-scaling"
import type { Duration } from "effect"
import { Context, Effect, Layer, Schedule, Semaphore } from "effect"
import { FleetControl, FleetControlFailed } from "../../services/FleetControl.ts"
import { InstanceTermination } from "../../services/InstanceTermination.ts"
import { awsCall } from "./errors.ts"
import type { InstanceMetadataOptions } from "./instanceMetadata.ts"
import { readInstanceId, readTargetLifecycleState } from "./instanceMetadata.ts"

export interface AutoScalingFleetControlOptions {
  readonly autoScalingGroupName: string
  /** Skips IMDS when the id is already known. */
  readonly instanceId?: string
  readonly metadata?: InstanceMetadataOptions
  /** A client to use as is; otherwise one is made from `clientConfig` and destroyed with the layer. */
  readonly client?: AutoScalingClient
  readonly clientConfig?: AutoScalingClientConfig
  /** Per API call. Default 10 seconds. */
  readonly callTimeout?: Duration.Input
}

/** IMDS answers at once on EC2; a couple of quick retries cover a hiccup at boot. */
const resolveInstanceId = (options: AutoScalingFleetControlOptions) =>
  options.instanceId !== undefined
    ? Effect.succeed(options.instanceId)
    : readInstanceId(options.metadata).pipe(
      Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 2, while: (error) => error.retryable }),
      Effect.mapError((error) => new FleetControlFailed({ operation: "instanceId", reason: error.message, retryable: error.retryable }))
    )

export const makeAutoScalingFleetControl = Effect.fnUntraced(function*(options: AutoScalingFleetControlOptions) {
  const instanceId = yield* resolveInstanceId(options)
  const client = options.client ??
    (yield* Effect.acquireRelease(
      Effect.sync(() => new AutoScalingClient(options.clientConfig ?? {})),
      (made) => Effect.sync(() => made.destroy())
    ))
  const timeout = options.callTimeout ?? "10 seconds"
  // undefined = unknown (at start, and after a call that failed or was interrupted midway).
  let last: boolean | undefined
  const lock = yield* Semaphore.make(1)

  const apply = (protect: boolean) =>
    awsCall(
      (abortSignal) =>
        client.send(
          new SetInstanceProtectionCommand({ AutoScalingGroupName: options.autoScalingGroupName, InstanceIds: [instanceId], ProtectedFromScaleIn: protect }),
          { abortSignal }
        ),
      timeout,
      ({ reason, retryable }) => new FleetControlFailed({ operation: protect ? "protect" : "unprotect", reason, retryable })
    )

  // AWS (CompleteLifecycleAction): "Completes the lifecycle action for the specified token or
  // instance with the specified result"; LifecycleHookName, AutoScalingGroupName and
  // LifecycleActionResult are required, InstanceId may stand for the token. On a terminating
  // instance "both abandon and continue allow the instance to terminate. However, abandon stops
  // any remaining actions, such as other lifecycle hooks, and continue allows any other lifecycle
  // hooks to complete" (user guide, "Add lifecycle hooks"): CONTINUE leaves other hooks their turn.
  const completeTermination = (lifecycleHookName: string) =>
    awsCall(
      (abortSignal) =>
        client.send(
          new CompleteLifecycleActionCommand({
            LifecycleHookName: lifecycleHookName,
            AutoScalingGroupName: options.autoScalingGroupName,
            InstanceId: instanceId,
            LifecycleActionResult: "CONTINUE"
          }),
          { abortSignal }
        ),
      timeout,
      ({ reason, retryable }) => new FleetControlFailed({ operation: "completeLifecycleAction", reason, retryable })
    ).pipe(Effect.asVoid)

  const termination = InstanceTermination.of({
    terminating: readTargetLifecycleState(options.metadata).pipe(
      // Terminated, or back into a warm pool (Warmed:Stopped, :Running, :Hibernated): the user guide,
      // "Use lifecycle hooks with a warm pool", says an instance a reuse policy returns to the warm
      // pool on scale-in pauses for the EC2_INSTANCE_TERMINATING hook too (at Warmed:Pending:Wait),
      // so the worker drains and completes it there as well. InService, Standby or Detached are no
      // reason to leave, and neither is an absent item (instances that never moved since the item
      // was introduced).
      Effect.map((state) => state._tag === "Some" && (state.value === "Terminated" || state.value.startsWith("Warmed:"))),
      Effect.mapError((error) => new FleetControlFailed({ operation: "lifecycleState", reason: error.message, retryable: error.retryable }))
    ),
    complete: Effect.fn("InstanceTermination.complete")(completeTermination)
  })

  const fleet = FleetControl.of({
    instanceId: Effect.succeed(instanceId),
    setScaleInProtection: Effect.fn("FleetControl.setScaleInProtection")(function*(protect: boolean) {
      if (last === protect) return
      last = undefined
      yield* apply(protect)
      last = protect
    }, Semaphore.withPermit(lock))
  })
  return { fleet, termination }
})

/** FleetControl and InstanceTermination for this instance of the group. */
export const autoScalingFleetControlLayer = (options: AutoScalingFleetControlOptions) =>
  Layer.effectContext(Effect.map(
    makeAutoScalingFleetControl(options),
    ({ fleet, termination }) => Context.make(FleetControl, fleet).pipe(Context.add(InstanceTermination, termination))
  ))
