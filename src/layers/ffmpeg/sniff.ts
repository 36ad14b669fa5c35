/**
 * A look at a file's first bytes, used only to explain a failed probe better: ffprobe picks the
 * MP4 demuxer from a `.mp4` name and then says "moov atom not found" even for a text file.
 */
import * as fs from "node:fs/promises"

export type HeaderKind = "text" | "iso-bmff" | "unknown"

const isoBoxTypes = new Set(["ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "uuid"])

export const classifyHeader = (bytes: Uint8Array): HeaderKind => {
  if (bytes.length >= 8 && isoBoxTypes.has(String.fromCharCode(...bytes.subarray(4, 8)))) return "iso-bmff"
  const printable = bytes.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 128)
  return bytes.length > 0 && printable ? "text" : "unknown"
}

/** The first bytes of a local path or an http(s) URL; undefined when they cannot be read. */
export const readHeader = async (input: string, length = 64): Promise<Uint8Array | undefined> => {
  try {
    if (/^https?:\/\//.test(input)) {
      const response = await fetch(input, { headers: { Range: `bytes=0-${length - 1}` }, signal: AbortSignal.timeout(5000) })
      return new Uint8Array(await response.arrayBuffer()).subarray(0, length)
    }
    const file = await fs.open(input, "r")
    try {
      const buffer = new Uint8Array(length)
      const { bytesRead } = await file.read(buffer, 0, length, 0)
      return buffer.subarray(0, bytesRead)
    } finally {
      await file.close()
    }
  } catch {
    return undefined
  }
}
