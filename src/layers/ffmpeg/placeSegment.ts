/**
 * Moves a media segment ffmpeg wrote to its place in the presentation and renumbers its fragments
 * there, in place: only the top-level box headers and the `moof` boxes (a few KB) are read and
 * written back, never the media data, which is most of the bytes (a 4 s 1080p segment is MBs).
 */
import * as fs from "node:fs/promises"
import { boxAt, fragmentInfo, renumberFragments } from "./fragments.ts"

export interface PlacedSegment {
  readonly size: number
  /** The first fragment's decode time, before anything else is believed about the segment. */
  readonly decodeTime: number | undefined
}

export const placeSegment = async (from: string, to: string, firstNumber: number): Promise<PlacedSegment> => {
  await fs.rename(from, to)
  const handle = await fs.open(to, "r+")
  try {
    const { size } = await handle.stat()
    const header = new Uint8Array(16)
    let decodeTime: number | undefined
    let next = firstNumber
    for (let offset = 0; offset + 8 <= size;) {
      const { bytesRead } = await handle.read(header, 0, 16, offset)
      const box = boxAt(header.subarray(0, bytesRead), offset, size, 0)
      if (box === undefined) break
      if (box.type === "moof") {
        const moof = new Uint8Array(box.end - box.start)
        await handle.read(moof, 0, moof.length, box.start)
        decodeTime ??= fragmentInfo(moof)?.decodeTime
        next += renumberFragments(moof, next)
        await handle.write(moof, 0, moof.length, box.start)
      }
      offset = box.end
    }
    return { size, decodeTime }
  } finally {
    await handle.close()
  }
}
