/**
 * Signed playback (`VIDPIPE_PLAYBACK=signed`): a job's presentation is served only under a path
 * that carries a short-lived token, `/cdn/_t/<token>/<jobId>/manifest.mpd`. The token is an
 * HMAC-SHA256 over the job id and the expiry, with a secret only the server holds. It sits in the
 * path, not the query string, because players resolve segment URLs relative to the manifest's:
 * every segment request then carries the token too, with no player configuration.
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import type { JobSnapshot } from "../../domain/Job.ts"
import type { JobView } from "../../domain/JobView.ts"
import { toJobView } from "../../domain/JobView.ts"

/** The path segment that introduces a token under the delivery mount. */
export const tokenSegment = "_t"

const mac = (secret: string, jobId: string, expires: number) => createHmac("sha256", secret).update(`${jobId}\n${expires}`).digest("hex")

/** `<expires, epoch ms, base 36>.<hmac hex>`: URL-safe as it is. */
export const signPlayback = (secret: string, jobId: string, expires: number) => `${expires.toString(36)}.${mac(secret, jobId, expires)}`

export type PlaybackCheck = "valid" | "expired" | "invalid"

export const verifyPlayback = (secret: string, jobId: string, token: string, now: number): PlaybackCheck => {
  const match = /^([0-9a-z]{1,12})\.([0-9a-f]{64})$/.exec(token)
  if (match === null) return "invalid"
  const expires = Number.parseInt(match[1]!, 36)
  const given = Buffer.from(match[2]!, "hex")
  const expected = Buffer.from(mac(secret, jobId, expires), "hex")
  if (!timingSafeEqual(given, expected)) return "invalid"
  return now < expires ? "valid" : "expired"
}

/** How the delivery route is reached: by job id alone, or only with a token. */
export type PlaybackAccess =
  | { readonly mode: "public" }
  | { readonly mode: "signed"; readonly secret: string; readonly tokenMillis: number }

/** Where a job's outputs are delivered for a viewer now, and until when (signed access only). */
export const deliveryBaseFor = (access: PlaybackAccess, deliveryBase: string, jobId: string, now: number) => {
  if (access.mode === "public") return { base: deliveryBase }
  const expires = now + access.tokenMillis
  return { base: `${deliveryBase}/${tokenSegment}/${signPlayback(access.secret, jobId, expires)}`, expiresAt: expires }
}

/**
 * A job's view as its owner gets it at `now`: playback linked under `deliveryBase`, with a fresh
 * token when playback is signed. The API's answers and the webhook events' job views both.
 */
export const ownerViewAt = (access: PlaybackAccess, deliveryBase: string) => (job: JobSnapshot, now: number): JobView => {
  const delivery = deliveryBaseFor(access, deliveryBase, job.id, now)
  return toJobView(job, delivery.base, delivery.expiresAt)
}
