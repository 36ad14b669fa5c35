/**
 * Signed playback on a real `vidpipe serve` (VIDPIPE_PLAYBACK=signed): the owner's job view gives a
 * manifest URL whose path carries a short-lived token; the manifest and its segments are served
 * only under a valid, unexpired token for that job (403 otherwise, whatever was changed); and the
 * web page, driven in Debian's Chromium as a person uses it, plays the job with its token.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { WebAppState } from "../../src/entry/http/web/types.ts"
import { signPlayback } from "../../src/entry/http/playbackToken.ts"
import { launchChromium } from "../support/browser.ts"
import { makeClip } from "../support/clips.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { createJob, jobOf, put, settled } from "../support/upload.ts"

const secret = "signed-playback-test-secret"
let workdir = ""
let clip = ""
let server: RunningServer
let browser: Browser | undefined

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-signed-"))
  clip = await makeClip({ output: path.join(workdir, "clip.mp4"), durationSeconds: 6, width: 640, height: 360, audioChannels: 2 })
  server = await startServer(["--workers", "2"], {
    VIDPIPE_STORAGE: `file://${path.join(workdir, "storage")}`,
    VIDPIPE_DATA_DIR: path.join(workdir, "data"),
    VIDPIPE_UPLOAD_EXPIRY_SECONDS: "60",
    VIDPIPE_PLAYBACK: "signed",
    VIDPIPE_PLAYBACK_SECRET: secret
  })
}, 180_000)

afterAll(async () => {
  await browser?.close().catch(() => undefined)
  await server?.stop()
  await fs.rm(workdir, { recursive: true, force: true })
})

describe("signed playback (vidpipe serve, VIDPIPE_PLAYBACK=signed)", () => {
  it("serves a job's manifest and segments only under a valid, unexpired token for that job", async () => {
    const bytes = new Uint8Array(await fs.readFile(clip))
    const created = await createJob(server, { fileName: "clip.mp4", contentLength: bytes.length, ladder: [360, 240] })
    expect((await put(created.upload.url, bytes)).status).toBe(200)
    const job = await settled(server, created.jobId)
    expect(job.status).toBe("ready")
    const manifestUrl = new URL(job.playback.manifest, server.base)
    const match = /^\/cdn\/_t\/([^/]+)\/([^/]+)\/manifest\.mpd$/.exec(manifestUrl.pathname)
    expect(match, manifestUrl.pathname).not.toBeNull()
    const [, token, jobId] = match!
    expect(jobId).toBe(created.jobId)
    expect(Date.parse(job.playback.expiresAt)).toBeGreaterThan(Date.now())

    const fetchPath = (pathname: string) => fetch(new URL(pathname, server.base))
    const manifest = await fetchPath(manifestUrl.pathname)
    expect(manifest.status).toBe(200)
    // Relative URLs only: a player resolves every segment under the manifest's path, token included.
    const mpd = await manifest.text()
    expect(mpd).not.toMatch(/(initialization|media|BaseURL)[^>]*(https?:|"\/)/)
    const initFiles = (await fs.readdir(path.join(workdir, "storage", "outputs", jobId!, "video"), { recursive: true }))
      .map(String)
      .filter((f) => f.endsWith("init.mp4"))
    expect(initFiles.length).toBeGreaterThan(0)
    const initUnderToken = new URL(`video/${initFiles[0]}`, manifestUrl).pathname
    expect(initUnderToken.startsWith(`/cdn/_t/${token}/${jobId}/video/`)).toBe(true)
    expect((await fetchPath(initUnderToken)).status).toBe(200)

    const refused = {
      manifestWithoutToken: `/cdn/${jobId}/manifest.mpd`,
      segmentWithoutToken: `/cdn/${jobId}/video/${initFiles[0]}`,
      forged: `/cdn/_t/${token!.slice(0, -1)}${token!.endsWith("0") ? "1" : "0"}/${jobId}/manifest.mpd`,
      otherJobsToken: `/cdn/_t/${signPlayback(secret, "f".repeat(32), Date.now() + 60_000)}/${jobId}/manifest.mpd`,
      expired: `/cdn/_t/${signPlayback(secret, jobId!, Date.now() - 1000)}/${jobId}/manifest.mpd`,
      expiredSegment: `/cdn/_t/${signPlayback(secret, jobId!, Date.now() - 1000)}/${jobId}/video/${initFiles[0]}`
    }
    for (const [name, pathname] of Object.entries(refused)) {
      const answer = await fetchPath(pathname)
      expect(answer.status, name).toBe(403)
      expect((await answer.json()).error._tag, name).toBe("PlaybackForbidden")
    }
    expect((await (await fetchPath(refused.expired)).json()).error.message).toMatch(/expired/)
    // A fresh read of the job gives a fresh token (the owner can always get one).
    expect((await jobOf(server, jobId!)).playback.manifest).toMatch(/\/cdn\/_t\//)
  })

  it("plays in the web page, with the token, in Chromium", async () => {
    browser = await launchChromium()
    const page = await browser.newPage({ viewport: { width: 1100, height: 750 } })
    await page.goto(`${server.base}/`, { waitUntil: "load" })
    await page.getByLabel("API key").fill(server.apiKey)
    await page.getByLabel("Video file").setInputFiles(clip)
    await page.getByLabel(/^Ladder/).fill("360,240")
    await page.getByRole("button", { name: "Upload", exact: true }).click()
    await page.waitForFunction(() => {
      const s = (window as unknown as { __vidpipe: WebAppState }).__vidpipe
      return s.errors.length > 0 || s.status === "failed" || (s.playerReady && s.currentTime >= 2 && s.videoWidth > 0)
    }, undefined, { timeout: 150_000, polling: 250 })
    const state = await page.evaluate(() => {
      const s = (window as unknown as { __vidpipe: WebAppState }).__vidpipe
      return { errors: [...s.errors], status: s.status, currentTime: s.currentTime, videoWidth: s.videoWidth, manifest: (s.job as { playback?: { manifest: string } } | null)?.playback?.manifest }
    })
    expect(state.errors).toEqual([])
    expect(state.status).toBe("ready")
    expect(state.manifest).toMatch(/\/cdn\/_t\/[0-9a-z]+\.[0-9a-f]{64}\//)
    expect(state.currentTime).toBeGreaterThanOrEqual(2)
    expect(state.videoWidth).toBeGreaterThan(0)
  })
})
