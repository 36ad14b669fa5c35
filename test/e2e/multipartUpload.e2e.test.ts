/**
 * Multipart uploads (issue 20) end to end on `vidpipe serve` with VIDPIPE_MULTIPART_THRESHOLD
 * lowered to 16 MiB and a real ~54 MiB clip (four parts of 16 MiB, the last shorter):
 *   - a user's script with plain `fetch` (create, part URLs, a PUT per part, what is stored,
 *     complete) gets the job to ready, with the source stored byte for byte;
 *   - `vidpipe submit --api` does the same through the command line, a few parts in flight (seen
 *     in the server's own request log), and prints the ready job;
 *   - through a network that cuts one part's connection in the middle and holds another part's
 *     request until its URL has expired, `vidpipe submit --api` still stores the exact file;
 *   - without VIDPIPE_API_KEY, or with a wrong one, it says so clearly and never prints the key.
 */
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { lastJsonLine, runVidpipe } from "../support/cli.ts"
import { makeLargeClip, sha256Of } from "../support/largeClip.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { jobOf, ready } from "../support/upload.ts"

const MiB = 1024 ** 2
const threshold = 16 * MiB

let workdir = ""
let clip = ""
let clipBytes = new Uint8Array()
let clipHash = ""
let server: RunningServer | undefined

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-multipart-"))
  clip = await makeLargeClip(path.join(workdir, "noisy.mp4"))
  clipBytes = new Uint8Array(await fs.readFile(clip))
  clipHash = await sha256Of(clip)
  // Debug: the request log (method, path, status, time; never a query string or a key).
  server = await startServer(["--workers", "2"], {
    VIDPIPE_STORAGE: `file://${path.join(workdir, "storage")}`,
    VIDPIPE_MULTIPART_THRESHOLD: String(threshold),
    VIDPIPE_LOG_LEVEL: "Debug"
  })
})
afterAll(async () => {
  await server?.stop()
  await fs.rm(workdir, { recursive: true, force: true })
})

/** The stored source of a job, hashed (the uploads area of the folder storage). */
const storedSourceHash = (storage: string, jobId: string, fileName: string) => sha256Of(path.join(storage, "uploads", jobId, fileName))

/** `PUT /upload/<job>/parts/<n> <outcome> in <ms> ms` lines of the request log, with when each started and ended. */
const partPuts = (log: string, jobId: string) =>
  [...log.matchAll(/timestamp=(\S+) .*?message="PUT \/upload\/([^/]+)\/parts\/(\d+) (\S+) in (\d+) ms"/g)]
    .filter((m) => m[2] === jobId)
    .map((m) => {
      const end = Date.parse(m[1]!)
      return { part: Number(m[3]), outcome: m[4]!, start: end - Number(m[5]), end }
    })

/** The most PUTs whose [start, end] overlap at one moment. */
const mostAtOnce = (puts: ReadonlyArray<{ start: number; end: number }>) =>
  Math.max(0, ...puts.map((p) => puts.filter((q) => q.start <= p.start && p.start < q.end).length))

