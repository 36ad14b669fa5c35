/**
 * The JobStore contract: records round-trip, updates are atomic, listing is newest first.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { recordEvent, withoutEvents } from "../../src/domain/jobEvents.ts"
import { newJob } from "../../src/programs/jobRecords.ts"
import { JobStore } from "../../src/services/JobStore.ts"

export const jobStoreContract = (name: string, makeLayer: () => Layer.Layer<JobStore, unknown>) =>
  describe(`JobStore contract: ${name}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, JobStore>) => effect.pipe(Effect.provide(makeLayer()))
    const job = (id: string, now: number) =>
      newJob({ id, fileName: "clip.mp4", sourceKey: `${id}/clip.mp4`, outputPrefix: `${id}/`, segmentSeconds: 4, now })

    it.live("creates, reads, updates and deletes a job", () =>
      run(Effect.gen(function*() {
        const store = yield* JobStore
        const id = `j-${Math.random().toString(36).slice(2)}`
        yield* store.create(job(id, 1))
        assert.strictEqual((yield* store.get(id)).fileName, "clip.mp4")
        const duplicate = yield* Effect.flip(store.create(job(id, 2)))
        assert.strictEqual(duplicate._tag, "JobStoreFailed")
        const updated = yield* store.update(id, (j) => ({ ...j, status: "processing" }))
        assert.strictEqual(updated.status, "processing")
        assert.strictEqual((yield* store.get(id)).status, "processing")
        yield* store.delete(id)
        assert.strictEqual((yield* Effect.flip(store.get(id)))._tag, "JobNotFound")
        assert.strictEqual((yield* Effect.flip(store.update(id, (j) => j)))._tag, "JobNotFound")
      })))

    it.live("concurrent updates lose no write", () =>
      run(Effect.gen(function*() {
        const store = yield* JobStore
        const id = `j-${Math.random().toString(36).slice(2)}`
        yield* store.create(job(id, 1))
        yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          () => store.update(id, (j) => ({ ...j, updatedAt: j.updatedAt + 1 })),
          { concurrency: "unbounded" }
        )
        assert.strictEqual((yield* store.get(id)).updatedAt, 21)
      })))

    it.live("lists newest first", () =>
      run(Effect.gen(function*() {
        const store = yield* JobStore
        const tag = Math.random().toString(36).slice(2)
        yield* store.create(job(`old-${tag}`, 1000))
        yield* store.create(job(`new-${tag}`, 2000))
        const ids = (yield* store.list({ limit: 100 })).map((j) => j.id).filter((id) => id.endsWith(tag))
        assert.deepStrictEqual(ids, [`new-${tag}`, `old-${tag}`])
        const older = (yield* store.list({ limit: 1000, createdBefore: 2000 })).map((j) => j.id).filter((id) => id.endsWith(tag))
        assert.deepStrictEqual(older, [`old-${tag}`])
        yield* store.update(`old-${tag}`, (j) => ({ ...j, status: "ready" }))
        const active = (yield* store.list({ limit: 1000, activeOnly: true })).map((j) => j.id).filter((id) => id.endsWith(tag))
        assert.deepStrictEqual(active, [`new-${tag}`])
      })))

    it.live("lists one owner's jobs from its own index: paged, and without the deleted ones", () =>
      run(Effect.gen(function*() {
        const store = yield* JobStore
        const tag = Math.random().toString(36).slice(2)
        const [mine, theirs] = [`owner-a-${tag}`, `owner-b-${tag}`]
        // Interleaved with the other owner's, so a page of everyone's jobs would hold both.
        for (let i = 1; i <= 4; i++) {
          yield* store.create({ ...job(`a${i}-${tag}`, 1000 * i), owner: mine })
          yield* store.create({ ...job(`b${i}-${tag}`, 1000 * i + 500), owner: theirs })
        }
        yield* store.create(job(`none-${tag}`, 9000))
        const firstPage = yield* store.list({ owner: mine, limit: 2 })
        assert.deepStrictEqual(firstPage.map((j) => j.id), [`a4-${tag}`, `a3-${tag}`])
        const nextPage = yield* store.list({ owner: mine, limit: 2, createdBefore: 3000 })
        assert.deepStrictEqual(nextPage.map((j) => j.id), [`a2-${tag}`, `a1-${tag}`])
        yield* store.delete(`a3-${tag}`)
        assert.deepStrictEqual((yield* store.list({ owner: mine, limit: 10 })).map((j) => j.id), [`a4-${tag}`, `a2-${tag}`, `a1-${tag}`])
        assert.deepStrictEqual((yield* store.list({ owner: theirs, limit: 10 })).map((j) => j.owner), [theirs, theirs, theirs, theirs])
      })))
    it.live("lists the jobs with events in their outbox, kept in step by every write", () =>
      run(Effect.gen(function*() {
        const store = yield* JobStore
        const tag = Math.random().toString(36).slice(2)
        const pending = () => store.list({ withEvents: true, limit: 1000 }).pipe(Effect.map((jobs) => jobs.map((j) => j.id).filter((id) => id.endsWith(tag))))
        const owned = { ...job(`e1-${tag}`, 1000), owner: "k" }
        yield* store.create(recordEvent(owned, "job.created", 1000))
        yield* store.create({ ...job(`e2-${tag}`, 2000), owner: "k" })
        assert.deepStrictEqual(yield* pending(), [`e1-${tag}`])
        const events = (yield* store.get(`e1-${tag}`)).outbox ?? []
        assert.deepStrictEqual(events.map((e) => [e.type, e.job.id]), [["job.created", `e1-${tag}`]])
        yield* store.update(`e2-${tag}`, (j) => recordEvent({ ...j, status: "ready" }, "job.ready", 3000))
        assert.deepStrictEqual((yield* pending()).sort(), [`e1-${tag}`, `e2-${tag}`].sort())
        yield* store.update(`e1-${tag}`, (j) => withoutEvents(j, new Set(events.map((e) => e.id))))
        assert.deepStrictEqual(yield* pending(), [`e2-${tag}`])
        assert.strictEqual((yield* store.get(`e1-${tag}`)).outbox, undefined)
        yield* store.delete(`e2-${tag}`)
        assert.deepStrictEqual(yield* pending(), [])
      })))
  })
