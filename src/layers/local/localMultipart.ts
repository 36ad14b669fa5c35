/**
 * Multipart uploads on `vidpipe serve`, kept in storage beside the source with S3's rules: an
 * upload is a marker object; each part is stored whole (streamed, never held in memory) with its
 * ETag in a small object beside it, written after the part so that a part without one was cut
 * short and does not count; completing joins the parts, in order, into the source object
 * (create-if-absent) and then drops them.
 *
 * The ETag is 128 random bits drawn for each stored part, not an MD5 of its bytes: S3 documents an
 * ETag as a tag that changes with the content and "may or may not be an MD5 digest of the object
 * data" (API reference, Object: ETag), and what completing needs is only that a part sent again
 * gets a new one. Hashing every byte cost more CPU than receiving it.
 *
 *   uploads/<jobId>/.parts/<uploadId>/upload         the marker: { key, startedAt }
 *   uploads/<jobId>/.parts/<uploadId>/00001          part 1
 *   uploads/<jobId>/.parts/<uploadId>/00001.etag     its ETag
 *
 * `.parts` cannot clash with a source: stored file names never start with a dot (safeFileName).
 */
import { randomBytes } from "node:crypto"
import { Clock, Effect, Option, Schema, Stream } from "effect"
import type { StorageFailed } from "../../domain/Errors.ts"
import { PartsRejected, UploadFailed, UploadNotFound } from "../../domain/Errors.ts"
import type { PartReceipt, StoredPart } from "../../domain/Multipart.ts"
import { minPartBytes, sameEtag } from "../../domain/Multipart.ts"
import type { StorageShape } from "../../services/Storage.ts"
import type { MultipartTarget } from "../../services/UploadSlots.ts"

export const partsPrefixOf = (jobId: string, uploadId: string) => `${jobId}/.parts/${uploadId}/`

const markerKeyOf = (prefix: string) => `${prefix}upload`
const partKeyOf = (prefix: string, partNumber: number) => `${prefix}${String(partNumber).padStart(5, "0")}`
const etagKeyOf = (prefix: string, partNumber: number) => `${partKeyOf(prefix, partNumber)}.etag`
const partKeyPattern = /\/(\d{5})$/

const Marker = Schema.fromJsonString(Schema.Struct({ key: Schema.String, startedAt: Schema.Number }))

const failed = (operation: string) => (error: StorageFailed) =>
  new UploadFailed({ operation, reason: error.message, retryable: error.retryable })

/** The upload's marker, or UploadNotFound when it was never started, was completed or aborted. */
const requireMarker = (storage: StorageShape, target: MultipartTarget, operation: string) =>
  storage.get("uploads", markerKeyOf(partsPrefixOf(target.jobId, target.uploadId))).pipe(
    Effect.catchTags({
      ObjectNotFound: () => Effect.fail(new UploadNotFound({ uploadId: target.uploadId })),
      StorageFailed: (error) => Effect.fail(failed(operation)(error))
    }),
    Effect.flatMap((bytes) =>
      Schema.decodeUnknownEffect(Marker)(new TextDecoder().decode(bytes)).pipe(
        Effect.mapError(() => new UploadFailed({ operation, reason: "the upload's marker is unreadable", retryable: false }))
      )
    ),
    Effect.filterOrFail((marker) => marker.key === target.key, () => new UploadNotFound({ uploadId: target.uploadId }))
  )

