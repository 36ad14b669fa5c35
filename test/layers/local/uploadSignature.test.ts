/**
 * Local upload signatures (src/layers/local/uploadSignature.ts): like S3's presigned PUT, the
 * signature binds the method, the key, the exact Content-Length and the expiry, under a secret.
 */
import { createHmac } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import type { SignedFields } from "../../../src/layers/local/uploadSignature.ts"
import { signUpload, verifyUpload } from "../../../src/layers/local/uploadSignature.ts"

const secret = "local-upload-secret"
const fields: SignedFields = { method: "PUT", key: "uploads/j-1/source.mp4", contentLength: 1234, expires: 1_733_400_005_000 }

describe("upload signatures", () => {
  it("is HMAC-SHA256 over method, key, length and expiry, one per line, as lowercase hex", () => {
    const expected = createHmac("sha256", secret).update("PUT\nuploads/j-1/source.mp4\n1234\n1733400005000").digest("hex")
    expect(signUpload(secret, fields)).toBe(expected)
    expect(signUpload(secret, { ...fields, method: "put" })).toBe(expected)
  })

  it("verifies its own signature, in either letter case", () => {
    const signature = signUpload(secret, fields)
    expect(verifyUpload(secret, fields, signature)).toBe(true)
    expect(verifyUpload(secret, fields, signature.toUpperCase())).toBe(true)
  })

  it("refuses the signature when any signed field, or the secret, differs", () => {
    const signature = signUpload(secret, fields)
    expect(verifyUpload(secret, { ...fields, method: "POST" }, signature)).toBe(false)
    expect(verifyUpload(secret, { ...fields, key: "uploads/j-2/source.mp4" }, signature)).toBe(false)
    expect(verifyUpload(secret, { ...fields, contentLength: 1235 }, signature)).toBe(false)
    expect(verifyUpload(secret, { ...fields, expires: fields.expires + 1 }, signature)).toBe(false)
    expect(verifyUpload("another-secret", fields, signature)).toBe(false)
  })

  it("refuses what is not a signature: empty, short, long, not hex", () => {
    const signature = signUpload(secret, fields)
    for (const given of ["", signature.slice(0, 62), `${signature}00`, `${signature.slice(0, 63)}g`, ` ${signature.slice(1)}`]) {
      expect(verifyUpload(secret, fields, given), JSON.stringify(given)).toBe(false)
    }
  })
})
