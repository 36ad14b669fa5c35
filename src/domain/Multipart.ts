/**
 * Multipart uploads under S3's rules, the same on AWS and on one machine. From S3's "multipart
 * upload limits" (docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html): "Maximum number of
 * parts per upload 10,000; Part numbers 1 to 10,000 (inclusive); Part size 5 MiB to 5 GiB. There is
 * no minimum size limit on the last part of your multipart upload." and "Maximum number of parts
 * returned for a list parts request 1000". A single PUT is at most 5 GiB (S3 user guide, "Uploading
 * objects": "With a single PUT operation, you can upload a single object up to 5 GB in size"),
 * which is why sources above the threshold go in parts. vidpipe caps a source at 5 TiB (S3's long-standing
 * object limit, which every S3-compatible store accepts).
 */
import { Schema } from "effect"

export const MiB = 1024 ** 2
export const GiB = 1024 ** 3

export const minPartBytes = 5 * MiB
export const maxPartBytes = 5 * GiB
export const maxParts = 10_000
/** The largest single PUT S3 accepts. */
export const maxSinglePutBytes = 5 * GiB
export const maxSourceBytes = 5 * 1024 ** 4

/**
 * Parts are at least this large (fewer requests; a part URL must be used within seconds, so each
 * part is one request a client starts right after asking for it), larger when 10,000 parts of it
 * would not hold the source.
 */
export const preferredPartBytes = 16 * MiB

export const MultipartLayout = Schema.Struct({
  /** The source's declared length in bytes. */
  contentLength: Schema.Int,
  /** Every part but the last is exactly this long. */
  partSize: Schema.Int,
  partCount: Schema.Int
})
export type MultipartLayout = typeof MultipartLayout.Type

/**
 * The part size for a source of `contentLength` bytes: the preferred size, or the smallest whole
 * MiB that fits the source in 10,000 parts. Between 5 MiB and 5 GiB for every length up to 5 TiB.
 */
export const multipartLayoutFor = (contentLength: number): MultipartLayout => {
  const fitting = Math.ceil(contentLength / maxParts / MiB) * MiB
  const partSize = Math.min(maxPartBytes, Math.max(preferredPartBytes, minPartBytes, fitting))
  return { contentLength, partSize, partCount: Math.max(1, Math.ceil(contentLength / partSize)) }
}

/** The exact length of part `partNumber` (1-based) of a layout; undefined when out of range. */
export const partLengthOf = (layout: MultipartLayout, partNumber: number): number | undefined => {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > layout.partCount) return undefined
  return partNumber < layout.partCount ? layout.partSize : layout.contentLength - layout.partSize * (layout.partCount - 1)
}

/** What the client hands back for each part when completing: S3's ETag, quotes optional. */
export interface PartReceipt {
  readonly partNumber: number
  readonly etag: string
}

/** What storage holds of an upload in progress. */
export interface StoredPart {
  readonly partNumber: number
  readonly size: number
  readonly etag: string
}

/** S3 compares ETags without their quotes ("S3 removes all double quotes when comparing"). */
export const sameEtag = (a: string, b: string) => a.replaceAll("\"", "") === b.replaceAll("\"", "")

/**
 * Why a completion cannot succeed, checked before storage is asked: every part 1..N named once, in
 * order (S3 refuses out-of-order lists with InvalidPartOrder), each stored at its exact length with
 * the ETag given. Undefined when it is complete; otherwise the field and the reason.
 */
export const completionProblem = (
  layout: MultipartLayout,
  receipts: ReadonlyArray<PartReceipt>,
  stored: ReadonlyArray<StoredPart>
): { readonly field: string; readonly message: string } | undefined => {
  const byNumber = new Map(stored.map((part) => [part.partNumber, part]))
  for (const [i, receipt] of receipts.entries()) {
    if (receipt.partNumber !== i + 1) {
      return { field: `parts[${i}].partNumber`, message: `parts must be listed 1 to ${layout.partCount} in order, each once; found ${receipt.partNumber} at position ${i + 1}` }
    }
  }
  if (receipts.length !== layout.partCount) {
    return { field: "parts", message: `the upload has ${layout.partCount} parts; ${receipts.length} listed (missing from ${receipts.length + 1})` }
  }
  for (const [i, receipt] of receipts.entries()) {
    const part = byNumber.get(receipt.partNumber)
    const expected = partLengthOf(layout, receipt.partNumber)
    if (part === undefined) return { field: `parts[${i}]`, message: `part ${receipt.partNumber} was never uploaded` }
    if (part.size !== expected) return { field: `parts[${i}]`, message: `part ${receipt.partNumber} holds ${part.size} bytes, not ${expected}` }
    if (!sameEtag(part.etag, receipt.etag)) {
      return { field: `parts[${i}].etag`, message: `part ${receipt.partNumber}'s ETag does not match the part stored (it may have been uploaded again since)` }
    }
  }
  return undefined
}
