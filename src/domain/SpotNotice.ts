/**
 * What EC2 announces about taking a Spot instance back, as the instance metadata reports it
 * (layers/aws/ImdsSpotNotices.ts decodes AWS's JSON into these). Times are epoch milliseconds.
 */
import { Schema } from "effect"

/** AWS: "The possible values for instance-action are hibernate, stop, or terminate." */
export const InstanceAction = Schema.Literals(["hibernate", "stop", "terminate"])
export type InstanceAction = typeof InstanceAction.Type

/** EC2 will stop, terminate or hibernate the instance at about `at`. */
export const SpotInterruption = Schema.TaggedStruct("SpotInterruption", {
  action: InstanceAction,
  at: Schema.Number
})
export type SpotInterruption = typeof SpotInterruption.Type

/** The instance is at elevated risk of interruption: no deadline yet. */
export const RebalanceRecommendation = Schema.TaggedStruct("RebalanceRecommendation", {
  noticedAt: Schema.Number
})
export type RebalanceRecommendation = typeof RebalanceRecommendation.Type

export const SpotNotice = Schema.Union([SpotInterruption, RebalanceRecommendation])
export type SpotNotice = typeof SpotNotice.Type
