/**
 * UploadSlots as S3 presigned PUTs into the uploads bucket. The signature covers the exact
 * `Content-Length` (and `Content-Type` when given), so S3 refuses any other size, and the URL
 * expires `expiresIn` after it is handed out (default 5 seconds: an upload must *start* by then).
 *
 * The presigning client uses `requestChecksumCalculation: "WHEN_REQUIRED"`: with the SDK default
 * ("WHEN_SUPPORTED") the presigner would bake a CRC32 of the *empty* body into the URL
 * (x-amz-checksum-crc32 / x-amz-sdk-checksum-algorithm) and S3 would reject every real upload.
 *
 * Sources above S3's single-PUT limit go as a multipart upload (S3 API Reference):
 * CreateMultipartUpload names the upload ("This upload ID is used to associate all of the parts
 * in the specific multipart upload"), each part is an UploadPart PUT presigned like the single PUT
 * (its number, the upload id and its exact Content-Length signed, the same expiry), and
 * CompleteMultipartUpload joins the parts listed with their ETags ("For each part in the list,
 * you must provide the PartNumber value and the ETag value that are returned after that part was
 * uploaded"); until then nothing exists at the key. Permissions (S3 User Guide, "Multipart upload
 * API and permissions"): creating, uploading parts and completing need s3:PutObject on the object,
 * aborting s3:AbortMultipartUpload, listing parts s3:ListMultipartUploadParts.
 */
import type { S3ClientConfig } from "@aws-sdk/client-s3"
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand
} from "@aws-sdk/client-s3"
import { getSignedUrl } from "@aws-sdk/s3-request-presigner"
import { Clock, Duration, Effect, Layer } from "effect"
import { PartsRejected, UploadFailed, UploadNotFound } from "../../domain/Errors.ts"
import type { StoredPart } from "../../domain/Multipart.ts"
import { maxPartBytes, maxParts } from "../../domain/Multipart.ts"
import type { MultipartTarget, PartSlot, UploadSlot } from "../../services/UploadSlots.ts"
import { UploadSlots } from "../../services/UploadSlots.ts"
import { awsCall, describeAwsError } from "./errors.ts"

export interface S3UploadSlotsOptions {
  /** The uploads bucket. */
  readonly bucket: string
  /** Default 5 seconds; whole seconds, at least 1. */
  readonly expiresIn?: Duration.Input
  /** Region, credentials, endpoint…; the checksum setting is always overridden as above. */
  readonly clientConfig?: S3ClientConfig
  /** Per S3 request (CreateMultipartUpload, ListParts, AbortMultipartUpload). Default 30 seconds. */
  readonly callTimeout?: Duration.Input
  /**
   * For CompleteMultipartUpload: "The processing of a CompleteMultipartUpload request could take
   * several minutes to finalize" (S3 API Reference). Default 5 minutes.
   */
  readonly completeTimeout?: Duration.Input
}

/** The error code S3 answered with: the SDK names its exceptions after it (NoSuchUpload, InvalidPart…). */
const codeOf = (error: unknown): string => {
  const name = (error as { readonly name?: unknown } | null)?.name
  return typeof name === "string" ? name : ""
}

/** An SDK failure a typed error claimed, carried past `awsCall`'s generic mapping. */
class Claimed<E> {
  readonly error: E
  constructor(error: E) {
    this.error = error
  }
}

type PresignOptions = NonNullable<Parameters<typeof getSignedUrl>[2]>

/**
 * CompleteMultipartUpload's "Special errors" (S3 API Reference), all "400 Bad Request": the part
 * list cannot be assembled as given. EntityTooSmall: "Each part must be at least 5 MB in size,
 * except the last part."; InvalidPart: "One or more of the specified parts could not be found. The
 * part might not have been uploaded, or the specified ETag might not have matched the uploaded
 * part's ETag."; InvalidPartOrder: "The list of parts was not in ascending order."
 */
