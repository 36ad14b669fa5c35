/**
 * What EC2 has announced about taking this Spot instance back: an interruption at a known time,
 * a rebalance recommendation (elevated risk, no time yet), or nothing. The instance metadata on
 * AWS (layers/aws/ImdsSpotNotices.ts); nothing ever on one machine (layers/local/NoSpotNotices.ts).
 */
import type { Effect, Option } from "effect"
import { Context, Schema } from "effect"
import type { SpotNotice } from "../domain/SpotNotice.ts"

export class SpotNoticesFailed extends Schema.TaggedError<SpotNoticesFailed>()("SpotNoticesFailed", {
  reason: Schema.String,
  retryable: Schema.Boolean
}) {
  override get message() {
    return `spot notices: ${this.reason}`
  }
}

export interface SpotNoticesShape {
  /** The notice in force now. An interruption wins over a rebalance recommendation posted with it. */
  readonly current: Effect.Effect<Option.Option<SpotNotice>, SpotNoticesFailed>
}

export class SpotNotices extends Context.Service<SpotNotices, SpotNoticesShape>()("vidpipe/SpotNotices") {}
