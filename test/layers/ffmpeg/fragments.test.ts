/**
 * The ISO-BMFF reading that stitches chunks (src/layers/ffmpeg/fragments.ts), on segments built
 * here box by box: besides ordinary boxes they use the two other size forms ISO/IEC 14496-12
 * allows, `size == 1` (a 64-bit `largesize` after the type) and `size == 0` (the box runs to the
 * end of its container, or of the file), and both tfdt versions (32- and 64-bit decode times).
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { codecFingerprint, fragmentInfo, renumberFragments } from "../../../src/layers/ffmpeg/fragments.ts"
import { placeSegment } from "../../../src/layers/ffmpeg/placeSegment.ts"

// ---------------------------------------------------------------------------------------------
// A small box writer.

const ascii = (text: string) => new TextEncoder().encode(text)

const concat = (...parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

const u32 = (value: number) => {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, value)
  return out
}

const u64 = (value: bigint) => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, value)
  return out
}

/** A box with a 32-bit size. */
const box = (type: string, ...payload: ReadonlyArray<Uint8Array>) => {
  const body = concat(...payload)
  return concat(u32(8 + body.length), ascii(type), body)
}

/** A box with `size == 1` and its size in the 64-bit `largesize` field. */
const largeBox = (type: string, ...payload: ReadonlyArray<Uint8Array>) => {
  const body = concat(...payload)
  return concat(u32(1), ascii(type), u64(BigInt(16 + body.length)), body)
}

/** A box with `size == 0`: it extends to the end of what contains it. */
const toEndBox = (type: string, ...payload: ReadonlyArray<Uint8Array>) => concat(u32(0), ascii(type), ...payload)

/** version (1 byte) and flags (3 bytes), then the fields. */
const fullBox = (type: string, version: number, ...fields: ReadonlyArray<Uint8Array>) =>
  box(type, new Uint8Array([version, 0, 0, 0]), ...fields)

const mfhd = (sequenceNumber: number) => fullBox("mfhd", 0, u32(sequenceNumber))
const tfhd = fullBox("tfhd", 0, u32(1))
const tfdtV0 = (decodeTime: number) => fullBox("tfdt", 0, u32(decodeTime))
const tfdtV1 = (decodeTime: bigint) => fullBox("tfdt", 1, u64(decodeTime))

/** Media bytes that look like boxes: nothing may read inside an mdat. */
const mediaBytes = concat(box("moof", mfhd(999)), ascii("payload"))

// 2^33 + 5: only a 64-bit tfdt holds it.
const bigDecodeTime = 2 ** 33 + 5

/**
 * A media segment of two fragments: styp; an ordinary moof (tfdt version 1) and mdat; then a moof
 * written with a 64-bit largesize whose traf runs to the moof's end (size 0), and a last mdat that
 * runs to the end of the file (size 0).
 */
const segment = () => {
  const first = concat(box("moof", mfhd(1), box("traf", tfhd, tfdtV1(BigInt(bigDecodeTime)))), box("mdat", mediaBytes))
  const second = concat(largeBox("moof", mfhd(2), toEndBox("traf", tfhd, tfdtV0(1000))), toEndBox("mdat", mediaBytes))
  const styp = box("styp", ascii("msdh"), u32(0), ascii("msdhmsix"))
  return { bytes: concat(styp, first, second), secondAt: styp.length + first.length }
}

const sequenceNumbers = (bytes: Uint8Array, secondAt: number) => [
  fragmentInfo(bytes)?.sequenceNumber,
  fragmentInfo(bytes.subarray(secondAt))?.sequenceNumber
]

// ---------------------------------------------------------------------------------------------

describe("fragmentInfo", () => {
  it("reads the first fragment's decode time (64-bit tfdt) and sequence number", () => {
    expect(fragmentInfo(segment().bytes)).toEqual({ decodeTime: bigDecodeTime, sequenceNumber: 1 })
  })

  it("reads a fragment written with a largesize moof, a size-0 traf and a 32-bit tfdt, also from a view into a larger buffer", () => {
    const { bytes, secondAt } = segment()
    expect(fragmentInfo(bytes.subarray(secondAt))).toEqual({ decodeTime: 1000, sequenceNumber: 2 })
  })

  it("is undefined without a moof, or when a box claims more bytes than there are", () => {
    expect(fragmentInfo(box("ftyp", ascii("iso6")))).toBeUndefined()
    const truncated = segment().bytes.subarray(0, 60)
    expect(fragmentInfo(truncated)).toBeUndefined()
    expect(fragmentInfo(new Uint8Array(0))).toBeUndefined()
  })
})

