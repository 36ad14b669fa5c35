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
  InstanceMarketOption: Schema.optionalKey(Schema.String)
})
export type CandidateInstance = typeof CandidateInstance.Type

/**
 * The part of the event the decision reads. AWS's documented payload ("Create a custom
 * termination policy with Lambda", EC2 Auto Scaling user guide) holds the group's name and ARN,
 * `CapacityToTerminate`, `Instances` and `Cause`; "If there are more than 30,000 instances that
 * could be terminated, the input data includes `"HasMoreInstances": true`", so that key is
 * usually absent. Only what the choice needs is required; the group's name and `Cause` are read
 * for the log when present, and every other key (the ARN, `InstanceType`, `HasMoreInstances`,
 * whatever AWS adds) is ignored: Schema drops unknown keys when decoding. A truncated list
 * (`HasMoreInstances`) needs nothing more: only listed instances may be named anyway.
 */
export const TerminationPolicyEvent = Schema.Struct({
  CapacityToTerminate: Schema.Array(CapacityToTerminate),
  Instances: Schema.Array(CandidateInstance),
  AutoScalingGroupName: Schema.optionalKey(Schema.String),
  /** SCALE_IN, INSTANCE_REFRESH, MAX_INSTANCE_LIFETIME, REBALANCE, … */
  Cause: Schema.optionalKey(Schema.String)
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
