/**
 * Awkward inputs for the bad-input battery, generated with ffmpeg from lavfi sources: the kinds of
 * files phones, cameras and broadcast archives produce, plus damaged ones.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import { promisify } from "node:util"

const run = promisify(execFile)
const ffmpeg = (args: ReadonlyArray<string>) => run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args])
const pattern = (size: string, rate: number, seconds: number) => ["-f", "lavfi", "-i", `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`]
const tone = (seconds: number) => ["-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${seconds}`]
const x264 = ["-c:v", "libx264", "-preset", "ultrafast"]

/** 4:4:4, which (unlike 4:2:0) lets x264 keep odd dimensions; square pixels. */
export const oddSized = (output: string) =>
  ffmpeg([...pattern("1001x701", 25, 3), "-vf", "setsar=1", "-pix_fmt", "yuv444p", ...x264, output]).then(() => output)

export const tenBit422 = (output: string) =>
  ffmpeg([...pattern("640x360", 25, 3), "-pix_fmt", "yuv422p10le", ...x264, output]).then(() => output)

/** 25i: 50 fields a second woven top field first into 25 interlaced frames, coded as interlaced. */
export const interlaced = (output: string) =>
  ffmpeg([
    ...pattern("720x576", 50, 3), "-vf", "tinterlace=interleave_top,fieldorder=tff", "-flags", "+ilme+ildct",
    ...x264, "-x264opts", "tff=1", "-pix_fmt", "yuv420p", output
  ]).then(() => output)

/** 30 fps for 40 frames, then 15 fps: what a phone does when the light drops. */
export const variableFrameRate = (output: string) =>
  ffmpeg([
    ...pattern("640x360", 30, 4), "-vf", "setpts='if(lt(N,40),N/30/TB,(40/30+(N-40)/15)/TB)'", "-fps_mode", "vfr",
    ...x264, "-pix_fmt", "yuv420p", output
  ]).then(() => output)

/** A landscape-coded phone clip shown portrait: a 90° display matrix (set on a stream copy). */
export const rotated = async (output: string) => {
  const coded = `${output}.coded.mp4`
  await ffmpeg([...pattern("640x360", 30, 3), ...tone(3), ...x264, "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", coded])
  await ffmpeg(["-i", coded, "-c", "copy", "-metadata:s:v:0", "rotate=90", output])
  await fs.rm(coded)
  return output
}

export const audioOnly = (output: string) => ffmpeg([...tone(3), "-c:a", "aac", output]).then(() => output)

export const halfSecond = (output: string) =>
  ffmpeg([...pattern("640x360", 30, 0.5), ...tone(0.5), ...x264, "-pix_fmt", "yuv420p", "-c:a", "aac", output]).then(() => output)

/** 7680x4320, a few frames (8K decodes slowly; the point is the size). */
export const eightK = (output: string) =>
  ffmpeg([...pattern("7680x4320", 10, 1), ...x264, "-pix_fmt", "yuv420p", output]).then(() => output)

/** A whole clip with 20 KB of noise written over its middle: damaged frames and audio packets. */
export const corruptedInTheMiddle = async (output: string) => {
  const whole = `${output}.whole.mp4`
  await ffmpeg([...pattern("640x360", 25, 4), ...tone(4), ...x264, "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", whole])
  const bytes = await fs.readFile(whole)
  let seed = 1
  for (let i = Math.floor(bytes.length / 2); i < Math.floor(bytes.length / 2) + 20_000; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0
    bytes[i] = seed >>> 24
  }
  await fs.writeFile(output, bytes)
  await fs.rm(whole)
  return output
}
