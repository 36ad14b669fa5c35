/**
 * The web page's multipart upload (issue 20) in Debian's Chromium, on `vidpipe serve` with
 * VIDPIPE_MULTIPART_THRESHOLD lowered to 16 MiB and a real ~54 MiB clip (four parts): the page
 * sends the parts a few at a time; the page is reloaded once some parts are stored (seen through
 * `GET /v1/jobs/{id}/upload`, not guessed with a sleep); after the reload it says the upload is
 * unfinished, and choosing the same file again sends only the parts the server did not have (every
 * part PUT the page makes is counted), completes, and the job reaches ready with the exact file.
 * A small file afterwards still goes in one PUT, and an unfinished upload can be discarded.
 *
 * The upload is slowed with Chromium's own network throttling (DevTools protocol) so that a
 * reload lands in the middle of it on any machine; after the reload it runs at full speed.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { WebAppState } from "../../src/entry/http/web/types.ts"
import { launchChromium } from "../support/browser.ts"
import { makeClip } from "../support/clips.ts"
import { waitFor } from "../support/fleet.ts"
import { makeLargeClip, sha256Of } from "../support/largeClip.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

const MiB = 1024 ** 2

const appState = (page: Page) =>
  page.evaluate(() => {
    const s = (window as unknown as { __vidpipe: WebAppState }).__vidpipe
    return {
      jobId: s.jobId,
      status: s.status,
      uploadProgress: s.uploadProgress,
      upload: s.upload === null ? null : { ...s.upload, storedAtStart: [...s.upload.storedAtStart], partsSent: [...s.upload.partsSent] },
      pendingUpload: s.pendingUpload === null ? null : { ...s.pendingUpload },
      errors: [...s.errors],
      remembered: localStorage.getItem("vidpipe.pendingUpload")
    }
  })

describe("web app: multipart upload, resumed after a reload", () => {
  let tmp = ""
  let clip = ""
  let server: RunningServer | undefined
  let browser: Browser | undefined
  let passed = false

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-web-resume-"))
    clip = await makeLargeClip(path.join(tmp, "noisy.mp4"))
  })
  afterAll(async () => {
    await browser?.close().catch(() => undefined)
    await server?.stop()
    if (passed && process.env.VIDPIPE_KEEP_TEST_FILES === undefined) await fs.rm(tmp, { recursive: true, force: true })
    else console.log(`web upload resume test: kept ${tmp}`)
  })

  it("sends the parts a few at a time, and after a reload only the missing ones", async () => {
    const storage = path.join(tmp, "storage")
    const s = server = await startServer(["--workers", "2"], {
      VIDPIPE_STORAGE: `file://${storage}`,
      VIDPIPE_DATA_DIR: path.join(tmp, "data"),
      VIDPIPE_MULTIPART_THRESHOLD: String(16 * MiB)
    })
    const size = (await fs.stat(clip)).size
    const partCount = Math.ceil(size / (16 * MiB))

    browser = await launchChromium()
    const page = await browser.newPage({ viewport: { width: 1100, height: 750 } })
    page.on("pageerror", (error) => console.log(`page error: ${error.message}`))

    // Every part PUT the page makes, by phase; and how many run at once before the reload.
    let phase = "first" as "first" | "resumed"
    const puts: Array<{ phase: typeof phase; part: number }> = []
    const answered: Array<{ phase: typeof phase; part: number; status: number }> = []
    let inFlight = 0
    let mostInFlight = 0
    const partOf = (url: string) => /\/upload\/[^/]+\/parts\/(\d+)/.exec(new URL(url).pathname)?.[1]
    page.on("request", (request) => {
      const part = partOf(request.url())
      if (request.method() !== "PUT" || part === undefined) return
      puts.push({ phase, part: Number(part) })
      if (phase === "first") mostInFlight = Math.max(mostInFlight, ++inFlight)
    })
    const settled = (request: { method: () => string; url: () => string }) => {
      if (request.method() === "PUT" && partOf(request.url()) !== undefined && phase === "first") inFlight--
    }
    page.on("requestfinished", settled)
    page.on("requestfailed", settled)
    page.on("response", (response) => {
      const part = partOf(response.url())
      if (response.request().method() === "PUT" && part !== undefined) answered.push({ phase, part: Number(part), status: response.status() })
    })

    // ~6 MiB/s up: the four parts take several seconds, whatever the machine.
    const devtools = await page.context().newCDPSession(page)
    await devtools.send("Network.enable")
    const throttle = (bytesPerSecond: number) =>
      devtools.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond })
    await throttle(6 * MiB)

    await page.goto(`${s.base}/`, { waitUntil: "load" })
    await page.getByLabel("API key").fill(s.apiKey)
    await page.getByLabel("Video file").setInputFiles(clip)
    await page.getByLabel(/^Ladder/).fill("360,240")
    await page.getByRole("button", { name: "Upload", exact: true }).click()

    // The job exists and the page remembers it; then, once the server holds a part, a reload.
    const jobId = await waitFor(async () => (await appState(page)).upload?.jobId, 30_000, "the page to create the job")
    const before = await appState(page)
    expect(before.upload?.kind).toBe("multipart")
    expect(before.upload?.partCount).toBe(partCount)
    expect(before.pendingUpload).toMatchObject({ jobId, fileName: "noisy.mp4", size, partCount })
    await waitFor(async () => {
      const stored = await (await s.api(`/v1/jobs/${jobId}/upload`)).json() as { parts: Array<unknown> }
      return stored.parts.length >= 1
    }, 60_000, "a part to be stored")
    phase = "resumed"
    await page.reload({ waitUntil: "load" })
    await throttle(-1)

    // After the reload: the page says what is unfinished and asks for the file again.
    await page.locator("#resume-notice").waitFor({ state: "visible", timeout: 10_000 })
    await page.screenshot({ path: path.join(tmp, "reloaded.png") })
    // The page's own rounding: MiB with one decimal.
    expect(await page.locator("#resume-text").textContent()).toContain(`An upload of noisy.mp4 (${(size / MiB).toFixed(1)} MB) is unfinished. Choose the same file again`)
    expect((await appState(page)).pendingUpload?.jobId).toBe(jobId)

    // Choosing the same file resumes at once: what is stored is asked first.
    const storedAnswer = page.waitForResponse((response) =>
      response.request().method() === "GET" && new URL(response.url()).pathname === `/v1/jobs/${jobId}/upload`
    )
    await page.getByLabel("Video file").setInputFiles(clip)
    const stored = (await (await storedAnswer).json() as { parts: Array<{ partNumber: number }> }).parts.map((p) => p.partNumber)
    const missing = Array.from({ length: partCount }, (_, i) => i + 1).filter((n) => !stored.includes(n))
    await page.waitForFunction(() => {
      const state = (window as unknown as { __vidpipe: WebAppState }).__vidpipe
      return state.status === "ready" || state.status === "failed" || state.errors.length > 0
    }, undefined, { timeout: 180_000, polling: 250 })
    await page.screenshot({ path: path.join(tmp, "resumed.png") })
    const after = await appState(page)
    expect(after.errors).toEqual([])
    expect(after.status).toBe("ready")

    // Before the reload: parts, several at once (the page's limit is 4).
    const first = puts.filter((p) => p.phase === "first")
    expect(first.length).toBeGreaterThanOrEqual(2)
    expect(mostInFlight).toBeGreaterThanOrEqual(2)
    expect(mostInFlight).toBeLessThanOrEqual(4)
    // The reload landed in the middle: something was stored, something was not.
    expect(stored.length).toBeGreaterThanOrEqual(1)
    expect(missing.length).toBeGreaterThanOrEqual(1)
    // After it: only the missing parts, each stored once; nothing stored was sent again.
    const resumed = puts.filter((p) => p.phase === "resumed").map((p) => p.part)
    expect(resumed.filter((n) => stored.includes(n)), "parts already stored, sent again").toEqual([])
    expect([...new Set(resumed)].sort((a, b) => a - b)).toEqual(missing)
    const resumedOk = answered.filter((a) => a.phase === "resumed" && a.status >= 200 && a.status < 300).map((a) => a.part)
    expect(resumedOk.sort((a, b) => a - b)).toEqual(missing)
    expect(after.upload).toMatchObject({ jobId, kind: "multipart", resumed: true, done: true, storedAtStart: stored })
    expect([...(after.upload?.partsSent ?? [])].sort((a, b) => a - b)).toEqual(missing)

    // Done: forgotten, and the source is the file, byte for byte.
    expect(after.pendingUpload).toBeNull()
    expect(after.remembered).toBeNull()
    expect(await page.locator("#resume-notice").isHidden()).toBe(true)
    expect(after.uploadProgress).toBe(1)
    expect(await sha256Of(path.join(storage, "uploads", jobId, "noisy.mp4"))).toBe(await sha256Of(clip))

    // A file under the threshold still goes in one PUT, as before.
    const small = await makeClip({ output: path.join(tmp, "small.mp4"), durationSeconds: 4, width: 640, height: 360 })
    const singlePuts: Array<string> = []
    page.on("request", (request) => {
      if (request.method() === "PUT") singlePuts.push(new URL(request.url()).pathname)
    })
    await page.getByLabel("Video file").setInputFiles(small)
    await page.getByRole("button", { name: "Upload", exact: true }).click()
    await page.waitForFunction((previous) => {
      const state = (window as unknown as { __vidpipe: WebAppState }).__vidpipe
      return state.errors.length > 0 || (state.jobId !== previous && (state.status === "ready" || state.status === "failed"))
    }, jobId, { timeout: 120_000, polling: 250 })
    const single = await appState(page)
    expect(single.errors).toEqual([])
    expect(single.status).toBe("ready")
    expect(single.upload).toMatchObject({ kind: "single", done: true })
    expect(singlePuts).toEqual([`/upload/${single.jobId}`])

    // An unfinished upload can be discarded instead: forgotten, and its job deleted.
    const created = await (await s.api("/v1/jobs", { method: "POST", body: JSON.stringify({ fileName: "other.mp4", contentLength: 40 * MiB }) })).json() as { jobId: string }
    await page.evaluate((pending) => localStorage.setItem("vidpipe.pendingUpload", JSON.stringify(pending)), {
      jobId: created.jobId, fileName: "other.mp4", size: 40 * MiB, lastModified: 0, partCount: 3
    })
    await page.reload({ waitUntil: "load" })
    await page.locator("#resume-notice", { hasText: "other.mp4" }).waitFor({ state: "visible", timeout: 10_000 })
    await page.getByRole("button", { name: "Discard it" }).click()
    await page.locator("#upload-message", { hasText: "Discarded the unfinished upload of other.mp4." }).waitFor({ timeout: 10_000 })
    await waitFor(async () => (await s.api(`/v1/jobs/${created.jobId}`)).status === 404, 10_000, "the discarded upload's job to be deleted")
    const discarded = await appState(page)
    expect(discarded.pendingUpload).toBeNull()
    expect(discarded.remembered).toBeNull()
    expect(await page.locator("#resume-notice").isHidden()).toBe(true)
    passed = true
  }, 300_000)
})
