/**
 * The top rung of a DASH presentation against its source: PSNR (ffmpeg's psnr filter over every
 * frame, the source scaled to the rung's size when it differs) and its size in bytes.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { readPresentation } from "../../test/support/dashInspect.ts"

const run = promisify(execFile)

export interface RungQuality {
  readonly psnr: number
  readonly bytes: number
  readonly width: number
  readonly height: number
}

export const topRungQuality = async (manifest: string, source: string): Promise<RungQuality> => {
  const presentation = await readPresentation(manifest)
  const top = presentation.adaptationSets
    .filter((set) => set.contentType === "video")
    .flatMap((set) => set.representations)
    .toSorted((a, b) => (b.height ?? 0) - (a.height ?? 0))[0]
  if (top === undefined || top.segments.length === 0) throw new Error(`no video rung in ${manifest}`)
  const files = [top.segments[0]!.initUrl, ...top.segments.map((s) => s.url)]
  const bytes = (await Promise.all(files.map((f) => fs.stat(f)))).reduce((n, s) => n + s.size, 0)
  const joined = path.join(os.tmpdir(), `vidpipe-bench-rung-${process.pid}-${Math.random().toString(36).slice(2)}.mp4`)
  await fs.writeFile(joined, Buffer.concat(await Promise.all(files.map((f) => fs.readFile(f)))))
  try {
    const graph = `[1:v]scale=${top.width}:${top.height}:flags=bicubic,setsar=1[ref];[0:v]setsar=1[out];[out][ref]psnr`
    const { stderr } = await run("ffmpeg", ["-hide_banner", "-nostats", "-i", joined, "-i", source, "-lavfi", graph, "-f", "null", "-"], { maxBuffer: 64 * 1024 * 1024 })
    const average = /PSNR .*average:([\d.]+|inf)/.exec(stderr)?.[1]
    if (average === undefined) throw new Error(`no PSNR in ffmpeg's output for ${manifest}`)
    return { psnr: average === "inf" ? Number.POSITIVE_INFINITY : Number(average), bytes, width: top.width ?? 0, height: top.height ?? 0 }
  } finally {
    await fs.rm(joined, { force: true })
  }
}
