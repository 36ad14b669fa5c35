/**
 * The webhook dispatcher Lambda (src/entry/lambda/webhooksHandler.ts) over in-memory stores, a real
 * HTTP sender and a real receiver on 127.0.0.1: an idle run is one pass; a run with an event
 * waiting relays and delivers it, and has recorded the attempt by the time it resolves (Lambda
 * freezes the environment then); a run never goes past the window its context leaves.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Effect, Layer, References } from "effect"
import { recordEvent } from "../../src/domain/jobEvents.ts"
import { makeWebhooksHandler } from "../../src/entry/lambda/webhooksHandler.ts"
import { ownerViewAt } from "../../src/entry/http/playbackToken.ts"
import { makeMemoryJobStore } from "../../src/layers/local/MemoryJobStore.ts"
import { makeMemoryWebhookStore } from "../../src/layers/local/MemoryWebhookStore.ts"
import { systemResolver } from "../../src/layers/webhooks/hostAddress.ts"
import { httpWebhookSenderLayer } from "../../src/layers/webhooks/HttpWebhookSender.ts"
import { newJob } from "../../src/programs/jobRecords.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { defaultWebhookSettings } from "../../src/services/WebhookSettings.ts"
import { WebhookStore } from "../../src/services/WebhookStore.ts"
import type { Receiver } from "../support/webhookReceiver.ts"
import { readmeVerifier, startReceiver } from "../support/webhookReceiver.ts"

let receiver: Receiver
const secret = "whsec_lambda-test"
let answer = 200

beforeAll(async () => {
  receiver = await startReceiver({ verify: await readmeVerifier(), secrets: () => [secret], answer: () => answer })
})
afterAll(() => receiver?.close())

const setup = () => {
  const store = Effect.runSync(makeMemoryJobStore)
  const webhooks = Effect.runSync(makeMemoryWebhookStore)
  const services = Layer.mergeAll(
    Layer.succeed(JobStore, store),
    Layer.succeed(WebhookStore, webhooks),
    httpWebhookSenderLayer({ allowPrivate: true, resolve: systemResolver, timeoutMillis: 5_000 }),
    Layer.succeed(References.MinimumLogLevel, "None")
  )
  const settings = Effect.succeed({ ...defaultWebhookSettings, viewOf: ownerViewAt({ mode: "public" }, "https://cdn.test"), pollMillis: 50 })
  const handler = makeWebhooksHandler(services, settings)
  return { store, webhooks, handler }
}

const jobWithEvent = (id: string, owner: string) =>
  recordEvent(newJob({ id, fileName: "clip.mp4", sourceKey: `${id}/clip.mp4`, outputPrefix: `${id}/`, segmentSeconds: 4, now: Date.now(), owner }), "job.created", Date.now())

describe("the webhooks Lambda", () => {
  it("does one pass and returns when there is nothing to do", async () => {
    const { handler } = setup()
    expect(await handler({}, { getRemainingTimeInMillis: () => 70_000 })).toEqual({ passes: 1 })
    await handler.dispose()
  })

  it("relays and delivers an event, and has recorded the attempt by the time it resolves", async () => {
    answer = 200
    const { store, webhooks, handler } = setup()
    await Effect.runPromise(webhooks.createEndpoint({ id: "whk_1", owner: "key_a", url: `${receiver.url}`, events: ["job.created"], createdAt: 0, secrets: [{ value: secret, createdAt: 0 }] }))
    await Effect.runPromise(store.create(jobWithEvent("job1", "key_a")))
    const before = receiver.received.length
    const result = await handler({}, { getRemainingTimeInMillis: () => 70_000 })
    expect(result.passes).toBeGreaterThanOrEqual(2)
    // Nothing is left for after the freeze: delivered, recorded, the outbox emptied.
    const [delivery] = await Effect.runPromise(webhooks.listDeliveries("whk_1", 10))
    expect(delivery?.status).toBe("delivered")
    expect(delivery?.attempts.map((a) => a.statusCode)).toEqual([200])
    expect((await Effect.runPromise(store.get("job1"))).outbox).toBeUndefined()
    const got = receiver.received.slice(before)
    expect(got).toHaveLength(1)
    expect(got[0]?.verified).toBe(true)
    expect(JSON.parse(got[0]!.body).data.job).toMatchObject({ jobId: "job1", status: "queued" })
    expect(await handler({}, { getRemainingTimeInMillis: () => 70_000 })).toEqual({ passes: 1 })
    await handler.dispose()
  })

  it("starts no pass when its context leaves less than the reserve, and leaves the work for the next run", async () => {
    const { store, webhooks, handler } = setup()
    await Effect.runPromise(webhooks.createEndpoint({ id: "whk_2", owner: "key_b", url: receiver.url, events: ["job.created"], createdAt: 0, secrets: [{ value: secret, createdAt: 0 }] }))
    await Effect.runPromise(store.create(jobWithEvent("job2", "key_b")))
    // 15 s left: all of it is the reserve an attempt may need before the freeze: no pass starts.
    const before = receiver.received.length
    expect(await handler({}, { getRemainingTimeInMillis: () => 15_000 })).toEqual({ passes: 0 })
    expect(receiver.received.length).toBe(before)
    expect((await Effect.runPromise(store.get("job2"))).outbox).toHaveLength(1)
    expect(await handler({}, { getRemainingTimeInMillis: () => 70_000 })).toEqual({ passes: 2 })
    expect(receiver.received.length).toBe(before + 1)
    await handler.dispose()
  })
})
