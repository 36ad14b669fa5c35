/**
 * SpotNotices from the EC2 instance metadata (IMDSv2, instanceMetadata.ts). AWS documents two
 * items, each absent (HTTP 404) until it applies:
 *
 * - `spot/instance-action`: "If your Spot Instance is marked to be stopped or terminated by Amazon
 *   EC2, the instance-action item is present in your instance metadata", and it "specifies the
 *   action and the approximate time, in UTC, when the action will occur", for example
 *   `{"action": "terminate", "time": "2017-09-18T08:22:00Z"}` ("Spot Instance interruption
 *   notices", EC2 user guide).
 * - `events/recommendations/rebalance`: "the approximate time, in UTC, when the rebalance
 *   recommendation signal was emitted", for example `{"noticeTime": "2020-10-27T08:22:00Z"}`
 *   ("EC2 instance rebalance recommendations", EC2 user guide).
 *
 * Both answers are decoded with Schema; an answer of another shape is a SpotNoticesFailed, never a
 * guess.
 */
import { DateTime, Effect, Layer, Option, Schema } from "effect"
import { InstanceAction } from "../../domain/SpotNotice.ts"
import type { SpotNotice } from "../../domain/SpotNotice.ts"
import { SpotNotices, SpotNoticesFailed } from "../../services/SpotNotices.ts"
import type { InstanceMetadataOptions } from "./instanceMetadata.ts"
import { readOptionalInstanceMetadata } from "./instanceMetadata.ts"

export const instanceActionPath = "spot/instance-action"
export const rebalancePath = "events/recommendations/rebalance"

const decodeInstanceAction = Schema.decodeUnknownEffect(
  Schema.fromJsonString(Schema.Struct({ action: InstanceAction, time: Schema.DateTimeUtcFromString }))
)
const decodeRebalance = Schema.decodeUnknownEffect(Schema.fromJsonString(Schema.Struct({ noticeTime: Schema.DateTimeUtcFromString })))

/** Reads an item and decodes it; None while IMDS answers 404. */
const readItem = <A>(path: string, decode: (text: string) => Effect.Effect<A, Schema.SchemaError>, metadata: InstanceMetadataOptions) =>
  Effect.gen(function*() {
    const text = yield* readOptionalInstanceMetadata(path, metadata).pipe(
      Effect.mapError((error) => new SpotNoticesFailed({ reason: error.message, retryable: error.retryable }))
    )
    if (Option.isNone(text)) return Option.none<A>()
    const decoded = yield* decode(text.value).pipe(
      Effect.mapError((error) => new SpotNoticesFailed({ reason: `instance metadata ${path} answered ${JSON.stringify(text.value)}: ${error.message}`, retryable: false }))
    )
    return Option.some(decoded)
  })

export const makeImdsSpotNotices = (metadata: InstanceMetadataOptions = {}) =>
  SpotNotices.of({
    current: Effect.gen(function*() {
      const interruption = yield* readItem(instanceActionPath, decodeInstanceAction, metadata)
      if (Option.isSome(interruption)) {
        const { action, time } = interruption.value
        return Option.some<SpotNotice>({ _tag: "SpotInterruption", action, at: DateTime.toEpochMillis(time) })
      }
      const rebalance = yield* readItem(rebalancePath, decodeRebalance, metadata)
      return Option.map(rebalance, ({ noticeTime }): SpotNotice => ({ _tag: "RebalanceRecommendation", noticedAt: DateTime.toEpochMillis(noticeTime) }))
    }).pipe(Effect.withSpan("SpotNotices.current"))
  })

/** SpotNotices of this EC2 instance, asked of IMDS at `metadata.baseUrl` (default 169.254.169.254). */
export const imdsSpotNoticesLayer = (metadata: InstanceMetadataOptions = {}) => Layer.succeed(SpotNotices, makeImdsSpotNotices(metadata))