describe("multipart uploads (VIDPIPE_MULTIPART_THRESHOLD 16 MiB)", () => {
  it("a user's script with fetch: part URLs, one PUT per part, what is stored, complete; the job reaches ready", async () => {
    const s = server!
    const created = await s.api("/v1/jobs", { method: "POST", body: JSON.stringify({ fileName: "noisy.mp4", contentLength: clipBytes.length, ladder: [360, 240] }) })
    expect(created.status).toBe(201)
    const { jobId, upload } = await created.json() as any
    expect(upload).toEqual({ kind: "multipart", contentLength: clipBytes.length, partSize: 16 * MiB, partCount: Math.ceil(clipBytes.length / (16 * MiB)) })
    expect(upload.partCount).toBeGreaterThanOrEqual(3)

    // What a script does: ask for a part's URL right before sending it (they live 5 s), PUT the
    // part's bytes with the headers given, keep the ETag.
    const etags: Array<string> = []
    for (let n = 1; n <= upload.partCount; n++) {
      const body = clipBytes.subarray((n - 1) * upload.partSize, Math.min(n * upload.partSize, clipBytes.length))
      const signed = await s.api(`/v1/jobs/${jobId}/upload/parts`, { method: "POST", body: JSON.stringify({ partNumbers: [n] }) })
      expect(signed.status).toBe(200)
      const [part] = (await signed.json() as any).parts
      expect(part.partNumber).toBe(n)
      expect(part.method).toBe("PUT")
      const put = await fetch(new URL(part.url, s.base), { method: "PUT", headers: part.headers, body })
      expect(put.status, await put.clone().text()).toBe(200)
      const etag = put.headers.get("etag")
      expect(etag).toBeTruthy()
      etags.push(etag!)
      if (n === 2) {
        // Halfway: what is stored so far, which a client that lost its connection would send the rest after.
        const progress = await s.api(`/v1/jobs/${jobId}/upload`)
        expect(progress.status).toBe(200)
        expect(await progress.json()).toEqual({
          kind: "multipart", contentLength: clipBytes.length, partSize: upload.partSize, partCount: upload.partCount,
          parts: [1, 2].map((partNumber) => ({ partNumber, size: upload.partSize, etag: etags[partNumber - 1] }))
        })
        expect((await jobOf(s, jobId)).status).toBe("awaiting-upload")
      }
    }
    const completed = await s.api(`/v1/jobs/${jobId}/upload/complete`, {
      method: "POST",
      body: JSON.stringify({ parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) })
    })
    expect(completed.status, await completed.clone().text()).toBe(200)
    expect((await completed.json() as any).status).toBe("queued")

    const job = await ready(s, jobId, 180_000)
    expect(job.renditions.map((r: any) => `${r.width}x${r.height}`)).toEqual(["640x360", "426x240"])
    expect(await storedSourceHash(path.join(workdir, "storage"), jobId, "noisy.mp4"), "the parts joined in order, whole").toBe(clipHash)
    expect((await fetch(s.base + job.playback.manifest)).status).toBe(200)
  }, 240_000)

  it("vidpipe submit --api sends the parts a few at a time and prints the ready job as submit does", async () => {
    const s = server!
    const result = await runVidpipe(["submit", clip, "--api", s.base, "--ladder", "360,240", "--wait", "--json"], {
      env: { VIDPIPE_API_KEY: s.apiKey },
      timeoutMs: 240_000
    })
    expect(result.code, result.stderr).toBe(0)
    const printed = lastJsonLine(result.stdout)
    expect(printed).toMatchObject({ status: "ready", audio: true, strategy: "rendition" })
    expect(printed.renditions.map((r: any) => `${r.width}x${r.height}`)).toEqual(["640x360", "426x240"])
    expect(printed.manifest).toBe(`${s.base}/cdn/${printed.jobId}/manifest.mpd`)
    expect((await fetch(printed.manifest)).status).toBe(200)
    expect(`${result.stdout}${result.stderr}`, "the key is never printed").not.toContain(s.apiKey)
    expect(result.stderr).toMatch(/parts 4\/4/)

    // The server's account: every part PUT once, answered 200, several at the same time (the
    // default is 4 in flight), then the source is the file, byte for byte.
    const puts = partPuts(s.log(), printed.jobId)
    expect(puts.map((p) => `${p.part} ${p.outcome}`).sort()).toEqual(["1 200", "2 200", "3 200", "4 200"])
    expect(mostAtOnce(puts), JSON.stringify(puts)).toBeGreaterThanOrEqual(2)
    expect(mostAtOnce(puts)).toBeLessThanOrEqual(4)
    expect(await storedSourceHash(path.join(workdir, "storage"), printed.jobId, "noisy.mp4")).toBe(clipHash)

    // Without --wait: the job id alone, the job queued.
    const quick = await runVidpipe(["submit", clip, "--api", `${s.base}/v1/`, "--ladder", "240"], { env: { VIDPIPE_API_KEY: s.apiKey } })
    expect(quick.code, quick.stderr).toBe(0)
    const jobId = quick.stdout.trim()
    expect(jobId).toMatch(/^[0-9a-f]{32}$/)
    expect((await jobOf(s, jobId)).status).not.toBe("awaiting-upload")
  }, 300_000)

  it("vidpipe submit --api goes on through a part cut off mid-way and a part URL that expired on the way", async () => {
    // Between the CLI and the server: part 2's first request is held 2.5 s (its URL, valid 1 s,
    // has expired when it arrives); part 3's first request is cut after 4 MiB of its body. The
    // server's public URL is the proxy's, so that the part URLs it signs lead through it.
    let target: URL | undefined
    const seen: Array<number> = []
    let held = false
    let cut = false
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target!.port), target!.hostname)
      upstream.on("data", (chunk) => client.write(chunk))
      upstream.on("error", () => client.destroy())
      upstream.on("close", () => client.destroy())
      client.on("error", () => upstream.destroy())
      client.on("close", () => upstream.destroy())
      let holding: Array<Buffer> | undefined
      let cutting: number | undefined
      client.on("data", (chunk: Buffer) => {
        const part = /^PUT \/upload\/[^/]+\/parts\/(\d+)/.exec(chunk.subarray(0, 200).toString("latin1"))?.[1]
        if (part !== undefined) {
          seen.push(Number(part))
          if (part === "2" && !held) {
            held = true
            holding = []
            setTimeout(() => {
              for (const c of holding ?? []) upstream.write(c)
              holding = undefined
            }, 2_500)
          }
          if (part === "3" && !cut) {
            cut = true
            cutting = 4 * MiB
          }
        }
        if (holding !== undefined) {
          holding.push(chunk)
          return
        }
        if (cutting !== undefined) {
          cutting -= chunk.length
          if (cutting <= 0) {
            cutting = undefined
            client.destroy()
            upstream.destroy()
            return
          }
        }
        upstream.write(chunk)
      })
    })
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve))
    const proxied = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`
    // Only the upload matters here (the server is stopped once it is in). Its URLs live 1 s.
    const storage = path.join(workdir, "flaky-storage")
    const flaky = await startServer(["--workers", "1"], {
      VIDPIPE_STORAGE: `file://${storage}`,
      VIDPIPE_PUBLIC_URL: proxied,
      VIDPIPE_MULTIPART_THRESHOLD: String(threshold),
      VIDPIPE_UPLOAD_EXPIRY_SECONDS: "1",
      VIDPIPE_LOG_LEVEL: "Debug"
    })
    target = new URL(flaky.base)
    try {
      const result = await runVidpipe(["submit", clip, "--api", proxied, "--json"], { env: { VIDPIPE_API_KEY: flaky.apiKey }, timeoutMs: 120_000 })
      expect(result.code, result.stderr).toBe(0)
      const { jobId } = lastJsonLine(result.stdout)
      expect(held && cut, "both faults happened").toBe(true)
      expect(seen.filter((n) => n === 2).length, "part 2 sent again after its URL expired").toBeGreaterThanOrEqual(2)
      expect(seen.filter((n) => n === 3).length, "part 3 sent again after the cut").toBeGreaterThanOrEqual(2)
      const puts = partPuts(flaky.log(), jobId)
      expect(puts.filter((p) => p.part === 2).map((p) => p.outcome)).toContain("403")
      for (const part of [1, 2, 3, 4]) expect(puts.filter((p) => p.part === part && p.outcome === "200"), `part ${part}`).toHaveLength(1)
      expect((await jobOf(flaky, jobId)).status).not.toBe("awaiting-upload")
      expect(await storedSourceHash(storage, jobId, "noisy.mp4")).toBe(clipHash)
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()))
      await flaky.stop()
    }
  }, 180_000)

  it("vidpipe submit --api without VIDPIPE_API_KEY, or with a wrong one, says so and never prints the key", async () => {
    const s = server!
    const { VIDPIPE_API_KEY: _unset, ...environment } = process.env
    const missing = await runVidpipe(["submit", clip, "--api", s.base], { env: { ...environment as Record<string, string>, VIDPIPE_API_KEY: "" } })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/VIDPIPE_API_KEY/)
    const wrongKey = "vp_not-the-right-key-0123456789"
    const wrong = await runVidpipe(["submit", clip, "--api", s.base], { env: { VIDPIPE_API_KEY: wrongKey } })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/refused the key in VIDPIPE_API_KEY/)
    expect(`${wrong.stdout}${wrong.stderr}`).not.toContain(wrongKey)
    expect(s.log()).not.toContain(wrongKey)
  }, 60_000)
})
