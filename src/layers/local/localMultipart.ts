/**
 * Multipart uploads on `vidpipe serve`, kept in storage beside the source with S3's rules: an
 * upload is a marker object; each part's bytes are stored (streamed, never held in memory) and
 * then a small record of its ETag and size, written after the bytes so that a part without one
 * was cut short and does not count; completing checks the parts and publishes the source
 * (create-if-absent), then drops what is left.
 *
 * Where storage writes in place (folder storage, `Storage.inPlace`), every part is written at its
 * offset in one file, and completing moves that file into place: an upload's bytes are written
 * once, and completing a source of gigabytes takes no longer than a small one. Elsewhere each part
 * is an object of its own and completing joins them (`Storage.compose`).
 *
 * The ETag is 128 random bits drawn for each stored part, not an MD5 of its bytes: S3 documents an
 * ETag as a tag that changes with the content and "may or may not be an MD5 digest of the object
 * data" (API reference, Object: ETag), and what completing needs is only that a part sent again
 * gets a new one. Hashing every byte cost more CPU than receiving it.
 *
 *   uploads/<jobId>/.parts/<uploadId>/upload         the marker: { key, startedAt }
 *   uploads/<jobId>/.parts/<uploadId>/assembly       in place: the source being assembled
 *   uploads/<jobId>/.parts/<uploadId>/00001          otherwise: part 1
 *   uploads/<jobId>/.parts/<uploadId>/00001.etag     part 1's record: { etag, size }
 *
 * `.parts` cannot clash with a source: stored file names never start with a dot (safeFileName).
 */
import { randomBytes } from "node:crypto"
import { Clock, Effect, Option, Schema, Stream } from "effect"
import type { ObjectExists, ObjectNotFound, StorageFailed } from "../../domain/Errors.ts"
import { PartsInFlight, PartsRejected, UploadFailed, UploadNotFound } from "../../domain/Errors.ts"
import type { PartReceipt, StoredPart } from "../../domain/Multipart.ts"
import { minPartBytes, sameEtag } from "../../domain/Multipart.ts"
import type { StorageShape } from "../../services/Storage.ts"
import type { MultipartTarget } from "../../services/UploadSlots.ts"

export const partsPrefixOf = (jobId: string, uploadId: string) => `${jobId}/.parts/${uploadId}/`

const markerKeyOf = (prefix: string) => `${prefix}upload`
const assemblyKeyOf = (prefix: string) => `${prefix}assembly`
const partKeyOf = (prefix: string, partNumber: number) => `${prefix}${String(partNumber).padStart(5, "0")}`
const recordKeyOf = (prefix: string, partNumber: number) => `${partKeyOf(prefix, partNumber)}.etag`
const recordKeyPattern = /\/(\d{5})\.etag$/

const Marker = Schema.fromJsonString(Schema.Struct({ key: Schema.String, startedAt: Schema.Number }))
const PartRecord = Schema.fromJsonString(Schema.Struct({ etag: Schema.String, size: Schema.Int }))

/**
 * Parts being written in place, per upload, in this process, and the uploads being published. A
 * part's bytes written into the file after it was moved into place would change a published
 * source, so the two never overlap: completing refuses while a part is being received, and a
 * part refuses once completing has begun. Each is checked and set in one synchronous step.
 * Several `serve` processes sharing one folder do not see each other's; see the README.
 */
const partsInFlight = new Map<string, number>()
const publishing = new Set<string>()

const enterPart = (uploadId: string): Effect.Effect<void, UploadNotFound> =>
  Effect.suspend((): Effect.Effect<void, UploadNotFound> => {
    if (publishing.has(uploadId)) return Effect.fail(new UploadNotFound({ uploadId }))
    partsInFlight.set(uploadId, (partsInFlight.get(uploadId) ?? 0) + 1)
    return Effect.void
  })

const leavePart = (uploadId: string) =>
  Effect.sync(() => {
    const left = (partsInFlight.get(uploadId) ?? 1) - 1
    if (left > 0) partsInFlight.set(uploadId, left)
    else partsInFlight.delete(uploadId)
  })

