/**
 * Webhooks on a real `vidpipe serve` (a child process, real ffmpeg, real HTTP receivers on
 * 127.0.0.1): every delivery verifies with the README's snippet; a receiver that answers 500 three
 * times gets the event once more with the same id and is logged 200 after three failures, with
 * growing waits between; job.ready carries playback URLs that play, job.failed the reason; one
 * key's endpoints never hear of another key's jobs; rotation and redelivery work as documented.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeClip } from "../support/clips.ts"
import { waitFor } from "../support/fleet.ts"
import type { RunningServer } from "../support/server.ts"
import { callAs, startServer } from "../support/server.ts"
import { put } from "../support/upload.ts"
import type { Receiver, Verify } from "../support/webhookReceiver.ts"
import { readmeVerifier, startReceiver } from "../support/webhookReceiver.ts"

const keyA = `key-a-${randomBytes(8).toString("hex")}`
const keyB = `key-b-${randomBytes(8).toString("hex")}`
const allEvents = ["job.created", "upload.completed", "job.ready", "job.failed"]

let workdir = ""
let clip = ""
let server: RunningServer
let verify: Verify
let receiverA: Receiver
let receiverB: Receiver
const secretsA: Array<string> = []
const secretsB: Array<string> = []
/** How many requests A's receiver has had per event type, to fail the first three of job.created. */
const seenByType = new Map<string, number>()

const as = (key: string, method: string, url: string, body?: unknown) => callAs(server.base, key, method, url, body)

const register = async (key: string, url: string, secrets: Array<string>) => {
  const created = await as(key, "POST", "/v1/webhooks", { url, events: allEvents })
  expect(created.status, created.text).toBe(201)
  expect(created.json.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/)
  secrets.push(created.json.secret)
  return created.json.id as string
}

/** Creates a job as `key` and uploads `file` to it. */
const submit = async (key: string, file: string) => {
  const bytes = await fs.readFile(file)
  const created = await as(key, "POST", "/v1/jobs", { fileName: path.basename(file), contentLength: bytes.length, ladder: [240] })
  expect(created.status, created.text).toBe(201)
  const uploaded = await put(created.json.upload.url, bytes)
  expect(uploaded.status, uploaded.body).toBeLessThan(300)
  return created.json.jobId as string
}

const deliveriesOf = async (key: string, webhookId: string) => {
  const answer = await as(key, "GET", `/v1/webhooks/${webhookId}/deliveries?limit=100`)
  expect(answer.status, answer.text).toBe(200)
  return answer.json.deliveries as Array<any>
}

const eventsFor = (receiver: Receiver, jobId: string) => receiver.events().filter((event) => event.data.job.jobId === jobId)

let webhookA = ""
let webhookB = ""

beforeAll(async () => {
  verify = await readmeVerifier()
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-webhooks-"))
  clip = await makeClip({ output: path.join(workdir, "clip.mp4"), durationSeconds: 2, width: 320, height: 240 })
  receiverA = await startReceiver({
    verify,
    secrets: () => secretsA,
    answer: (_n, body) => {
      const type = String(JSON.parse(body).type)
      const seen = seenByType.get(type) ?? 0
      seenByType.set(type, seen + 1)
      return type === "job.created" && seen < 3 ? 500 : 200
    }
  })
  receiverB = await startReceiver({ verify, secrets: () => secretsB })
  server = await startServer(["--workers", "1"], {
    VIDPIPE_STORAGE: `file://${workdir}/data`,
    VIDPIPE_API_KEYS: `${keyA},${keyB}`,
    VIDPIPE_UPLOAD_EXPIRY_SECONDS: "60",
    // The receivers listen on 127.0.0.1.
    VIDPIPE_WEBHOOK_ALLOW_PRIVATE: "1",
    VIDPIPE_WEBHOOK_RETRY_SECONDS: "0.5",
    VIDPIPE_WEBHOOK_POLL_SECONDS: "0.1"
  })
  webhookA = await register(keyA, receiverA.url, secretsA)
  webhookB = await register(keyB, receiverB.url, secretsB)
}, 180_000)