describe("renumberFragments", () => {
  it("numbers every moof from `first`, in place, whatever its size form, and changes no other byte", () => {
    const { bytes, secondAt } = segment()
    const before = bytes.slice()
    expect(renumberFragments(bytes, 41)).toBe(2)
    expect(sequenceNumbers(bytes, secondAt)).toEqual([41, 42])
    const changed = [...bytes.keys()].filter((i) => bytes[i] !== before[i])
    // Only the low bytes of the two mfhd sequence numbers (1 → 41, 2 → 42).
    expect(changed.length).toBe(2)
    expect(fragmentInfo(bytes)?.decodeTime).toBe(bigDecodeTime)
    // The look-alike moof inside the media data is untouched.
    expect(bytes.subarray(bytes.length - mediaBytes.length)).toEqual(mediaBytes)
  })

  it("counts nothing in a segment without fragments", () => {
    expect(renumberFragments(concat(box("styp", ascii("msdh")), box("sidx", u32(0))), 5)).toBe(0)
  })
})

describe("placeSegment", () => {
  it("moves a segment to its place and renumbers it there like renumberFragments, without reading the media data", async () => {
    const folder = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-place-"))
    try {
      const { bytes, secondAt } = segment()
      const from = path.join(folder, "chunk-stream0-00001.m4s")
      const to = path.join(folder, "seg-00037.m4s")
      await fs.writeFile(from, bytes)
      expect(await placeSegment(from, to, 37)).toEqual({ size: bytes.length, decodeTime: bigDecodeTime })
      const expected = bytes.slice()
      renumberFragments(expected, 37)
      const placed = new Uint8Array(await fs.readFile(to))
      expect(placed).toEqual(expected)
      expect(sequenceNumbers(placed, secondAt)).toEqual([37, 38])
      await expect(fs.access(from)).rejects.toThrow()
    } finally {
      await fs.rm(folder, { recursive: true, force: true })
    }
  })
})

// ---------------------------------------------------------------------------------------------

const stsd = (codec: string) => fullBox("stsd", 0, u32(1), box(codec, ascii(`config of ${codec}`)))
const mdhdV0 = (timescale: number) => fullBox("mdhd", 0, u32(0), u32(0), u32(timescale), u32(0), u32(0))
const mdhdV1 = (timescale: number) => fullBox("mdhd", 1, u64(0n), u64(0n), u32(timescale), u64(0n), u32(0))
const elst = (mediaTime: number) => fullBox("elst", 0, u32(1), u32(0), u32(mediaTime), u32(0x10000))

const init = (parts: { codec?: string; mdhd: Uint8Array; elst?: Uint8Array; largeMoov?: boolean }) => {
  const stbl = box("stbl", ...(parts.codec === undefined ? [] : [stsd(parts.codec)]))
  const trak = box("trak", ...(parts.elst === undefined ? [] : [box("edts", parts.elst)]), box("mdia", parts.mdhd, box("minf", stbl)))
  const moov = parts.largeMoov ? largeBox("moov", fullBox("mvhd", 0), trak) : box("moov", fullBox("mvhd", 0), trak)
  return concat(box("ftyp", ascii("iso6")), moov)
}

describe("codecFingerprint", () => {
  it("is the same for the same sample description, timescale and edit list, however the boxes are sized", () => {
    const a = codecFingerprint(init({ codec: "avc1", mdhd: mdhdV0(12800), elst: elst(1024) }))
    expect(a).toMatch(/^[0-9a-f]{64}$/)
    expect(codecFingerprint(init({ codec: "avc1", mdhd: mdhdV0(12800), elst: elst(1024), largeMoov: true }))).toBe(a)
    // mdhd version 1 keeps the timescale 8 bytes further on.
    expect(codecFingerprint(init({ codec: "avc1", mdhd: mdhdV1(12800), elst: elst(1024) }))).toBe(a)
  })

  it("differs when the codec configuration, the timescale or the edit list differs", () => {
    const a = codecFingerprint(init({ codec: "avc1", mdhd: mdhdV0(12800), elst: elst(1024) }))
    expect(codecFingerprint(init({ codec: "hvc1", mdhd: mdhdV0(12800), elst: elst(1024) }))).not.toBe(a)
    expect(codecFingerprint(init({ codec: "avc1", mdhd: mdhdV0(90000), elst: elst(1024) }))).not.toBe(a)
    expect(codecFingerprint(init({ codec: "avc1", mdhd: mdhdV0(12800), elst: elst(2048) }))).not.toBe(a)
    expect(codecFingerprint(init({ codec: "avc1", mdhd: mdhdV0(12800) }))).not.toBe(a)
  })

  it("is undefined for an init segment without a sample description", () => {
    expect(codecFingerprint(init({ mdhd: mdhdV0(12800) }))).toBeUndefined()
    expect(codecFingerprint(box("ftyp", ascii("iso6")))).toBeUndefined()
  })
})
