/**
 * A large but quick-to-make and quick-to-encode clip for the multipart upload tests: 640x360
 * with heavy temporal noise, lossless (x264 -qp 0), so 6 s of it weigh ~54 MiB (four 16 MiB parts,
 * the last one shorter) and ffmpeg makes it in about a second. Playable like any other clip.
 */
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import { promisify } from "node:util"

const run = promisify(execFile)

/**
 * `VIDPIPE_TEST_LARGE_CLIP_SECONDS` makes it longer for a run by hand (34 s weigh ~300 MiB, the
 * size issue 20 asks to see through the web page); the suite keeps 6 s.
 */
const defaultSeconds = Number(process.env["VIDPIPE_TEST_LARGE_CLIP_SECONDS"] ?? "") || 6

export const makeLargeClip = async (output: string, durationSeconds = defaultSeconds) => {
  await run("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `testsrc2=size=640x360:rate=30:duration=${durationSeconds},noise=alls=40:allf=t+u`,
    "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${durationSeconds}`,
    "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p",
    "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest",
    output
  ])
  return output
}

/** SHA-256 of a file, streamed. */
export const sha256Of = (file: string) =>
  new Promise<string>((resolve, reject) => {
    const hash = createHash("sha256")
    createReadStream(file).on("data", (chunk) => hash.update(chunk)).on("error", reject).on("end", () => resolve(hash.digest("hex")))
  })
