/**
 * Ctrl-C during `vidpipe process`: the process stops within 2 s, its ffmpeg children are gone,
 * and no half-written presentation is left in the output folder.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { collect, startVidpipe } from "./support/cli.ts"
import { makeClip } from "./support/clips.ts"

let workdir = ""
beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-sigint-"))
})
afterAll(async () => {
  await fs.rm(workdir, { recursive: true, force: true })
})

/** Processes whose command line mentions `needle` (ffmpeg children read the job's copy of the source). */
const processesMentioning = (needle: string) =>
  execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes(needle) && line.includes("ffmpeg"))

const waitFor = async (condition: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

it("SIGINT stops within 2 s and leaves no ffmpeg process behind", async () => {
  const clip = await makeClip({ output: path.join(workdir, "long-clip.mp4"), durationSeconds: 30, width: 1280, height: 720 })
  const dataDir = path.join(workdir, "data")
  const out = path.join(workdir, "out")
  const child = startVidpipe(["process", clip, "--out", out, "--workers", "2"], { env: { VIDPIPE_DATA_DIR: dataDir } })
  const done = collect(child, 120_000)
  // Wait until encoders are really running (they read the job's copy under the data folder).
  await waitFor(() => processesMentioning(dataDir).length >= 1, 60_000)
  await new Promise((resolve) => setTimeout(resolve, 500))

  const started = Date.now()
  child.kill("SIGINT")
  const result = await done
  const stoppedAfter = Date.now() - started
  expect(stoppedAfter).toBeLessThan(2000)
  expect(result.code === 130 || result.signal === "SIGINT", `code ${result.code} signal ${result.signal}`).toBe(true)
  expect(processesMentioning(dataDir)).toEqual([])
  await expect(fs.access(path.join(out, "manifest.mpd"))).rejects.toThrow()
  expect((await fs.readdir(out).catch(() => [])).filter((entry) => entry !== ".")).toEqual([])
  expect(await fs.readdir(path.join(dataDir, "uploads")).catch(() => [])).toEqual([])
})
