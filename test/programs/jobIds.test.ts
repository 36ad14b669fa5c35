/**
 * Job ids are the only thing between the public and a video's delivery path (`/cdn/<jobId>/…`,
 * CloudFront on AWS): each carries 128 bits from the cryptographic source, in a URL-safe form, and
 * the delivery route lists nothing.
 */
import * as crypto from "node:crypto"
import { describe, expect, it } from "vitest"
import { jobIdBytes, jobIdRandomness, newJobId } from "../../src/programs/jobRecords.ts"

describe("job ids", () => {
  it("draw 16 bytes (128 bits) from node:crypto's randomBytes, and show every one of them", () => {
    expect(jobIdRandomness).toBe(crypto.randomBytes)
    expect(jobIdBytes * 8).toBeGreaterThanOrEqual(128)
    const asked: Array<number> = []
    const known = Uint8Array.from({ length: jobIdBytes }, (_, i) => (i * 37 + 11) & 0xff)
    const id = newJobId((size) => {
      asked.push(size)
      return known.slice(0, size)
    })
    expect(asked).toEqual([16])
    // Nothing of the randomness is dropped or folded: the id is those bytes, in hex.
    expect(Buffer.from(id, "hex")).toEqual(Buffer.from(known))
  })

  it("are distinct and URL-safe over 1,000 draws", () => {
    const ids = Array.from({ length: 1000 }, () => newJobId())
    expect(new Set(ids).size).toBe(1000)
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{32}$/)
      expect(encodeURIComponent(id)).toBe(id)
    }
  })
})
