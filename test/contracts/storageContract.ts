/**
 * The Storage contract: two areas, atomic puts, conditional create, listing by prefix,
 * a readable location for ffmpeg, streamed reads, and copies to local files (a worker's source copy).
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

    it.live("streams an object's bytes as stored; a missing key fails with ObjectNotFound", () =>
      run(Effect.gen(function*() {
        const storage = yield* Storage
        const key = `${prefix()}streamed.bin`
        // Several read-sized chunks, so the bytes come in more than one piece.
        const bytes = new Uint8Array(200 * 1024).map((_, i) => (i * 7) % 251)
        yield* storage.put("uploads", key, bytes)
        const chunks = yield* Stream.runCollect(storage.getStream("uploads", key))
        assert.deepStrictEqual(new Uint8Array(Buffer.concat([...chunks])), bytes)
        const missing = yield* Effect.flip(Stream.runCollect(storage.getStream("uploads", `${prefix()}nothing.bin`)))
        assert.strictEqual(missing._tag, "ObjectNotFound")
      })))

    it.live("composes objects, in order, into a new one; conditionally; a missing source stores nothing", () =>
      run(Effect.gen(function*() {
        const storage = yield* Storage
        const base = prefix()
        const parts = [new Uint8Array(150 * 1024).fill(1), new Uint8Array(70 * 1024).fill(2), new Uint8Array(5).fill(3)]
        const keys = parts.map((_, i) => `${base}parts/${i + 1}`)
        yield* Effect.forEach(parts, (bytes, i) => storage.put("uploads", keys[i]!, bytes))
        const key = `${base}joined.bin`
        yield* storage.compose("uploads", key, [keys[0]!, keys[1]!, keys[2]!], { ifNoneMatch: true })
        assert.deepStrictEqual(yield* storage.get("uploads", key), new Uint8Array(Buffer.concat(parts)))
        // The sources stay; a second conditional compose finds the object there.
        assert.strictEqual((yield* storage.list("uploads", `${base}parts/`)).length, 3)
        assert.strictEqual((yield* Effect.flip(storage.compose("uploads", key, keys, { ifNoneMatch: true })))._tag, "ObjectExists")
        const other = `${base}other.bin`
        const missing = yield* Effect.flip(storage.compose("uploads", other, [keys[0]!, `${base}parts/none`]))
        assert.strictEqual(missing._tag, "ObjectNotFound")
        assert.isTrue(Option.isNone(yield* storage.head("uploads", other)))
      })))

    it.live("copies an object to a local file, replacing what is there; the file outlives the object", () =>
      run(Effect.gen(function*() {
        const storage = yield* Storage
        const folder = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-storage-copy-")))
        const key = `${prefix()}source.bin`
        const bytes = new Uint8Array(300 * 1024).map((_, i) => (i * 13) % 253)
        yield* storage.put("uploads", key, bytes)
        const target = path.join(folder, "copy.bin")
        yield* Effect.promise(() => fs.writeFile(target, "stale, and longer than nothing"))
        const announced: Array<number> = []
        yield* storage.copyToFile("uploads", key, target, { beforeCopy: (size) => Effect.sync(() => void announced.push(size)) })
        assert.deepStrictEqual(new Uint8Array(yield* Effect.promise(() => fs.readFile(target))), bytes)
        // A store that really writes bytes says how many first (a hard link writes none).
        assert.isTrue(announced.every((size) => size === bytes.length), `beforeCopy saw ${announced}`)
        yield* storage.delete("uploads", key)
        assert.deepStrictEqual(new Uint8Array(yield* Effect.promise(() => fs.readFile(target))), bytes)
        const missing = yield* Effect.flip(storage.copyToFile("uploads", key, path.join(folder, "missing.bin")))
        assert.strictEqual(missing._tag, "ObjectNotFound")
        assert.deepStrictEqual(yield* Effect.promise(() => fs.readdir(folder)), ["copy.bin"])
        yield* Effect.promise(() => fs.rm(folder, { recursive: true, force: true }))
      })))

    it.live("a copy refused before it starts (beforeCopy fails) leaves no file; only a hard link skips beforeCopy", () =>
      run(Effect.gen(function*() {
        const storage = yield* Storage
        // Another file system than a folder store's (/dev/shm is a tmpfs on Linux): a real copy, not a link.
        const base = yield* Effect.promise(() => fs.access("/dev/shm", fs.constants.W_OK).then(() => "/dev/shm", () => os.tmpdir()))
        const folder = yield* Effect.promise(() => fs.mkdtemp(path.join(base, "vidpipe-storage-refused-")))
        const key = `${prefix()}big.bin`
        yield* storage.put("uploads", key, new Uint8Array(64 * 1024))
        const target = path.join(folder, "copy.bin")
        let asked: number | undefined
        const outcome = yield* Effect.result(storage.copyToFile("uploads", key, target, {
          beforeCopy: (size) => Effect.suspend(() => {
            asked = size
            return Effect.fail("refused" as const)
          })
        }))
        const left = yield* Effect.promise(() => fs.readdir(folder))
        const links = left.length === 0 ? 0 : (yield* Effect.promise(() => fs.stat(target))).nlink
        yield* Effect.promise(() => fs.rm(folder, { recursive: true, force: true }))
        if (asked === undefined) {
          // No bytes written, so nothing to agree to: the file must be a hard link of the stored object.
          assert.strictEqual(outcome._tag, "Success")
          assert.isAtLeast(links, 2, "a copy made without asking beforeCopy")
        } else {
          assert.strictEqual(asked, 64 * 1024)
          assert.strictEqual(outcome._tag === "Failure" ? outcome.failure : outcome._tag, "refused")
          assert.deepStrictEqual(left, [])
        }
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
