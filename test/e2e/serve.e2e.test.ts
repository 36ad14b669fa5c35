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
import { signUpload } from "../../src/layers/local/uploadSignature.ts"
import { makeClip } from "../support/clips.ts"
import { startFleet } from "../support/fleet.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import type { CreatedJob } from "../support/upload.ts"
import { createJob as createJobWith, jobOf, put, ready } from "../support/upload.ts"

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

/**
 * Upload expiry without racing the clock: the servers here issue URLs valid for a minute
 * (VIDPIPE_UPLOAD_EXPIRY_SECONDS), so an upload meant to be in time always is, however busy the
 * machine; the expiry itself is tested with URLs the test signs with the server's secret and an
 * expiry it chooses (already past, or a few seconds ahead).
 */
const uploadSecret = "serve-e2e-upload-secret"
const uploadExpirySeconds = 60
const uploadEnv = { VIDPIPE_UPLOAD_SECRET: uploadSecret, VIDPIPE_UPLOAD_EXPIRY_SECONDS: String(uploadExpirySeconds) }

/** The job's upload URL as the server would sign it, but expiring at `expires` (epoch ms). */
const signedFor = (created: CreatedJob, expires: number) => {
  const url = new URL(created.upload.url)
  const signature = signUpload(uploadSecret, { method: "PUT", key: `${created.jobId}/clip.mp4`, contentLength: clipBytes.length, expires })
  url.searchParams.set("expires", String(expires))
  url.searchParams.set("signature", signature)
  return url.toString()
}

describe("vidpipe serve", () => {
  it("enforces the presigned upload's size, signature and expiry, stores nothing refused, and publishes the right one", async () => {
    const storage = path.join(workdir, "embedded")
    const server = await startServer(["--workers", "2"], { VIDPIPE_STORAGE: `file://${storage}`, ...uploadEnv })
    try {
      const uploaded = (jobId: string) => fs.readdir(path.join(storage, "uploads", jobId)).catch(() => [])

      // The URL the server hands out expires the configured time after it was issued.
      const before = Date.now()
      const wrongSize = await createJob(server)
      const after = Date.now()
      const expires = Number(new URL(wrongSize.upload.url).searchParams.get("expires"))
      expect(Date.parse(wrongSize.upload.expiresAt)).toBe(expires)
      expect(expires).toBeGreaterThanOrEqual(before + uploadExpirySeconds * 1000)
      expect(expires).toBeLessThanOrEqual(after + uploadExpirySeconds * 1000)
      expect(signedFor(wrongSize, expires), "the test signs as the server does").toBe(wrongSize.upload.url)
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

      // Expired a second ago: refused, whatever the time it takes the request to arrive.
      const late = await createJob(server)
      const expired = await put(signedFor(late, Date.now() - 1_000), clipBytes)
      expect(expired.status).toBe(403)
      expect(JSON.parse(expired.body).error._tag).toBe("RequestExpired")
      expect(await uploaded(late.jobId)).toEqual([])
      expect((await jobOf(server, late.jobId)).status).toBe("awaiting-upload")

      // Started in time, finished well after the expiry: S3 accepts it, and so do we. The URL
      // expires 3 s after it is signed (the request only has to reach the server by then, which a
      // loaded machine does in far less); the body after its first piece waits until the expiry
      // is 0.5 s past, so the upload always ends after it.
      const slow = await createJob(server)
      const slowExpires = Date.now() + 3_000
      const slowUrl = signedFor(slow, slowExpires)
      const accepted = await put(slowUrl, clipBytes, { chunks: 8, holdUntil: slowExpires + 500 })
      expect(accepted.status, accepted.body).toBe(200)
      const reused = await put(slowUrl, clipBytes)
      expect(reused.status, "the same URL after its expiry").toBe(403)
      expect(JSON.parse(reused.body).error._tag).toBe("RequestExpired")
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

    const embedded = await startServer(["--workers", "2"], { VIDPIPE_STORAGE: `file://${path.join(workdir, "same-embedded")}`, ...uploadEnv })
    const embeddedAnswer = await runOnce(embedded).finally(() => embedded.stop())

    const fleet = await startFleet()
    try {
      fleet.startWorker("w1")
      fleet.startWorker("w2")
      const server = await startServer(["--workers", "0"], { ...fleet.env, ...uploadEnv })
      const redisAnswer = await runOnce(server).finally(() => server.stop())
      expect(redisAnswer).toEqual(embeddedAnswer)
    } finally {
      await fleet.close()
    }
  }, 240_000)
})
