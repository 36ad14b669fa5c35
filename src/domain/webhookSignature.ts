/**
 * The signature on every webhook delivery, in the style of Stripe's: the `Vidpipe-Signature`
 * header is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, with one `v1` per secret in
 * use (two while a rotated-out secret is in its grace period). Signing the timestamp with the body
 * lets a receiver refuse an old delivery replayed at it; the README's snippet verifies it.
 */
import { createHmac } from "node:crypto"

export const signatureHeaderName = "vidpipe-signature"

export const signatureHeader = (secrets: ReadonlyArray<string>, timestampSeconds: number, body: string) =>
  [`t=${timestampSeconds}`, ...secrets.map((secret) => `v1=${createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex")}`)].join(",")