afterAll(async () => {
  await server?.stop()
  await receiverA?.close()
  await receiverB?.close()
  await fs.rm(workdir, { recursive: true, force: true })
})

describe("webhooks on vidpipe serve", () => {
  let jobA = ""

  it("deliver a job's events, each signed, job.created again after three 500s with the same id and growing waits", async () => {
    jobA = await submit(keyA, clip)
    const events = await waitFor(() => {
      const got = eventsFor(receiverA, jobA)
      return got.some((event) => event.type === "job.ready") && got.some((event) => event.type === "job.created") ? got : undefined
    }, 120_000, "job.ready and job.created at A's receiver")

    // Every request that reached the receiver verified with the README's snippet.
    expect(receiverA.received.length).toBeGreaterThan(0)
    expect(receiverA.received.filter((r) => !r.verified)).toEqual([])
    expect(events.map((event) => event.type).sort()).toEqual(["job.created", "job.ready", "upload.completed"])

    // job.created: 500, 500, 500, then 200; one event id throughout, in the body and the header.
    const created = await waitFor(() => {
      const requests = receiverA.received.filter((r) => JSON.parse(r.body).type === "job.created")
      return requests.length >= 4 ? requests : undefined
    }, 60_000, "four job.created requests")
    expect(created.map((r) => r.status)).toEqual([500, 500, 500, 200])
    const ids = new Set(created.flatMap((r) => [JSON.parse(r.body).id, r.headers["vidpipe-event-id"]]))
    expect(ids.size).toBe(1)

    // The log says the same: 200 after three failures, each failure with its back-off, growing.
    const delivery = (await deliveriesOf(keyA, webhookA)).find((d) => d.jobId === jobA && d.eventType === "job.created")
    expect(delivery.status).toBe("delivered")
    expect(delivery.eventId).toBe([...ids][0])
    expect(delivery.attempts.map((a: any) => a.statusCode)).toEqual([500, 500, 500, 200])
    const planned = delivery.attempts.slice(0, 3).map((a: any) => a.retryInMs as number)
    expect(planned[0]).toBeGreaterThanOrEqual(375)
    expect(planned[1]).toBeGreaterThan(planned[0])
    expect(planned[2]).toBeGreaterThan(planned[1])
    // Each wait the receiver saw is at least the back-off chosen before it (never sooner).
    for (let i = 1; i < 4; i++) expect(created[i]!.at - created[i - 1]!.at).toBeGreaterThanOrEqual(planned[i - 1]! - 50)
  }, 180_000)

  it("job.ready carries the job view with playback URLs that are served", async () => {
    const readyEvent = eventsFor(receiverA, jobA).find((event) => event.type === "job.ready")
    expect(readyEvent.data.job).toMatchObject({ jobId: jobA, status: "ready", progress: 1 })
    const { dash, hls } = readyEvent.data.job.playback
    expect(dash).toMatch(new RegExp(`^${server.base}/cdn/${jobA}/manifest\\.mpd$`))
    for (const url of [dash, hls]) expect((await fetch(url)).status, url).toBe(200)
    expect(Date.parse(readyEvent.createdAt)).toBeGreaterThan(0)
  })

  it("a tampered delivery or one replayed later fails the README's verification", () => {
    const real = receiverA.received.find((r) => r.status === 200)!
    const signature = String(real.headers["vidpipe-signature"])
    expect(verify(real.body, signature, secretsA[0]!)).toBe(true)
    expect(verify(real.body.replace(jobA, jobA.replace(/.$/, (c) => (c === "0" ? "1" : "0"))), signature, secretsA[0]!)).toBe(false)
    expect(verify(real.body, signature, secretsA[0]!, 300, real.at / 1000 + 301)).toBe(false)
  })

  it("job.failed carries the reason", async () => {
    const notVideo = path.join(workdir, "notes.mp4")
    await fs.writeFile(notVideo, "this is not a video\n".repeat(100))
    const jobId = await submit(keyA, notVideo)
    const failed = await waitFor(() => eventsFor(receiverA, jobId).find((event) => event.type === "job.failed"), 120_000, "job.failed")
    expect(failed.data.job.status).toBe("failed")
    expect(failed.data.job.error._tag).toBe("UnusableInput")
    expect(failed.data.job.error.message.length).toBeGreaterThan(0)
  }, 180_000)

  it("key B never hears of key A's jobs, and cannot see, read or redeliver A's webhook", async () => {
    const jobB = await submit(keyB, clip)
    await waitFor(() => eventsFor(receiverB, jobB).find((event) => event.type === "job.ready"), 120_000, "job.ready at B's receiver")
    // B's receiver: B's job only. A's receiver: never B's job.
    expect(receiverB.received.filter((r) => !r.body.includes(jobB))).toEqual([])
    expect(receiverB.received.some((r) => r.body.includes(jobA))).toBe(false)
    expect(receiverA.received.some((r) => r.body.includes(jobB))).toBe(false)
    expect(receiverB.received.filter((r) => !r.verified)).toEqual([])

    const aDeliveries = await deliveriesOf(keyA, webhookA)
    for (const [method, url] of [
      ["GET", `/v1/webhooks/${webhookA}`],
      ["GET", `/v1/webhooks/${webhookA}/deliveries`],
      ["POST", `/v1/webhooks/${webhookA}/rotate-secret`],
      ["POST", `/v1/webhooks/${webhookA}/deliveries/${aDeliveries[0].id}/redeliver`],
      ["DELETE", `/v1/webhooks/${webhookA}`]
    ] as const) {
      const answer = await as(keyB, method, url, method === "POST" ? {} : undefined)
      expect(answer.status, `${method} ${url}: ${answer.text}`).toBe(404)
      expect(answer.json.error._tag).toBe("WebhookNotFound")
    }
    // Nor through its own webhook's id with A's delivery.
    const crossed = await as(keyB, "POST", `/v1/webhooks/${webhookB}/deliveries/${aDeliveries[0].id}/redeliver`, {})
    expect(crossed.status, crossed.text).toBe(404)
    expect((await as(keyB, "GET", "/v1/webhooks")).json.webhooks.map((w: any) => w.id)).toEqual([webhookB])
    expect((await as(keyA, "GET", `/v1/webhooks/${webhookA}`)).status).toBe(200)
  }, 180_000)

  it("a redelivered event comes again with the same id; a rotated secret and the old one both verify in the grace period", async () => {
    const ready = (await deliveriesOf(keyA, webhookA)).find((d) => d.jobId === jobA && d.eventType === "job.ready")
    const before = receiverA.received.length
    const again = await as(keyA, "POST", `/v1/webhooks/${webhookA}/deliveries/${ready.id}/redeliver`, {})
    expect(again.status, again.text).toBe(202)
    const redelivered = await waitFor(() => receiverA.received.slice(before).find((r) => JSON.parse(r.body).type === "job.ready"), 30_000, "the redelivery")
    expect(JSON.parse(redelivered.body).id).toBe(ready.eventId)
    expect(eventsFor(receiverA, jobA).filter((event) => event.type === "job.ready")).toHaveLength(1)

    const rotated = await as(keyA, "POST", `/v1/webhooks/${webhookA}/rotate-secret`, { graceSeconds: 3600 })
    expect(rotated.status, rotated.text).toBe(200)
    const [oldSecret] = secretsA
    const newSecret = rotated.json.secret as string
    expect(newSecret).not.toBe(oldSecret)
    const created = await as(keyA, "POST", "/v1/jobs", { fileName: "later.mp4", contentLength: 10 })
    const request = await waitFor(() => receiverA.received.find((r) => r.body.includes(created.json.jobId)), 30_000, "the next job's job.created")
    const signature = String(request.headers["vidpipe-signature"])
    expect(verify(request.body, signature, newSecret)).toBe(true)
    expect(verify(request.body, signature, oldSecret!)).toBe(true)
    expect(verify(request.body, signature, "whsec_someone-else")).toBe(false)
  }, 120_000)
})
