/**
 * SSRF on a real `vidpipe serve` with private addresses refused (the default), names resolved by a
 * real DNS server on 127.0.0.1 that the test controls: a loopback, metadata or private endpoint is
 * refused at creation with a 400 naming `url`; a name that resolved to a public address when it
 * was registered and to 127.0.0.1 later is not called (a receiver listens there), and the
 * delivery log says why.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { DnsServer } from "../support/dnsServer.ts"
import { startDnsServer } from "../support/dnsServer.ts"
import { waitFor } from "../support/fleet.ts"
import type { RunningServer } from "../support/server.ts"
import { callAs, startServer } from "../support/server.ts"
import type { Receiver } from "../support/webhookReceiver.ts"
import { readmeVerifier, startReceiver } from "../support/webhookReceiver.ts"

const key = `key-${randomBytes(8).toString("hex")}`
let workdir = ""
let dns: DnsServer
let server: RunningServer
let receiver: Receiver

const as = (method: string, url: string, body?: unknown) => callAs(server.base, key, method, url, body)

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-webhook-ssrf-"))
  dns = await startDnsServer()
  dns.set("internal.test", ["10.0.0.1"])
  dns.set("metadata.test", ["169.254.169.254"])
  dns.set("mixed.test", ["1.1.1.1", "192.168.1.10"])
  dns.set("hook.test", ["1.1.1.1"])
  receiver = await startReceiver({ verify: await readmeVerifier(), secrets: () => [] })
  server = await startServer(["--workers", "1"], {
    VIDPIPE_STORAGE: `file://${workdir}`,
    VIDPIPE_API_KEYS: key,
    VIDPIPE_WEBHOOK_DNS_SERVERS: dns.address,
    VIDPIPE_WEBHOOK_RETRY_SECONDS: "0.5",
    VIDPIPE_WEBHOOK_POLL_SECONDS: "0.1"
  })
}, 180_000)

afterAll(async () => {
  await server?.stop()
  await receiver?.close()
  await dns?.close()
  await fs.rm(workdir, { recursive: true, force: true })
})

describe("webhook endpoint addresses", () => {
  it.each([
    ["http://127.0.0.1/", /127\.0\.0\.1.*loopback/],
    ["http://[::1]:8080/hook", /::1.*loopback/],
    ["http://169.254.169.254/latest/meta-data/", /169\.254\.169\.254.*metadata/],
    ["http://internal.test/hook", /internal\.test resolves to 10\.0\.0\.1.*private/],
    ["http://metadata.test/", /169\.254\.169\.254/],
    ["http://mixed.test/", /192\.168\.1\.10.*private/],
    ["https://user:pass@hook.test/", /user name or password/],
    ["ftp://hook.test/", /http or https/],
    ["not a url", /not a URL/]
  ])("refuses %s at creation with a 400 naming url", async (url, reason) => {
    const answer = await as("POST", "/v1/webhooks", { url, events: ["job.ready"] })
    expect(answer.status, answer.text).toBe(400)
    expect(answer.json.error).toMatchObject({ _tag: "BadRequest", field: "url" })
    expect(answer.json.error.message).toMatch(reason)
  })

  it("does not call a name that resolves to a private address by the time it is called", async () => {
    const url = `http://hook.test:${receiver.port}/hooks`
    const created = await as("POST", "/v1/webhooks", { url, events: ["job.created"] })
    expect(created.status, created.text).toBe(201)
    // Now the name points where the receiver listens: a guard that trusted the first answer would reach it.
    dns.set("hook.test", ["127.0.0.1"])
    const job = await as("POST", "/v1/jobs", { fileName: "clip.mp4", contentLength: 10 })
    expect(job.status, job.text).toBe(201)
    const delivery = await waitFor(async () => {
      const log = await as("GET", `/v1/webhooks/${created.json.id}/deliveries`)
      const found = log.json.deliveries.find((d: any) => d.jobId === job.json.jobId)
      return found !== undefined && found.attempts.length >= 2 ? found : undefined
    }, 60_000, "two refused attempts")
    expect(delivery.status).toBe("pending")
    for (const attempt of delivery.attempts) {
      expect(attempt.statusCode).toBeUndefined()
      expect(attempt.error).toMatch(/refused: hook\.test resolves to 127\.0\.0\.1/)
    }
    expect(receiver.received).toEqual([])
    expect(dns.queries.filter((q) => q.name === "hook.test").length).toBeGreaterThanOrEqual(3)
  }, 90_000)
})
