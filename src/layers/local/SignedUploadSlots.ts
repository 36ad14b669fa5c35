/**
 * UploadSlots for `vidpipe serve`: URLs on this server, signed with a secret the server keeps
 * (see uploadSignature.ts), expiring a few seconds after they are handed out.
 */
import { Clock, Duration, Effect, Layer } from "effect"
import { UploadSlots } from "../../services/UploadSlots.ts"
import { signUpload } from "./uploadSignature.ts"

export interface SignedUploadOptions {
  /** Where clients reach the upload route, e.g. "http://127.0.0.1:8080". */
  readonly publicBase: string
  readonly secret: string
  readonly expiresIn: Duration.Input
}

export const uploadPath = (jobId: string) => `/upload/${encodeURIComponent(jobId)}`

export const signedUploadSlotsLayer = (options: SignedUploadOptions) =>
  Layer.succeed(UploadSlots, UploadSlots.of({
    create: ({ contentLength, jobId, key }) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const expires = now + Duration.toMillis(Duration.fromInputUnsafe(options.expiresIn))
        const signature = signUpload(options.secret, { method: "PUT", key, contentLength, expires })
        return {
          url: `${options.publicBase}${uploadPath(jobId)}?expires=${expires}&signature=${signature}`,
          method: "PUT" as const,
          headers: { "Content-Length": String(contentLength) },
          expiresAt: expires
        }
      })
  }))
