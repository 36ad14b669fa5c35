/**
 * The WebhookStore contract: endpoints per owner with atomic updates; deliveries created once per
 * id, claimed by one dispatcher at a time until their claim lapses, rescheduled or settled by
 * `saveDelivery`, listed newest first per endpoint.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Layer } from "effect"
import type { Delivery, WebhookEndpoint } from "../../src/domain/Webhooks.ts"
import { WebhookStore } from "../../src/services/WebhookStore.ts"

export const webhookStoreContract = (name: string, makeLayer: () => Layer.Layer<WebhookStore, unknown>) =>
  describe(`WebhookStore contract: ${name}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, WebhookStore>) => effect.pipe(Effect.provide(makeLayer()))
    const tag = () => Math.random().toString(36).slice(2)
    const endpoint = (id: string, owner: string, createdAt: number): WebhookEndpoint => ({
      id, owner, url: "https://hooks.example/x", events: ["job.ready"], createdAt, secrets: [{ value: "whsec_1", createdAt }]
    })
    const delivery = (id: string, endpointId: string, at: number): Delivery => ({
      id, endpointId, eventId: `evt-${id}`, eventType: "job.ready", jobId: "j", body: "{}",
      status: "pending", createdAt: at, nextAttemptAt: at, retryUntil: at + 86_400_000, attempts: []
    })
    /** Claims far in the future of any other test's deliveries, so only this test's are due. */
    const base = () => 4_000_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1000

    it.live("keeps endpoints per owner, oldest first, and updates them atomically", () =>
      run(Effect.gen(function*() {
        const store = yield* WebhookStore
        const t = tag()
        yield* store.createEndpoint(endpoint(`w2-${t}`, `a-${t}`, 2000))
        yield* store.createEndpoint(endpoint(`w1-${t}`, `a-${t}`, 1000))
        yield* store.createEndpoint(endpoint(`w3-${t}`, `b-${t}`, 3000))
        assert.deepStrictEqual((yield* store.listEndpoints(`a-${t}`)).map((e) => e.id), [`w1-${t}`, `w2-${t}`])
        assert.deepStrictEqual((yield* store.listEndpoints(`b-${t}`)).map((e) => e.id), [`w3-${t}`])
        yield* Effect.forEach(Array.from({ length: 10 }, (_, i) => i), (i) =>
          store.updateEndpoint(`w1-${t}`, (e) => ({ ...e, secrets: [...e.secrets, { value: `s${i}`, createdAt: i }] })), { concurrency: "unbounded" })
        assert.strictEqual((yield* store.getEndpoint(`w1-${t}`)).secrets.length, 11)
        yield* store.deleteEndpoint(`w1-${t}`)
        assert.strictEqual((yield* Effect.flip(store.getEndpoint(`w1-${t}`)))._tag, "WebhookNotFound")
        assert.strictEqual((yield* Effect.flip(store.updateEndpoint(`w1-${t}`, (e) => e)))._tag, "WebhookNotFound")
        assert.deepStrictEqual((yield* store.listEndpoints(`a-${t}`)).map((e) => e.id), [`w2-${t}`])
      })))

    it.live("creates a delivery once per id; a second add keeps the first", () =>
      run(Effect.gen(function*() {
        const store = yield* WebhookStore
        const t = tag()
        const at = base()
        assert.isTrue(yield* store.addDelivery(delivery(`d-${t}`, `w-${t}`, at)))
        assert.isFalse(yield* store.addDelivery({ ...delivery(`d-${t}`, `w-${t}`, at), body: "second" }))
        assert.strictEqual((yield* store.getDelivery(`d-${t}`)).body, "{}")
        assert.strictEqual((yield* Effect.flip(store.getDelivery(`missing-${t}`)))._tag, "WebhookNotFound")
      })))

    it.live("hands a due delivery to one claimer until its claim lapses, then to the next", () =>
      run(Effect.gen(function*() {
        const store = yield* WebhookStore
        const t = tag()
        const at = base()
        yield* store.addDelivery(delivery(`d-${t}`, `w-${t}`, at))
        yield* store.addDelivery({ ...delivery(`later-${t}`, `w-${t}`, at), nextAttemptAt: at + 500 })
        const claims = yield* Effect.forEach([1, 2, 3, 4], () => store.claimDue(at, 1000, 10), { concurrency: "unbounded" })
        const mine = claims.map((c) => c.map((d) => d.id).filter((id) => id.endsWith(t)))
        assert.deepStrictEqual(mine.flat(), [`d-${t}`], "due once, to one claimer; the later one not yet")
        assert.deepStrictEqual((yield* store.claimDue(at + 999, 1000, 10)).map((d) => d.id).filter((id) => id.endsWith(t)), [`later-${t}`])
        assert.deepStrictEqual((yield* store.claimDue(at + 1000, 1000, 10)).map((d) => d.id).filter((id) => id.endsWith(t)), [`d-${t}`])
      })))

    it.live("reschedules a pending delivery at its next attempt and forgets a settled one", () =>
      run(Effect.gen(function*() {
        const store = yield* WebhookStore
        const t = tag()
        const at = base()
        yield* store.addDelivery(delivery(`p-${t}`, `w-${t}`, at))
        yield* store.addDelivery(delivery(`s-${t}`, `w-${t}`, at))
        yield* store.claimDue(at, 60_000, 10)
        yield* store.saveDelivery({ ...delivery(`p-${t}`, `w-${t}`, at), nextAttemptAt: at + 200, attempts: [{ at, statusCode: 500, latencyMs: 3, retryInMs: 200 }] })
        yield* store.saveDelivery({ ...delivery(`s-${t}`, `w-${t}`, at), status: "delivered", attempts: [{ at, statusCode: 200, latencyMs: 3 }] })
        const due = (yield* store.claimDue(at + 200, 1000, 10)).filter((d) => d.id.endsWith(t))
        assert.deepStrictEqual(due.map((d) => [d.id, d.attempts.length]), [[`p-${t}`, 1]])
        assert.deepStrictEqual((yield* store.claimDue(at + 120_000, 1000, 10)).map((d) => d.id).filter((id) => id.startsWith("s-") && id.endsWith(t)), [])
        assert.strictEqual((yield* store.getDelivery(`s-${t}`)).status, "delivered")
      })))

    it.live("lists an endpoint's deliveries newest first; deleting the endpoint unschedules its pending ones", () =>
      run(Effect.gen(function*() {
        const store = yield* WebhookStore
        const t = tag()
        const at = base()
        yield* store.createEndpoint(endpoint(`w-${t}`, `o-${t}`, 1))
        yield* store.addDelivery(delivery(`d1-${t}`, `w-${t}`, at))
        yield* store.addDelivery(delivery(`d2-${t}`, `w-${t}`, at + 1))
        yield* store.addDelivery(delivery(`x-${t}`, `other-${t}`, at + 2))
        assert.deepStrictEqual((yield* store.listDeliveries(`w-${t}`, 10)).map((d) => d.id), [`d2-${t}`, `d1-${t}`])
        assert.deepStrictEqual((yield* store.listDeliveries(`w-${t}`, 1)).map((d) => d.id), [`d2-${t}`])
        yield* store.deleteEndpoint(`w-${t}`)
        const due = (yield* store.claimDue(at + 10, 1000, 100)).map((d) => d.id).filter((id) => id.endsWith(t))
        assert.deepStrictEqual(due, [`x-${t}`])
      })))
  })
