/**
 * Signatures for local upload URLs, with the rules S3 applies to a presigned PUT: the signature
 * covers the method, the object key, the exact Content-Length and the expiry (and, for a part of a
 * multipart upload, the upload id and the part number), so changing any of them (or sending a
 * different number of bytes) voids it.
 */
import { createHmac, timingSafeEqual } from "node:crypto"

export interface SignedFields {
  readonly method: string
  readonly key: string
  readonly contentLength: number
  /** Epoch milliseconds. */
  readonly expires: number
  /** Present for a part of a multipart upload. */
  readonly part?: { readonly uploadId: string; readonly partNumber: number } | undefined
}

const canonical = (fields: SignedFields) =>
  [
    fields.method.toUpperCase(),
    fields.key,
    String(fields.contentLength),
    String(fields.expires),
    ...(fields.part === undefined ? [] : [fields.part.uploadId, String(fields.part.partNumber)])
  ].join("\n")

export const signUpload = (secret: string, fields: SignedFields) => createHmac("sha256", secret).update(canonical(fields)).digest("hex")

export const verifyUpload = (secret: string, fields: SignedFields, signature: string) => {
  const expected = Buffer.from(signUpload(secret, fields), "hex")
  const given = Buffer.from(/^[0-9a-f]{64}$/i.test(signature) ? signature : "", "hex")
  return given.length === expected.length && timingSafeEqual(given, expected)
}
