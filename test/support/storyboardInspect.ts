/**
 * Reads a storyboard WebVTT as a player does: cues in order, each naming an image and a region of
 * it as a media fragment (`#xywh=x,y,w,h`, W3C Media Fragments URI 1.0, 4.2.1), and checks that
 * every named image exists beside the file and holds the region, and that the cues cover the
 * video from 0 without gap or overlap.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)

export interface StoryboardCue {
  readonly start: number
  readonly end: number
  readonly image: string
  readonly region: { readonly x: number; readonly y: number; readonly w: number; readonly h: number }
}

const seconds = (stamp: string) => {
  const match = /^(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})$/.exec(stamp)
  if (match === null) return Number.NaN
  return Number(match[1] ?? 0) * 3600 + Number(match[2]) * 60 + Number(match[3]) + Number(match[4]) / 1000
}

const imageSize = async (file: string) => {
  const { stdout } = await run("ffprobe", ["-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0", file])
  const [width, height] = stdout.trim().split(",").map(Number)
  return { width: width!, height: height! }
}

export const checkStoryboard = async (vttPath: string, durationSeconds: number) => {
  const text = await fs.readFile(vttPath, "utf8")
  const problems: Array<string> = []
  const [header, ...blocks] = text.replace(/\r\n/g, "\n").trim().split(/\n{2,}/)
  if (header?.split("\n")[0] !== "WEBVTT") problems.push("the file does not start with WEBVTT")
  const cues: Array<StoryboardCue> = []
  for (const block of blocks) {
    const lines = block.split("\n")
    const timing = lines.findIndex((line) => line.includes("-->"))
    const [from, to] = (lines[timing] ?? "").split("-->").map((part) => part.trim().split(/\s+/)[0] ?? "")
    const payload = lines[timing + 1] ?? ""
    const fragment = /^(.+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(payload)
    if (timing < 0 || fragment === null) {
      problems.push(`not a thumbnail cue: ${JSON.stringify(block)}`)
      continue
    }
    cues.push({
      start: seconds(from ?? ""), end: seconds(to ?? ""), image: fragment[1]!,
      region: { x: Number(fragment[2]), y: Number(fragment[3]), w: Number(fragment[4]), h: Number(fragment[5]) }
    })
  }
  const sizes = new Map<string, { width: number; height: number } | undefined>()
  for (const [i, cue] of cues.entries()) {
    const expectedStart = i === 0 ? 0 : cues[i - 1]!.end
    if (Math.abs(cue.start - expectedStart) > 0.0015) problems.push(`cue ${i} starts at ${cue.start}, expected ${expectedStart}`)
    if (!(cue.end > cue.start)) problems.push(`cue ${i} ends at ${cue.end}, not after its start`)
    if (!sizes.has(cue.image)) {
      const file = path.join(path.dirname(vttPath), cue.image)
      sizes.set(cue.image, await fs.stat(file).then(() => imageSize(file), () => undefined))
    }
    const size = sizes.get(cue.image)
    if (size === undefined) problems.push(`cue ${i} names ${cue.image}, which is not there`)
    else if (cue.region.x + cue.region.w > size.width || cue.region.y + cue.region.h > size.height) {
      problems.push(`cue ${i}'s region ${JSON.stringify(cue.region)} is outside ${cue.image} (${size.width}x${size.height})`)
    }
  }
  const last = cues.at(-1)
  if (last === undefined || Math.abs(last.end - durationSeconds) > 0.05) problems.push(`the cues end at ${last?.end}, the video at ${durationSeconds}`)
  return { problems, cues, images: [...sizes.keys()] }
}
