/**
 * UploadSlots as S3 presigned PUTs into the uploads bucket. The signature covers the exact
 * `Content-Length` (and `Content-Type` when given), so S3 refuses any other size, and the URL
 * expires `expiresIn` after it is handed out (default 5 seconds: an upload must *start* by then).
 *
 * The presigning client uses `requestChecksumCalculation: "WHEN_REQUIRED"`: with the SDK default
 * ("WHEN_SUPPORTED") the presigner would bake a CRC32 of the *empty* body into the URL
 * (x-amz-checksum-crc32 / x-amz-sdk-checksum-algorithm) and S3 would reject every real upload.
 */
import type { S3ClientConfig } from "@aws-sdk/client-s3"
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { getSignedUrl } from "@aws-sdk/s3-request-presigner"
import { Clock, Duration, Effect, Layer } from "effect"
import type { UploadSlot } from "../../services/UploadSlots.ts"
import { UploadSlots } from "../../services/UploadSlots.ts"

export interface S3UploadSlotsOptions {
  /** The uploads bucket. */
  readonly bucket: string
  /** Default 5 seconds; whole seconds, at least 1. */
  readonly expiresIn?: Duration.Input
  /** Region, credentials, endpoint…; the checksum setting is always overridden as above. */
  readonly clientConfig?: S3ClientConfig
}

export const makeS3UploadSlots = Effect.fnUntraced(function*(options: S3UploadSlotsOptions) {
  const client = yield* Effect.acquireRelease(
    Effect.sync(() =>
      new S3Client({
        ...options.clientConfig,
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED"
      })
    ),
    (made) => Effect.sync(() => made.destroy())
  )
  const expiresIn = Math.max(1, Math.floor(Duration.toSeconds(Duration.fromInputUnsafe(options.expiresIn ?? "5 seconds"))))

  return UploadSlots.of({
    create: ({ contentLength, contentType, key }) =>
      Effect.gen(function*() {
        // X-Amz-Date has whole seconds: the URL is valid until that second plus `expiresIn`.
        const signedAt = Math.floor((yield* Clock.currentTimeMillis) / 1000) * 1000
        const url = yield* Effect.promise(() =>
          getSignedUrl(
            client,
            new PutObjectCommand({
              Bucket: options.bucket,
              Key: key,
              ContentLength: contentLength,
              ...(contentType === undefined ? {} : { ContentType: contentType })
            }),
            {
              expiresIn,
              signingDate: new Date(signedAt),
              // The presigner leaves Content-Type unsigned by default: sign it so S3 holds the client to it.
              ...(contentType === undefined ? {} : { signableHeaders: new Set(["content-type"]) })
            }
          )
        )
        const slot: UploadSlot = {
          url,
          method: "PUT",
          headers: { "Content-Length": String(contentLength), ...(contentType === undefined ? {} : { "Content-Type": contentType }) },
          expiresAt: signedAt + expiresIn * 1000
        }
        return slot
      })
  })
})

export const s3UploadSlotsLayer = (options: S3UploadSlotsOptions) => Layer.effect(UploadSlots, makeS3UploadSlots(options))