const partsRejectedCodes = new Set(["EntityTooSmall", "InvalidPart", "InvalidPartOrder"])

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
  const callTimeout: Duration.Input = options.callTimeout ?? "30 seconds"
  const completeTimeout: Duration.Input = options.completeTimeout ?? "5 minutes"
  const bucket = options.bucket

  /**
   * One S3 request as an UploadFailed on failure (the SDK's own classification: throttling, 5xx,
   * timeouts and dropped connections retryable; access denied and other 4xx not); `special` may
   * claim an error for a typed one first.
   */
  const call = <A, E = never>(
    operation: string,
    timeout: Duration.Input,
    run: (abortSignal: AbortSignal) => Promise<A>,
    special?: (error: unknown) => E | undefined
  ): Effect.Effect<A, UploadFailed | E> =>
    awsCall(
      (abortSignal) =>
        special === undefined ? run(abortSignal) : run(abortSignal).catch((error: unknown) => {
          const claimed = special(error)
          if (claimed === undefined) throw error
          return new Claimed(claimed)
        }),
      timeout,
      ({ reason, retryable }) => new UploadFailed({ operation, reason, retryable })
    ).pipe(Effect.flatMap((result) => (result instanceof Claimed ? Effect.fail(result.error as E) : Effect.succeed(result))))

  /**
   * "NoSuchUpload: The specified multipart upload does not exist. The upload ID might be invalid,
   * or the multipart upload might have been aborted or completed." (404, S3 API Reference).
   */
  const noSuchUpload = (uploadId: string) => (error: unknown) => codeOf(error) === "NoSuchUpload" ? new UploadNotFound({ uploadId }) : undefined

  /**
   * A presigned PUT: `sign` presigns a command whose input carries `ContentLength`, which the SDK
   * sends as the Content-Length header and the presigner signs (it is listed in
   * X-Amz-SignedHeaders), so S3 refuses a body of any other length (SignatureDoesNotMatch).
   * X-Amz-Expires is the validity in seconds counted from X-Amz-Date (S3 API Reference,
   * "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)"), and X-Amz-Date
   * has whole seconds: signed at `signedAt` (a whole second), the URL is valid until `expiresAt`.
   */
  const presign = (
    sign: (presigning: PresignOptions) => Promise<string>,
    signedAt: number,
    contentLength: number,
    contentType: string | undefined
  ): Effect.Effect<UploadSlot, UploadFailed> =>
    Effect.tryPromise({
      try: () =>
        sign({
          expiresIn,
          signingDate: new Date(signedAt),
          // The presigner leaves Content-Type unsigned by default: sign it so S3 holds the client to it.
          ...(contentType === undefined ? {} : { signableHeaders: new Set(["content-type"]) })
        }),
      catch: (error) => new UploadFailed({ operation: "sign", ...describeAwsError(error) })
    }).pipe(Effect.map((url): UploadSlot => ({
      url,
      method: "PUT",
      headers: { "Content-Length": String(contentLength), ...(contentType === undefined ? {} : { "Content-Type": contentType }) },
      expiresAt: signedAt + expiresIn * 1000
    })))

  const signedNow = Effect.map(Clock.currentTimeMillis, (now) => Math.floor(now / 1000) * 1000)

  return UploadSlots.of({
    create: ({ contentLength, contentType, key }) =>
      Effect.gen(function*() {
        const command = new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          ContentLength: contentLength,
          ...(contentType === undefined ? {} : { ContentType: contentType })
        })
        // The contract has no error for a single slot: a signing failure (no credentials) is a defect.
        return yield* Effect.orDie(presign((presigning) => getSignedUrl(client, command, presigning), yield* signedNow, contentLength, contentType))
      }),

    startMultipart: Effect.fn("UploadSlots.startMultipart")(function*({ contentType, key }) {
      // The content type is fixed here, for the object the parts will make.
      const created = yield* call("startMultipart", callTimeout, (abortSignal) =>
        client.send(
          new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...(contentType === undefined ? {} : { ContentType: contentType }) }),
          { abortSignal }
        ))
      if (created.UploadId === undefined || created.UploadId === "") {
        return yield* new UploadFailed({ operation: "startMultipart", reason: "S3 answered without an UploadId", retryable: true })
      }
      return created.UploadId
    }),

    signParts: Effect.fn("UploadSlots.signParts")(function*(target: MultipartTarget, parts) {
      // "Part numbers 1 to 10,000 (inclusive); Part size 5 MiB to 5 GiB" (S3 multipart upload
      // limits); the last part may be shorter, so only the upper bound is checked here.
      for (const part of parts) {
        if (!Number.isInteger(part.partNumber) || part.partNumber < 1 || part.partNumber > maxParts) {
          return yield* new UploadFailed({ operation: "signParts", reason: `part number ${part.partNumber} is not 1 to ${maxParts}`, retryable: false })
        }
        if (!Number.isInteger(part.contentLength) || part.contentLength < 0 || part.contentLength > maxPartBytes) {
          return yield* new UploadFailed({ operation: "signParts", reason: `part ${part.partNumber}: ${part.contentLength} is not a part length`, retryable: false })
        }
      }
      const signedAt = yield* signedNow
      return yield* Effect.forEach(parts, ({ contentLength, partNumber }) =>
        presign(
          (presigning) =>
            getSignedUrl(
              client,
              new UploadPartCommand({ Bucket: bucket, Key: target.key, UploadId: target.uploadId, PartNumber: partNumber, ContentLength: contentLength }),
              presigning
            ),
          signedAt,
          contentLength,
          undefined
        ).pipe(Effect.map((slot): PartSlot => ({ ...slot, partNumber }))))
    }),

    listParts: Effect.fn("UploadSlots.listParts")(function*(target: MultipartTarget) {
      // "The ListParts request returns a maximum of 1,000 uploaded parts. … If your multipart upload
      // consists of more than 1,000 parts, the response returns an IsTruncated field with the value
      // of true, and a NextPartNumberMarker element. To list remaining uploaded parts, in subsequent
      // ListParts requests, include the part-number-marker query string parameter and set its value
      // to the NextPartNumberMarker field value from the previous response." (S3 API Reference)
      const stored: Array<StoredPart> = []
      let marker: string | undefined
      do {
        const page = yield* call(
          "listParts",
          callTimeout,
          (abortSignal) =>
            client.send(
              new ListPartsCommand({ Bucket: bucket, Key: target.key, UploadId: target.uploadId, ...(marker === undefined ? {} : { PartNumberMarker: marker }) }),
              { abortSignal }
            ),
          noSuchUpload(target.uploadId)
        )
        for (const part of page.Parts ?? []) {
          if (part.PartNumber !== undefined && part.ETag !== undefined) {
            stored.push({ partNumber: part.PartNumber, size: part.Size ?? 0, etag: part.ETag })
          }
        }
        const next = page.IsTruncated ? page.NextPartNumberMarker : undefined
        if (next !== undefined && next === marker) {
          return yield* new UploadFailed({ operation: "listParts", reason: `ListParts repeated the marker ${next}`, retryable: true })
        }
        marker = next
      } while (marker !== undefined)
      return stored
    }),

    completeMultipart: Effect.fn("UploadSlots.completeMultipart")(function*(target: MultipartTarget, parts) {
      // S3 answers an empty list with MalformedXML; it is the caller's list that is wrong.
      if (parts.length === 0) return yield* new PartsRejected({ field: "parts", reason: "no parts listed" })
      // "A request could fail after the initial 200 OK response has been sent. This means that a
      // 200 OK response can contain either a success or an error. … If you use Amazon Web Services
      // SDKs, SDKs handle this condition. The SDKs detect the embedded error and apply error
      // handling per your configuration settings (including automatically retrying the request as
      // appropriate). If the condition persists, the SDKs throw an exception" (S3 API Reference,
      // CompleteMultipartUpload). SDK v3 does so in its throw200Exceptions middleware: a 2xx whose
      // body ends in `</Error>`, or is empty, becomes a 503 and is thrown under the embedded code
      // (empty: InternalError). So a resolved send is a completed object, and an embedded error
      // reaches the same mapping as any other: a 5xx, retryable, unless its code is one below.
      yield* call(
        "completeMultipart",
        completeTimeout,
        (abortSignal) =>
          client.send(
            new CompleteMultipartUploadCommand({
              Bucket: bucket,
              Key: target.key,
              UploadId: target.uploadId,
              // "S3 removes all double quotes when comparing" ETags: they are passed as given.
              MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })) }
            }),
            { abortSignal }
          ),
        (error) =>
          noSuchUpload(target.uploadId)(error) ??
            (partsRejectedCodes.has(codeOf(error)) ? new PartsRejected({ field: "parts", reason: describeAwsError(error).reason }) : undefined)
      )
    }),

    abortMultipart: Effect.fn("UploadSlots.abortMultipart")(function*(target: MultipartTarget) {
      // NoSuchUpload is "aborted or completed" already: nothing is left to drop. "If any part uploads
      // are currently in progress, those part uploads might or might not succeed. As a result, it
      // might be necessary to abort a given multipart upload multiple times" (S3 API Reference,
      // AbortMultipartUpload): so a second abort must succeed too; the lifecycle rule (infra/storage.ts)
      // removes anything left after a day.
      yield* call("abortMultipart", callTimeout, (abortSignal) =>
        client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: target.key, UploadId: target.uploadId }), { abortSignal }).then(
          () => undefined,
          (error: unknown) => {
            if (codeOf(error) === "NoSuchUpload") return undefined
            throw error
          }
        ))
    })
  })
})

export const s3UploadSlotsLayer = (options: S3UploadSlotsOptions) => Layer.effect(UploadSlots, makeS3UploadSlots(options))
