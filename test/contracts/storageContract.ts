/**
 * The Storage contract: two areas, atomic puts, conditional create, listing by prefix,
 * and a readable location for ffmpeg.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Stream } from "effect"
import { Storage } from "../../src/services/Storage.ts"

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

export const storageContract = (name: string, makeLayer: () => Layer.Layer<Storage, unknown>) =>
  describe(`Storage contract: ${name}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, Storage>) => effect.pipe(Effect.provide(makeLayer()))
    const prefix = () => `t-${Math.random().toString(36).slice(2)}/`

    it.live("puts, heads, gets and deletes an object", () =>
      run(Effect.gen(function*() {
        const storage = yield* Storage
        const key = `${prefix()}a/b.txt`
        yield* storage.put("outputs", key, "hello", { contentType: "text/plain" })
        assert.strictEqual(text(yield* storage.get("outputs", key)), "hello")
        assert.deepStrictEqual(yield* storage.head("outputs", key), Option.some({ key, size: 5 }))
        yield* storage.delete("outputs", key)
        assert.isTrue(Option.isNone(yield* storage.head("outputs", key)))
        const missing = yield* Effect.flip(storage.get("outputs", key))
        assert.strictEqual(missing._tag, "ObjectNotFound")
      })))

    it.live("keeps the two areas apart", () =>
      run(Effect.gen(function*() {
        const storage = yield* Storage
        const key = `${prefix()}same.bin`
        yield* storage.put("uploads", key, new Uint8Array([1, 2, 3]))
        assert.isTrue(Option.isNone(yield* storage.head("outputs", key)))
        assert.deepStrictEqual([...(yield* storage.get("uploads", key))], [1, 2, 3])
      })))

    it.live("a conditional put refuses to overwrite, an unconditional one replaces", () =>
      run(Effect.gen(function*() {
        const storage = yield* Storage
        const key = `${prefix()}manifest.mpd`
        yield* storage.put("outputs", key, "first", { ifNoneMatch: true })
        const refused = yield* Effect.flip(storage.put("outputs", key, "second", { ifNoneMatch: true }))
        assert.strictEqual(refused._tag, "ObjectExists")
        assert.strictEqual(text(yield* storage.get("outputs", key)), "first")
        yield* storage.put("outputs", key, "third")
        assert.strictEqual(text(yield* storage.get("outputs", key)), "third")
      })))

    it.live("only one of many concurrent conditional puts wins", () =>
      run(Effect.gen(function*() {
        const storage = yield* Storage
        const key = `${prefix()}race.mpd`
        const results = yield* Effect.forEach(
          Array.from({ length: 8 }, (_, i) => i),
          (i) => Effect.result(storage.put("outputs", key, `writer ${i}`, { ifNoneMatch: true })),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(results.filter((r) => r._tag === "Success").length, 1)
      })))

    it.live("lists by prefix with sizes, and deletes a prefix", () =>
      run(Effect.gen(function*() {
        const storage = yield* Storage
        const base = prefix()
        yield* storage.put("outputs", `${base}video/720p/init.mp4`, "ab")
        yield* storage.put("outputs", `${base}video/720p/seg-00001.m4s`, "abcd")
        yield* storage.put("outputs", `${base}audio/init.mp4`, "a")
        const video = yield* storage.list("outputs", `${base}video/`)
        assert.deepStrictEqual(video, [
          { key: `${base}video/720p/init.mp4`, size: 2 },
          { key: `${base}video/720p/seg-00001.m4s`, size: 4 }
        ])
        assert.strictEqual((yield* storage.list("outputs", base)).length, 3)
        assert.strictEqual(yield* storage.deletePrefix("outputs", `${base}video/`), 2)
        assert.deepStrictEqual((yield* storage.list("outputs", base)).map((o) => o.key), [`${base}audio/init.mp4`])
      })))

    it.live("stores a local file and gives ffmpeg a location to read it from", () =>
      run(Effect.gen(function*() {
        const storage = yield* Storage
        const folder = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-storage-")))
        const local = path.join(folder, "source.bin")
        const bytes = new Uint8Array(256 * 1024).map((_, i) => i % 251)
        yield* Effect.promise(() => fs.writeFile(local, bytes))
        const key = `${prefix()}source.bin`
        yield* storage.putFile("uploads", key, local)
        assert.deepStrictEqual((yield* storage.head("uploads", key)).pipe(Option.map((o) => o.size)), Option.some(bytes.length))
        const location = yield* storage.readableUrl("uploads", key)
        const read = location.startsWith("http")
          ? new Uint8Array(yield* Effect.promise(() => fetch(location).then((r) => r.arrayBuffer())))
          : new Uint8Array(yield* Effect.promise(() => fs.readFile(location)))
        assert.deepStrictEqual(read, bytes)
        yield* Effect.promise(() => fs.rm(folder, { recursive: true, force: true }))
        const missing = yield* Effect.flip(storage.readableUrl("uploads", `${prefix()}nothing`))
        assert.strictEqual(missing._tag, "ObjectNotFound")
      })))

    it.live("streams exactly the declared number of bytes, and stores nothing on a mismatch", () =>
      run(Effect.gen(function*() {
        const storage = yield* Storage
        const key = `${prefix()}upload.bin`
        const chunks = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])]
        yield* storage.putStream("uploads", key, Stream.fromIterable(chunks), { contentLength: 5 })
        assert.deepStrictEqual([...(yield* storage.get("uploads", key))], [1, 2, 3, 4, 5])
        const short = `${prefix()}short.bin`
        const tooFew = yield* Effect.flip(storage.putStream("uploads", short, Stream.fromIterable(chunks), { contentLength: 6 }))
        assert.strictEqual(tooFew._tag, "StorageFailed")
        const tooMany = yield* Effect.flip(storage.putStream("uploads", short, Stream.fromIterable(chunks), { contentLength: 4 }))
        assert.strictEqual(tooMany._tag, "StorageFailed")
        assert.isTrue(Option.isNone(yield* storage.head("uploads", short)))
        assert.deepStrictEqual((yield* storage.list("uploads", short)), [])
      })))

    it.live("refuses keys that would escape the area", () =>
      run(Effect.gen(function*() {
        const storage = yield* Storage
        for (const key of ["../escape.txt", "/absolute.txt", "a/../../b.txt", ""]) {
          const error = yield* Effect.flip(storage.put("outputs", key, "x"))
          assert.strictEqual(error._tag, "StorageFailed", key)
        }
      })))
  })
