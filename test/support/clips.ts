/**
 * Test clips from ffmpeg's lavfi sources (never checked in), and bad inputs made on the spot.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import { promisify } from "node:util"
import type { SampleSpec } from "../../src/services/Ffmpeg.ts"
import { sampleArguments } from "../../src/layers/ffmpeg/arguments.ts"

const run = promisify(execFile)

export const makeClip = async (spec: SampleSpec) => {
  await run("ffmpeg", sampleArguments(spec))
  return spec.output
}

export const makePng = async (output: string) => {
  await run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", output])
  return output
}

/** The first half of an MP4 whose index (moov) is written at the end: what an interrupted copy leaves. */
export const makeTruncatedMp4 = async (output: string, source: string) => {
  const bytes = await fs.readFile(source)
  await fs.writeFile(output, bytes.subarray(0, Math.floor(bytes.length / 2)))
  return output
}
