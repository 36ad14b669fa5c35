/**
 * FleetControl on an EC2 Auto Scaling group: the instance id comes from IMDSv2 once, when the
 * layer is built, and protection is `SetInstanceProtection` on this instance. The last state set
 * is remembered so the worker can call it on every task without flooding the API (which is
 * throttled per account).
 */
import type { AutoScalingClientConfig } from "@aws-sdk/client-auto-scaling"
import { AutoScalingClient, SetInstanceProtectionCommand } from "@aws-sdk/client-auto-scaling"
import type { Duration } from "effect"
import { Effect, Layer, Schedule, Semaphore } from "effect"
import { FleetControl, FleetControlFailed } from "../../services/FleetControl.ts"
import { awsCall } from "./errors.ts"
import type { InstanceMetadataOptions } from "./instanceMetadata.ts"
import { readInstanceId } from "./instanceMetadata.ts"

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

  return FleetControl.of({
    instanceId: Effect.succeed(instanceId),
    setScaleInProtection: Effect.fn("FleetControl.setScaleInProtection")(function*(protect: boolean) {
      if (last === protect) return
      last = undefined
      yield* apply(protect)
      last = protect
    }, Semaphore.withPermit(lock))
  })
})

export const autoScalingFleetControlLayer = (options: AutoScalingFleetControlOptions) =>
  Layer.effect(FleetControl, makeAutoScalingFleetControl(options))
