/**
 * The part layout for every declared length stays within S3's multipart limits (at most 10,000
 * parts, parts of 5 MiB to 5 GiB, the last one shorter), and the parts add up to the source.
 */
import { assert, describe, it } from "@effect/vitest"
import { GiB, maxPartBytes, maxParts, maxSourceBytes, MiB, minPartBytes, multipartLayoutFor, partLengthOf } from "../../src/domain/Multipart.ts"

const lengths = [1, 5 * MiB, 64 * MiB + 1, 300 * MiB, 5 * GiB + 1, 156 * GiB, 157 * GiB, 200 * GiB, 1024 ** 4, maxSourceBytes - 1, maxSourceBytes]

describe("multipartLayoutFor", () => {
  for (const length of lengths) {
    it(`${length} bytes: within S3's limits, the parts adding up to the source`, () => {
      const layout = multipartLayoutFor(length)
      assert.isAtMost(layout.partCount, maxParts)
      assert.isAtLeast(layout.partSize, minPartBytes)
      assert.isAtMost(layout.partSize, maxPartBytes)
      const last = partLengthOf(layout, layout.partCount)!
      assert.isAbove(last, 0)
      assert.isAtMost(last, layout.partSize)
      assert.strictEqual(layout.partSize * (layout.partCount - 1) + last, length)
    })
  }

  it("prefers 16 MiB parts, and grows them by whole MiB only when 10,000 would not hold the source", () => {
    assert.strictEqual(multipartLayoutFor(300 * MiB).partSize, 16 * MiB)
    assert.strictEqual(multipartLayoutFor(300 * MiB).partCount, 19)
    assert.strictEqual(multipartLayoutFor(200 * GiB).partSize, 21 * MiB)
    assert.strictEqual(multipartLayoutFor(maxSourceBytes).partSize % MiB, 0)
  })

  it("has no part 0 and none past the last", () => {
    const layout = multipartLayoutFor(300 * MiB)
    assert.isUndefined(partLengthOf(layout, 0))
    assert.isUndefined(partLengthOf(layout, 20))
    assert.isUndefined(partLengthOf(layout, 1.5))
  })
})
