/**
 * The outbox on the self-hosted shape: `vidpipe serve --workers 0` and one `vidpipe worker` on a
 * shared Redis. The worker does the whole job and is SIGKILLed right after its finalizer's write
 * marked the job ready (VIDPIPE_FAULT=die-after-marking-ready): nothing of that process survives,
 * yet `job.ready`, recorded by that same write, reaches the endpoint, once after deduplication.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeClip } from "../support/clips.ts"
import type { Fleet } from "../support/fleet.ts"
import { exited, startFleet, waitFor } from "../support/fleet.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { put } from "../support/upload.ts"
import type { Receiver } from "../support/webhookReceiver.ts"
import { readmeVerifier, startReceiver } from "../support/webhookReceiver.ts"

const key = `key-${randomBytes(8).toString("hex")}`
const secrets: Array<string> = []
let fleet: Fleet
let server: RunningServer
let receiver: Receiver
let clip = ""

const webhookEnv = { VIDPIPE_WEBHOOK_ALLOW_PRIVATE: "1", VIDPIPE_WEBHOOK_RETRY_SECONDS: "0.5", VIDPIPE_WEBHOOK_POLL_SECONDS: "0.2" }

beforeAll(async () => {
  fleet = await startFleet({ env: webhookEnv })
  clip = await makeClip({ output: path.join(fleet.storageDir, "clip.mp4"), durationSeconds: 2, width: 320, height: 240 })
  receiver = await startReceiver({ verify: await readmeVerifier(), secrets: () => secrets })
  server = await startServer(["--workers", "0"], { ...fleet.env, VIDPIPE_API_KEYS: key, VIDPIPE_UPLOAD_EXPIRY_SECONDS: "60" })
}, 180_000)

afterAll(async () => {
  await server?.stop()
  await receiver?.close()
  await fleet?.close()
})

describe("the webhook outbox", () => {
  it("delivers job.ready although the worker that marked the job ready was SIGKILLed right after", async () => {
    const created = await server.api("/v1/webhooks", { method: "POST", body: JSON.stringify({ url: receiver.url, events: ["job.ready"] }) })
    expect(created.status).toBe(201)
    secrets.push((await created.json()).secret)

    const doomed = fleet.startWorker("doomed", { VIDPIPE_FAULT: "die-after-marking-ready" })
    const death = exited(doomed)
    const bytes = await fs.readFile(clip)
    const job = await (await server.api("/v1/jobs", { method: "POST", body: JSON.stringify({ fileName: "clip.mp4", contentLength: bytes.length, ladder: [240] }) })).json()
    expect((await put(job.upload.url, bytes)).status).toBeLessThan(300)

    expect((await death).signal, doomed.log()).toBe("SIGKILL")
    const record = await fleet.job(job.jobId)
    expect(record.status).toBe("ready")
    expect(doomed.log()).not.toMatch(new RegExp(`job ${job.jobId}: ready`))

    const events = await waitFor(() => {
      const got = receiver.events().filter((event) => event.data.job.jobId === job.jobId)
      return got.length > 0 ? got : undefined
    }, 90_000, "job.ready at the receiver")
    expect(events.map((event) => event.type)).toEqual(["job.ready"])
    expect(events[0].data.job.playback.dash).toContain(`/cdn/${job.jobId}/manifest.mpd`)
    expect(receiver.received.filter((r) => !r.verified)).toEqual([])
    // Relayed: the job's outbox is empty again.
    await waitFor(async () => ((await fleet.job(job.jobId))?.outbox === undefined ? true : undefined), 30_000, "the outbox to empty")
  }, 240_000)
})
