/**
 * Bad input to `vidpipe process`: a non-zero exit, one clear line on stderr naming the problem,
 * the typed failure as JSON on stdout, no stack trace, and no manifest written.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { lastJsonLine, runVidpipe } from "../support/cli.ts"
import { makeClip, makePng, makeTruncatedMp4 } from "../support/clips.ts"

let workdir = ""
const inputs: Record<string, string> = {}

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-bad-"))
  const file = (name: string) => path.join(workdir, name)
  await fs.writeFile(file("empty.mp4"), "")
  await fs.writeFile(file("notes.mp4"), "These are meeting notes, not a video.\n")
  await fs.writeFile(file("noise.mov"), new Uint8Array(64 * 1024).map((_, i) => (i * 7919) % 256))
  await makePng(file("picture.png"))
  const whole = await makeClip({ output: file("whole.mp4"), durationSeconds: 4, width: 320, height: 240 })
  await makeTruncatedMp4(file("truncated.mp4"), whole)
  Object.assign(inputs, {
    empty: file("empty.mp4"),
    text: file("notes.mp4"),
    noise: file("noise.mov"),
    png: file("picture.png"),
    truncated: file("truncated.mp4"),
    missing: file("does-not-exist.mp4")
  })
})
afterAll(async () => {
  await fs.rm(workdir, { recursive: true, force: true })
})

const cases: ReadonlyArray<{ readonly input: string; readonly tag: string; readonly says: RegExp }> = [
  { input: "empty", tag: "UnusableInput", says: /empty \(0 bytes\)/ },
  { input: "text", tag: "UnusableInput", says: /text, not a video/ },
  { input: "noise", tag: "UnusableInput", says: /not a recognizable audio or video file/ },
  { input: "png", tag: "UnusableInput", says: /still image \(png\), not a video/ },
  { input: "truncated", tag: "UnusableInput", says: /incomplete or corrupt/ },
  { input: "missing", tag: "SourceNotFound", says: /input file not found: .*does-not-exist\.mp4/ }
]

describe("vidpipe process refuses bad input clearly", () => {
  for (const { input, says, tag } of cases) {
    it(`${input}: exits non-zero with one clear line and writes no manifest`, async () => {
      const out = path.join(workdir, `${input}-out`)
      const result = await runVidpipe(["process", inputs[input]!, "--out", out, "--json"], {
        env: { VIDPIPE_DATA_DIR: path.join(workdir, "data") }
      })
      expect(result.code).not.toBe(0)
      const lines = result.stderr.trim().split("\n")
      expect(lines, result.stderr).toHaveLength(1)
      expect(lines[0]).toMatch(/^vidpipe: /)
      expect(lines[0]).toMatch(says)
      expect(result.stderr).not.toMatch(/\n\s+at /)
      expect(lastJsonLine(result.stdout)).toEqual({ status: "failed", error: { _tag: tag, message: lines[0]!.replace(/^vidpipe: /, "") } })
      await expect(fs.access(path.join(out, "manifest.mpd"))).rejects.toThrow()
    })
  }

  it("a bad --ladder or --workers value is refused before any work", async () => {
    const ladder = await runVidpipe(["process", inputs["png"]!, "--ladder", "big,small"])
    expect(ladder.code).not.toBe(0)
    expect(ladder.stderr.trim()).toMatch(/^vidpipe: --ladder must be a comma-separated list/)
    const workers = await runVidpipe(["process", inputs["png"]!, "--workers", "0"])
    expect(workers.code).not.toBe(0)
    expect(workers.stderr.trim()).toMatch(/^vidpipe: --workers must be between 1 and 64/)
  })
})
