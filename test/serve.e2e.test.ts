/**
 * `vidpipe serve` end to end over real HTTP: presigned-upload rules (exact size, signature,
 * expiry checked at the start, streaming), the job reaching `ready`, byte ranges and content
 * types on the delivery route, and the same API answers whether the workers are embedded or
 * separate `vidpipe worker` processes on Redis.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeClip } from "./support/clips.ts"
import { startFleet } from "./support/fleet.ts"
import type { RunningServer } from "./support/server.ts"
import { startServer } from "./support/server.ts"
import { createJob as createJobWith, jobOf, put, ready } from "./support/upload.ts"

let workdir = ""
let clip = ""
let clipBytes = new Uint8Array()

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-serve-"))
  clip = await makeClip({ output: path.join(workdir, "clip.mp4"), durationSeconds: 6, width: 640, height: 360 })
  clipBytes = new Uint8Array(await fs.readFile(clip))
})
afterAll(async () => {
  await fs.rm(workdir, { recursive: true, force: true })
})

const createJob = (server: RunningServer, contentLength = clipBytes.length) =>
  createJobWith(server, { fileName: "clip.mp4", contentLength, ladder: [360, 240] })

describe("vidpipe serve", () => {
  it("enforces the presigned upload's size, signature and expiry, stores nothing refused, and publishes the right one", async () => {
    const storage = path.join(workdir, "embedded")
    const server = await startServer(["--workers", "2"], { VIDPIPE_STORAGE: `file://${storage}` })
    try {
      const uploaded = (jobId: string) => fs.readdir(path.join(storage, "uploads", jobId)).catch(() => [])

      const wrongSize = await createJob(server)
      const short = await put(wrongSize.upload.url, clipBytes.subarray(0, clipBytes.length - 1))
      expect(short.status).toBe(403)
      expect(JSON.parse(short.body).error._tag).toBe("SignatureDoesNotMatch")
      expect(await uploaded(wrongSize.jobId)).toEqual([])

      const tampered = await createJob(server)
      const url = new URL(tampered.upload.url)
      const signature = url.searchParams.get("signature")!
      url.searchParams.set("signature", (signature[0] === "a" ? "b" : "a") + signature.slice(1))
      expect((await put(url.toString(), clipBytes)).status).toBe(403)
      url.searchParams.set("signature", signature)
      url.searchParams.set("expires", String(Number(url.searchParams.get("expires")) + 60_000))
      expect((await put(url.toString(), clipBytes)).status, "a later expiry voids the signature").toBe(403)
      expect(await uploaded(tampered.jobId)).toEqual([])

      const late = await createJob(server)
      expect(Date.parse(late.upload.expiresAt) - Date.now()).toBeLessThanOrEqual(5_000)
      await new Promise((r) => setTimeout(r, Date.parse(late.upload.expiresAt) - Date.now() + 300))
      const expired = await put(late.upload.url, clipBytes)
      expect(expired.status).toBe(403)
      expect(JSON.parse(expired.body).error._tag).toBe("RequestExpired")
      expect(await uploaded(late.jobId)).toEqual([])
      expect((await jobOf(server, late.jobId)).status).toBe("awaiting-upload")

      // Started in time, finished well after the expiry: S3 accepts it, and so do we.
      const slow = await createJob(server)
      const accepted = await put(slow.upload.url, clipBytes, { chunks: 8, pauseMs: 900 })
      expect(accepted.status, accepted.body).toBe(200)
      expect((await put(slow.upload.url, clipBytes)).status, "the same URL after its expiry").toBe(403)
      // A slot takes one upload: what is stored is never overwritten.
      const once = await createJob(server)
      expect((await put(once.upload.url, clipBytes)).status).toBe(200)
      const again = await put(once.upload.url, clipBytes)
      expect(again.status).toBe(409)
      expect(JSON.parse(again.body).error._tag).toBe("AlreadyUploaded")
      const job = await ready(server, slow.jobId)
      expect(job.renditions.map((r: any) => `${r.width}x${r.height}`)).toEqual(["640x360", "426x240"])
      expect(job.playback.manifest).toBe(`/cdn/${slow.jobId}/manifest.mpd`)

      // Delivery: content types, caching, and byte ranges with the right bytes.
      const manifest = await fetch(server.base + job.playback.manifest)
      expect(manifest.headers.get("content-type")).toContain("application/dash+xml")
      const segmentPath = `/cdn/${slow.jobId}/video/360p/seg-00001.m4s`
      const whole = new Uint8Array(await fs.readFile(path.join(storage, "outputs", slow.jobId, "video", "360p", "seg-00001.m4s")))
      const ranged = await fetch(server.base + segmentPath, { headers: { range: "bytes=100-1099" } })
      expect(ranged.status).toBe(206)
      expect(ranged.headers.get("content-type")).toBe("video/mp4")
      expect(ranged.headers.get("content-range")).toBe(`bytes 100-1099/${whole.length}`)
      expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(whole.subarray(100, 1100))
      const audio = await fetch(`${server.base}/cdn/${slow.jobId}/audio/init.mp4`)
      expect(audio.headers.get("content-type")).toBe("audio/mp4")
      expect(audio.headers.get("access-control-allow-origin")).toBe("*")
    } finally {
      await server.stop()
    }
  }, 180_000)

  it("answers the same whether the workers are embedded or separate vidpipe worker processes on Redis", async () => {
    const normalise = (job: any) => ({
      status: job.status,
      fileName: job.fileName,
      progress: job.progress,
      renditions: job.renditions.map((r: any) => [r.width, r.height]),
      tasks: job.tasks.map((t: any) => [t.label, t.status, t.progress]),
      playback: job.playback.manifest.replace(job.jobId, "<job>")
    })
    const runOnce = async (server: RunningServer) => {
      const created = await createJob(server)
      expect((await put(created.upload.url, clipBytes)).status).toBe(200)
      return normalise(await ready(server, created.jobId))
    }

    const embedded = await startServer(["--workers", "2"], { VIDPIPE_STORAGE: `file://${path.join(workdir, "same-embedded")}` })
    const embeddedAnswer = await runOnce(embedded).finally(() => embedded.stop())

    const fleet = await startFleet()
    try {
      fleet.startWorker("w1")
      fleet.startWorker("w2")
      const server = await startServer(["--workers", "0"], fleet.env)
      const redisAnswer = await runOnce(server).finally(() => server.stop())
      expect(redisAnswer).toEqual(embeddedAnswer)
    } finally {
      await fleet.close()
    }
  }, 240_000)
})
