/**
 * Just enough ISO-BMFF (fragmented MP4) to stitch chunks: read a media segment's decode time,
 * renumber its fragment, and fingerprint the codec configuration of an init segment. Pure
 * functions over bytes.
 */
import { createHash } from "node:crypto"

export interface Box {
  readonly type: string
  /** Offset of the box's first byte. */
  readonly start: number
  /** Offset of the payload (after size, type and any 64-bit size). */
  readonly body: number
  readonly end: number
}

/**
 * The box whose header starts at `offset` of `bytes` (which hold at least its first 8 bytes, 16 for a
 * 64-bit size), when the box fits before `to`; `to` also ends a size-0 ("to the end") box.
 */
export const boxAt = (bytes: Uint8Array, offset: number, to: number, headerAt = offset): Box | undefined => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (headerAt + 8 > bytes.length || offset + 8 > to) return undefined
  let size = view.getUint32(headerAt)
  let body = offset + 8
  if (size === 1) {
    if (headerAt + 16 > bytes.length || offset + 16 > to) return undefined
    size = Number(view.getBigUint64(headerAt + 8))
    body = offset + 16
  } else if (size === 0) {
    size = to - offset
  }
  if (size < body - offset || offset + size > to) return undefined
  const type = String.fromCharCode(bytes[headerAt + 4]!, bytes[headerAt + 5]!, bytes[headerAt + 6]!, bytes[headerAt + 7]!)
  return { type, start: offset, body, end: offset + size }
}

const boxesIn = (bytes: Uint8Array, from: number, to: number): ReadonlyArray<Box> => {
  const boxes: Array<Box> = []
  for (let box = boxAt(bytes, from, to); box !== undefined; box = boxAt(bytes, box.end, to)) boxes.push(box)
  return boxes
}

/** The first box found along `path` (e.g. ["moov", "trak", "mdia"]), or undefined. */
const find = (bytes: Uint8Array, path: ReadonlyArray<string>, from = 0, to = bytes.length): Box | undefined => {
  const [head, ...rest] = path
  const box = boxesIn(bytes, from, to).find((b) => b.type === head)
  if (box === undefined || rest.length === 0) return box
  return find(bytes, rest, box.body, box.end)
}

const viewOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)

export interface FragmentInfo {
  /** `tfdt` baseMediaDecodeTime of the fragment's first track run, in the track's timescale. */
  readonly decodeTime: number
  readonly sequenceNumber: number
}

/** Decode time and sequence number of the (first) fragment of a media segment. */
export const fragmentInfo = (bytes: Uint8Array): FragmentInfo | undefined => {
  const mfhd = find(bytes, ["moof", "mfhd"])
  const tfdt = find(bytes, ["moof", "traf", "tfdt"])
  if (mfhd === undefined || tfdt === undefined) return undefined
  const view = viewOf(bytes)
  const version = bytes[tfdt.body]
  const decodeTime = version === 1 ? Number(view.getBigUint64(tfdt.body + 4)) : view.getUint32(tfdt.body + 4)
  return { decodeTime, sequenceNumber: view.getUint32(mfhd.body + 4) }
}

/**
 * Sets the `mfhd` sequence number of every fragment in a segment, counting from `first`, in place.
 * Chunks are muxed separately and each starts at 1; in the stitched track they keep increasing.
 * Returns how many fragments were renumbered.
 */
export const renumberFragments = (bytes: Uint8Array, first: number): number => {
  const view = viewOf(bytes)
  let next = first
  for (const moof of boxesIn(bytes, 0, bytes.length).filter((b) => b.type === "moof")) {
    const mfhd = boxesIn(bytes, moof.body, moof.end).find((b) => b.type === "mfhd")
    if (mfhd === undefined) continue
    view.setUint32(mfhd.body + 4, next >>> 0)
    next++
  }
  return next - first
}

/**
 * What must be equal for segments of one chunk to play after another chunk's init segment:
 * the sample description (codec, SPS/PPS, size), the media timescale and the edit list
 * (the composition delay every fragment's timestamps assume). Hex SHA-256, or undefined when
 * the init segment has no video or audio track description.
 */
export const codecFingerprint = (init: Uint8Array): string | undefined => {
  const trak = ["moov", "trak"]
  const stsd = find(init, [...trak, "mdia", "minf", "stbl", "stsd"])
  const mdhd = find(init, [...trak, "mdia", "mdhd"])
  if (stsd === undefined || mdhd === undefined) return undefined
  const elst = find(init, [...trak, "edts", "elst"])
  const version = init[mdhd.body]
  const timescaleAt = mdhd.body + (version === 1 ? 20 : 12)
  const hash = createHash("sha256")
  hash.update(init.subarray(timescaleAt, timescaleAt + 4))
  hash.update(init.subarray(stsd.start, stsd.end))
  if (elst !== undefined) hash.update(init.subarray(elst.start, elst.end))
  return hash.digest("hex")
}