export const makeLocalMultipart = (storage: StorageShape) => {
  const start = Effect.fn("UploadSlots.startMultipart")(function*(jobId: string, key: string, uploadId: string) {
    const startedAt = yield* Clock.currentTimeMillis
    yield* storage.put("uploads", markerKeyOf(partsPrefixOf(jobId, uploadId)), JSON.stringify({ key, startedAt })).pipe(
      Effect.mapError((error) => (error._tag === "StorageFailed" ? failed("startMultipart")(error) : new UploadFailed({ operation: "startMultipart", reason: error.message, retryable: false })))
    )
  })

  const listParts = Effect.fn("UploadSlots.listParts")(function*(target: MultipartTarget) {
    yield* requireMarker(storage, target, "listParts")
    const prefix = partsPrefixOf(target.jobId, target.uploadId)
    const objects = yield* storage.list("uploads", prefix).pipe(Effect.mapError(failed("listParts")))
    const parts = yield* Effect.forEach(objects, (object) => {
      const number = partKeyPattern.exec(object.key)?.[1]
      if (number === undefined) return Effect.succeed(Option.none<StoredPart>())
      const partNumber = Number(number)
      return storage.get("uploads", etagKeyOf(prefix, partNumber)).pipe(
        Effect.map((etag) => Option.some<StoredPart>({ partNumber, size: object.size, etag: `"${new TextDecoder().decode(etag)}"` })),
        // A part whose ETag was never written was cut short: not stored, as far as the client goes.
        Effect.catchTag("ObjectNotFound", () => Effect.succeed(Option.none<StoredPart>())),
        Effect.mapError(failed("listParts"))
      )
    }, { concurrency: 8 })
    return parts.flatMap((part) => Option.toArray(part)).toSorted((a, b) => a.partNumber - b.partNumber)
  })

  /**
   * Stores one part of exactly `contentLength` bytes (the route checked the signature and the
   * length) and answers its ETag. A part sent again replaces the earlier one, as on S3.
   */
  const storePart = <E>(target: MultipartTarget, partNumber: number, contentLength: number, body: Stream.Stream<Uint8Array, E>) =>
    Effect.gen(function*() {
      yield* requireMarker(storage, target, "uploadPart")
      const prefix = partsPrefixOf(target.jobId, target.uploadId)
      // The old ETag goes first: until the new one is written, the part counts as not stored.
      yield* storage.delete("uploads", etagKeyOf(prefix, partNumber)).pipe(Effect.mapError(failed("uploadPart")))
      yield* storage.putStream("uploads", partKeyOf(prefix, partNumber), body, { contentLength })
      const etag = randomBytes(16).toString("hex")
      yield* storage.put("uploads", etagKeyOf(prefix, partNumber), etag).pipe(Effect.mapError((error) => new UploadFailed({ operation: "uploadPart", reason: error.message, retryable: true })))
      return `"${etag}"`
    })

  /**
   * S3's checks on CompleteMultipartUpload ("Errors": InvalidPart, InvalidPartOrder,
   * EntityTooSmall), then the parts streamed into the source in order.
   */
  const complete = Effect.fn("UploadSlots.completeMultipart")(function*(target: MultipartTarget, receipts: ReadonlyArray<PartReceipt>) {
    const stored = new Map((yield* listParts(target)).map((part) => [part.partNumber, part]))
    for (const [i, receipt] of receipts.entries()) {
      const previous = receipts[i - 1]
      if (previous !== undefined && receipt.partNumber <= previous.partNumber) {
        return yield* new PartsRejected({ field: `parts[${i}].partNumber`, reason: "InvalidPartOrder: the list of parts was not in ascending order" })
      }
      const part = stored.get(receipt.partNumber)
      if (part === undefined || !sameEtag(part.etag, receipt.etag)) {
        return yield* new PartsRejected({ field: `parts[${i}]`, reason: `InvalidPart: part ${receipt.partNumber} was not found or its ETag does not match` })
      }
      if (i < receipts.length - 1 && part.size < minPartBytes) {
        return yield* new PartsRejected({ field: `parts[${i}]`, reason: `EntityTooSmall: part ${receipt.partNumber} is ${part.size} bytes; every part but the last must be at least ${minPartBytes}` })
      }
    }
    const prefix = partsPrefixOf(target.jobId, target.uploadId)
    const parts = receipts.map((receipt) => partKeyOf(prefix, receipt.partNumber))
    yield* storage.compose("uploads", target.key, parts, { ifNoneMatch: true }).pipe(
      Effect.catchTags({
        // Another completion of the same upload got there first: this one no longer exists.
        ObjectExists: () => Effect.fail(new UploadNotFound({ uploadId: target.uploadId })),
        ObjectNotFound: (error) => Effect.fail(new PartsRejected({ field: "parts", reason: `a part disappeared while joining: ${error.message}` })),
        StorageFailed: (error) => Effect.fail(failed("completeMultipart")(error))
      })
    )
    yield* storage.deletePrefix("uploads", prefix).pipe(
      Effect.catch((error) => Effect.logWarning(`upload ${target.uploadId}: completed, but its parts were not all removed: ${error.message}`))
    )
  })

  const abort = Effect.fn("UploadSlots.abortMultipart")(function*(target: MultipartTarget) {
    yield* storage.deletePrefix("uploads", partsPrefixOf(target.jobId, target.uploadId)).pipe(Effect.mapError(failed("abortMultipart")))
  })

  return { start, listParts, storePart, complete, abort }
}
