/**
 * Upload slots: URLs a client PUTs a source to, straight into storage, each bound to the exact
 * byte size and a short expiry. On AWS S3 presigned URLs; on one machine URLs signed by
 * `vidpipe serve`. Sources up to a threshold go in one PUT (`create`); larger ones as a multipart
 * upload under S3's rules (domain/Multipart.ts): started once, part URLs signed on demand, each
 * for one part's exact length, then completed with the parts' ETags.
 */
import type { Effect } from "effect"
import { Context } from "effect"
import type { PartsInFlight, PartsRejected, UploadFailed, UploadNotFound } from "../domain/Errors.ts"
import type { PartReceipt, StoredPart } from "../domain/Multipart.ts"

export interface UploadSlot {
  readonly url: string
  readonly method: "PUT"
  /** Headers the client must send as they are (the size is part of the signature). */
  readonly headers: Readonly<Record<string, string>>
  /** Epoch milliseconds after which an upload may no longer start. */
  readonly expiresAt: number
}

export interface PartSlot extends UploadSlot {
  readonly partNumber: number
}

/** One multipart upload of a job's source. */
export interface MultipartTarget {
  readonly jobId: string
  /** The source's key in the uploads area. */
  readonly key: string
  readonly uploadId: string
}

export interface UploadSlotsShape {
  /** One PUT of exactly `contentLength` bytes (at most 5 GiB, S3's single-PUT limit). */
  readonly create: (input: {
    readonly jobId: string
    readonly key: string
    readonly contentLength: number
    readonly contentType?: string | undefined
  }) => Effect.Effect<UploadSlot>
  /** Starts a multipart upload of the source at `key`; its id names it in every later call. */
  readonly startMultipart: (input: {
    readonly jobId: string
    readonly key: string
    readonly contentType?: string | undefined
  }) => Effect.Effect<string, UploadFailed>
  /** A URL per part, each signed over that part's number and exact length. */
  readonly signParts: (
    target: MultipartTarget,
    parts: ReadonlyArray<{ readonly partNumber: number; readonly contentLength: number }>
  ) => Effect.Effect<ReadonlyArray<PartSlot>, UploadFailed>
  /** The parts stored so far, by part number (what a resuming client need not send again). */
  readonly listParts: (target: MultipartTarget) => Effect.Effect<ReadonlyArray<StoredPart>, UploadFailed | UploadNotFound>
  /**
   * Joins the parts, in order, into the source object; nothing appears at `key` unless this
   * succeeds. PartsInFlight: a part of this upload is still being received (serve only).
   */
  readonly completeMultipart: (target: MultipartTarget, parts: ReadonlyArray<PartReceipt>) => Effect.Effect<void, UploadFailed | UploadNotFound | PartsRejected | PartsInFlight>
  /** Drops the upload and its parts; one already gone is no error. */
  readonly abortMultipart: (target: MultipartTarget) => Effect.Effect<void, UploadFailed>
}

export class UploadSlots extends Context.Service<UploadSlots, UploadSlotsShape>()("vidpipe/UploadSlots") {}
