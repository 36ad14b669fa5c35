/**
 * SpotNotices over IMDSv2 (layers/aws/ImdsSpotNotices.ts) against the IMDSv2 stand-in: AWS's
 * documented answers decoded, their absence (404) as no notice, and anything else a typed failure.
 */
import { afterAll, afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { instanceActionPath, makeImdsSpotNotices, rebalancePath } from "../../../src/layers/aws/ImdsSpotNotices.ts"
import type { ImdsStandIn } from "../../support/imdsStandIn.ts"
import { startImdsStandIn } from "../../support/imdsStandIn.ts"

let imds: ImdsStandIn

beforeAll(async () => {
  imds = await startImdsStandIn({})
})
afterAll(() => imds.close())
afterEach(() => {
  delete imds.metadata[instanceActionPath]
  delete imds.metadata[rebalancePath]
  imds.acceptTokens = true
})

const current = Effect.suspend(() => makeImdsSpotNotices({ baseUrl: imds.url }).current)

describe("SpotNotices over IMDSv2", () => {
  it.effect("nothing posted (both items 404): no notice", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* current, Option.none())
    }))

  it.effect("AWS's interruption example, decoded with its time", () =>
    Effect.gen(function*() {
      // The user guide's example, spacing included.
      imds.metadata[instanceActionPath] = `{"action": "terminate", "time": "2017-09-18T08:22:00Z"}`
      assert.deepStrictEqual(yield* current, Option.some({ _tag: "SpotInterruption" as const, action: "terminate" as const, at: Date.parse("2017-09-18T08:22:00Z") }))
    }))

  it.effect("a rebalance recommendation alone, and an interruption posted with it wins", () =>
    Effect.gen(function*() {
      imds.metadata[rebalancePath] = `{"noticeTime": "2020-10-27T08:22:00Z"}`
      assert.deepStrictEqual(yield* current, Option.some({ _tag: "RebalanceRecommendation" as const, noticedAt: Date.parse("2020-10-27T08:22:00Z") }))
      imds.metadata[instanceActionPath] = `{"action": "stop", "time": "2020-10-27T08:24:00Z"}`
      assert.strictEqual(Option.getOrThrow(yield* current)._tag, "SpotInterruption")
    }))

  it.effect("an answer of another shape is a SpotNoticesFailed, not a guess", () =>
    Effect.gen(function*() {
      imds.metadata[instanceActionPath] = `{"action": "reboot", "time": "2017-09-18T08:22:00Z"}`
      const unknownAction = yield* Effect.flip(current)
      assert.strictEqual(unknownAction._tag, "SpotNoticesFailed")
      assert.isFalse(unknownAction.retryable)
      imds.metadata[instanceActionPath] = "2017-09-18T08:22:00Z"
      assert.strictEqual((yield* Effect.flip(current))._tag, "SpotNoticesFailed")
    }))

  it.effect("a refused token is a retryable failure", () =>
    Effect.gen(function*() {
      imds.acceptTokens = false
      const refused = yield* Effect.flip(current)
      assert.strictEqual(refused._tag, "SpotNoticesFailed")
      assert.isTrue(refused.retryable)
    }))
})