const beginPublishing = (uploadId: string): Effect.Effect<void, PartsInFlight | UploadNotFound> =>
  Effect.suspend((): Effect.Effect<void, PartsInFlight | UploadNotFound> => {
    const receiving = partsInFlight.get(uploadId) ?? 0
    if (receiving > 0) return Effect.fail(new PartsInFlight({ uploadId, count: receiving }))
    if (publishing.has(uploadId)) return Effect.fail(new UploadNotFound({ uploadId }))
    publishing.add(uploadId)
    return Effect.void
  })

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
    const prefix = partsPrefixOf(jobId, uploadId)
    if (storage.inPlace !== undefined) yield* storage.inPlace.create("uploads", assemblyKeyOf(prefix)).pipe(Effect.mapError(failed("startMultipart")))
    yield* storage.put("uploads", markerKeyOf(prefix), JSON.stringify({ key, startedAt })).pipe(
      Effect.mapError((error) => (error._tag === "StorageFailed" ? failed("startMultipart")(error) : new UploadFailed({ operation: "startMultipart", reason: error.message, retryable: false })))
    )
  })

  const listParts = Effect.fn("UploadSlots.listParts")(function*(target: MultipartTarget) {
    yield* requireMarker(storage, target, "listParts")
    const prefix = partsPrefixOf(target.jobId, target.uploadId)
    const objects = yield* storage.list("uploads", prefix).pipe(Effect.mapError(failed("listParts")))
    const parts = yield* Effect.forEach(objects, (object) => {
      const number = recordKeyPattern.exec(object.key)?.[1]
      if (number === undefined) return Effect.succeed(Option.none<StoredPart>())
      return storage.get("uploads", object.key).pipe(
        Effect.flatMap((bytes) => Schema.decodeUnknownEffect(PartRecord)(new TextDecoder().decode(bytes))),
        Effect.map((record) => Option.some<StoredPart>({ partNumber: Number(number), size: record.size, etag: `"${record.etag}"` })),
        // A record gone meanwhile (the part is being sent again) or unreadable: not stored, as far as the client goes.
        Effect.catchTags({ ObjectNotFound: () => Effect.succeed(Option.none<StoredPart>()), SchemaError: () => Effect.succeed(Option.none<StoredPart>()) }),
        Effect.mapError(failed("listParts"))
      )
    }, { concurrency: 8 })
    return parts.flatMap((part) => Option.toArray(part)).toSorted((a, b) => a.partNumber - b.partNumber)
  })

  /**
   * Stores one part of exactly `contentLength` bytes, which begins at byte `offset` of the source
   * (the route checked the signature and the length), and answers its ETag. A part sent again
   * replaces the earlier one, as on S3.
   */
  const storePart = <E>(target: MultipartTarget, part: { readonly partNumber: number; readonly offset: number; readonly contentLength: number }, body: Stream.Stream<Uint8Array, E>) => {
    const prefix = partsPrefixOf(target.jobId, target.uploadId)
    const inPlace = storage.inPlace
    const store = Effect.gen(function*() {
      yield* requireMarker(storage, target, "uploadPart")
      // The old record goes first: until the new one is written, the part counts as not stored.
      yield* storage.delete("uploads", recordKeyOf(prefix, part.partNumber)).pipe(Effect.mapError(failed("uploadPart")))
      if (inPlace === undefined) {
        yield* storage.putStream("uploads", partKeyOf(prefix, part.partNumber), body, { contentLength: part.contentLength })
      } else {
        yield* inPlace.writeAt("uploads", assemblyKeyOf(prefix), part.offset, body, { contentLength: part.contentLength }).pipe(
          Effect.catchTag("ObjectNotFound", () => Effect.fail(new UploadNotFound({ uploadId: target.uploadId })))
        )
      }
      const etag = randomBytes(16).toString("hex")
      yield* storage.put("uploads", recordKeyOf(prefix, part.partNumber), JSON.stringify({ etag, size: part.contentLength })).pipe(
        Effect.mapError((error) => new UploadFailed({ operation: "uploadPart", reason: error.message, retryable: true }))
      )
      return `"${etag}"`
    })
    // Written in place, the part is in flight (see partsInFlight) from before its old record goes
    // until its new one is written. A part of its own object is stored atomically, whenever.
    return inPlace === undefined ? store : Effect.acquireUseRelease(enterPart(target.uploadId), () => store, () => leavePart(target.uploadId))
  }

  /**
   * S3's checks on CompleteMultipartUpload ("Errors": InvalidPart, InvalidPartOrder,
   * EntityTooSmall), then the source published: the assembled file moved into place, or the
   * parts joined into it in order.
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
    const inPlace = storage.inPlace
    const publish: Effect.Effect<void, StorageFailed | ObjectExists | ObjectNotFound | PartsInFlight | UploadNotFound> = inPlace === undefined
      ? storage.compose("uploads", target.key, receipts.map((receipt) => partKeyOf(prefix, receipt.partNumber)), { ifNoneMatch: true })
      : Effect.acquireUseRelease(
        beginPublishing(target.uploadId),
        () =>
          inPlace.publish("uploads", assemblyKeyOf(prefix), target.key, { ifNoneMatch: true }).pipe(
            // The assembled file is gone: another completion (or an abort) got there first.
            Effect.catchTag("ObjectNotFound", () => Effect.fail(new UploadNotFound({ uploadId: target.uploadId })))
          ),
        () => Effect.sync(() => publishing.delete(target.uploadId))
      )
    yield* publish.pipe(
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
