/**
 * The Auto Scaling custom termination policy contract: the event Auto Scaling sends to the
 * protector Lambda when it wants to remove instances, and the answer naming the ones it may remove.
 * Also the EventBridge scheduled event that keeps the Lambda (and its Redis connection) warm.
 */
import { Schema } from "effect"

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

export const CapacityToTerminate = Schema.Struct({
  AvailabilityZone: Schema.String,
  Capacity: NonNegativeInt,
  /** `on-demand` or `spot`; absent means the capacity applies to either. */
  InstanceMarketOption: Schema.optionalKey(Schema.String)
})
export type CapacityToTerminate = typeof CapacityToTerminate.Type

export const CandidateInstance = Schema.Struct({
  AvailabilityZone: Schema.String,
  InstanceId: Schema.String.check(Schema.isMinLength(1)),
  InstanceType: Schema.optionalKey(Schema.String),
  InstanceMarketOption: Schema.optionalKey(Schema.String)
})
export type CandidateInstance = typeof CandidateInstance.Type

export const TerminationPolicyEvent = Schema.Struct({
  AutoScalingGroupARN: Schema.String,
  AutoScalingGroupName: Schema.String,
  CapacityToTerminate: Schema.Array(CapacityToTerminate),
  Instances: Schema.Array(CandidateInstance),
  /** SCALE_IN, INSTANCE_REFRESH, MAX_INSTANCE_LIFETIME, REBALANCE, … */
  Cause: Schema.String,
  HasMoreInstances: Schema.Boolean
})
export type TerminationPolicyEvent = typeof TerminationPolicyEvent.Type

/** The instances Auto Scaling may terminate; empty keeps every instance (it asks again later). */
export const TerminationPolicyAnswer = Schema.Struct({ InstanceIDs: Schema.Array(Schema.String) })
export type TerminationPolicyAnswer = typeof TerminationPolicyAnswer.Type

export const keepEverything: TerminationPolicyAnswer = { InstanceIDs: [] }

/** The EventBridge schedule (every 4 minutes) that keeps the function warm. */
export const WarmUpEvent = Schema.Struct({
  source: Schema.Literal("aws.events"),
  "detail-type": Schema.Literal("Scheduled Event")
})
export type WarmUpEvent = typeof WarmUpEvent.Type

export const isWarmUpEvent = Schema.is(WarmUpEvent)

export interface WarmUpAnswer {
  readonly warm: true
  /** Whether the idle set could be read (the Redis connection is open). */
  readonly redis: boolean
}
