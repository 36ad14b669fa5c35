/**
 * The signature every delivery carries, checked with the README's own verification snippet: a
 * signed body verifies; a changed body, an old timestamp, another secret or a garbled header do
 * not; while a secret is rotated out, a receiver holding either secret accepts.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { signatureHeader } from "../../src/domain/webhookSignature.ts"
import type { Verify } from "../support/webhookReceiver.ts"
import { readmeVerifier } from "../support/webhookReceiver.ts"

let verify: Verify
beforeAll(async () => {
  verify = await readmeVerifier()
})

const body = JSON.stringify({ id: "evt_1", type: "job.ready", createdAt: "2026-12-06T00:00:00.000Z", data: { job: { jobId: "j" } } })
const now = Math.floor(Date.now() / 1000)

describe("webhook signatures, verified with the README's snippet", () => {
  it("verify for the body and secret they were made with", () => {
    expect(verify(body, signatureHeader(["whsec_a"], now, body), "whsec_a")).toBe(true)
    expect(verify(Buffer.from(body), signatureHeader(["whsec_a"], now, body), "whsec_a")).toBe(true)
  })

  it("fail for a tampered body, another secret, or a garbled header", () => {
    const header = signatureHeader(["whsec_a"], now, body)
    expect(verify(body.replace("job.ready", "job.failed"), header, "whsec_a")).toBe(false)
    expect(verify(`${body} `, header, "whsec_a")).toBe(false)
    expect(verify(body, header, "whsec_b")).toBe(false)
    expect(verify(body, header.replace(/v1=(.)/, (_, c) => `v1=${c === "0" ? "1" : "0"}`), "whsec_a")).toBe(false)
    expect(verify(body, "", "whsec_a")).toBe(false)
    expect(verify(body, `t=${now}`, "whsec_a")).toBe(false)
  })

  it("fail for an old timestamp (a replay), even when the signature over it is right", () => {
    const old = now - 301
    expect(verify(body, signatureHeader(["whsec_a"], old, body), "whsec_a")).toBe(false)
    expect(verify(body, signatureHeader(["whsec_a"], now + 301, body), "whsec_a")).toBe(false)
    expect(verify(body, signatureHeader(["whsec_a"], now - 299, body), "whsec_a")).toBe(true)
    // A timestamp changed to a fresh one no longer matches the signature made over the old one.
    const replayed = signatureHeader(["whsec_a"], old, body).replace(`t=${old}`, `t=${now}`)
    expect(verify(body, replayed, "whsec_a")).toBe(false)
  })

  it("carry one v1 per secret in use: during a rotation either secret verifies", () => {
    const header = signatureHeader(["whsec_new", "whsec_old"], now, body)
    expect(header.match(/v1=/g)).toHaveLength(2)
    expect(verify(body, header, "whsec_new")).toBe(true)
    expect(verify(body, header, "whsec_old")).toBe(true)
    expect(verify(body, header, "whsec_other")).toBe(false)
  })
})
