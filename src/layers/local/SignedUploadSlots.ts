/**
 * UploadSlots for `vidpipe serve`: URLs on this server, signed with a secret the server keeps
 * (see uploadSignature.ts), expiring a few seconds after they are handed out. A multipart upload's
 * parts go to `PUT /upload/{jobId}/parts/{partNumber}` and are kept in storage (localMultipart.ts).
 */
import { randomBytes } from "node:crypto"
import { Clock, Duration, Effect, Layer } from "effect"
import { Storage } from "../../services/Storage.ts"
import { UploadSlots } from "../../services/UploadSlots.ts"
import { makeLocalMultipart } from "./localMultipart.ts"
import { signUpload } from "./uploadSignature.ts"

export interface SignedUploadOptions {
  /** Where clients reach the upload route, e.g. "http://127.0.0.1:8080". */
  readonly publicBase: string
  readonly secret: string
  readonly expiresIn: Duration.Input
}

export const uploadPath = (jobId: string) => `/upload/${encodeURIComponent(jobId)}`
export const partUploadPath = (jobId: string, partNumber: number) => `${uploadPath(jobId)}/parts/${partNumber}`

/** Upload ids as unguessable as job ids: 128 random bits. */
const newUploadId = () => randomBytes(16).toString("hex")

export const signedUploadSlotsLayer = (options: SignedUploadOptions) =>
  Layer.effect(
    UploadSlots,
    Effect.gen(function*() {
      const multipart = makeLocalMultipart(yield* Storage)
      const expiryOf = (now: number) => now + Duration.toMillis(Duration.fromInputUnsafe(options.expiresIn))
      return UploadSlots.of({
        create: ({ contentLength, jobId, key }) =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            const expires = expiryOf(now)
            const signature = signUpload(options.secret, { method: "PUT", key, contentLength, expires })
            return {
              url: `${options.publicBase}${uploadPath(jobId)}?expires=${expires}&signature=${signature}`,
              method: "PUT" as const,
              headers: { "Content-Length": String(contentLength) },
              expiresAt: expires
            }
          }),
        startMultipart: ({ jobId, key }) => {
          const uploadId = newUploadId()
          return Effect.as(multipart.start(jobId, key, uploadId), uploadId)
        },
        signParts: (target, parts) =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            const expires = expiryOf(now)
            return parts.map(({ contentLength, partNumber }) => {
              const part = { uploadId: target.uploadId, partNumber }
              const signature = signUpload(options.secret, { method: "PUT", key: target.key, contentLength, expires, part })
              return {
                partNumber,
                url: `${options.publicBase}${partUploadPath(target.jobId, partNumber)}?uploadId=${target.uploadId}&expires=${expires}&signature=${signature}`,
                method: "PUT" as const,
                headers: { "Content-Length": String(contentLength) },
                expiresAt: expires
              }
            })
          }),
        listParts: multipart.listParts,
        completeMultipart: multipart.complete,
        abortMultipart: multipart.abort
      })
    })
  )
