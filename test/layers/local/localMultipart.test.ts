/**
 * Multipart uploads on `vidpipe serve` (localMultipart.ts), on folder storage both ways it can
 * keep them: written in place (each part at its offset in one file, published by a move) and as
 * an object per part joined at completion (what a store without in-place writes gets). Parts out
 * of order and sent again make the exact source; a part sent again has a new ETag; and, in place,
 * a completion never publishes while a part is being written, and a part never lands in a file
 * being published (the storage's record deletion or move held on a gate to catch each moment).
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { makeFolderStorage } from "../../../src/layers/local/FolderStorage.ts"
import { makeLocalMultipart, partsPrefixOf } from "../../../src/layers/local/localMultipart.ts"
import type { StorageShape } from "../../../src/services/Storage.ts"

const MiB = 1024 ** 2
const partSize = 5 * MiB
/** Three parts: 5 MiB, 5 MiB and what is left; bytes that differ wherever a misplaced part could land. */
const source = Uint8Array.from({ length: 2 * partSize + 12_345 }, (_, i) => (i * 31 + (i >> 20)) % 253)
const partOf = (n: number) => source.subarray((n - 1) * partSize, Math.min(source.length, n * partSize))
const slice = (n: number) => ({ partNumber: n, offset: (n - 1) * partSize, contentLength: partOf(n).length })
/** A part as uneven chunks, the way a socket hands them over. */
const bodyOf = (bytes: Uint8Array) => Stream.fromIterable([bytes.subarray(0, 70_000), bytes.subarray(70_000, 3 * MiB), bytes.subarray(3 * MiB)])
const target = { jobId: "job", key: "job/source.mp4", uploadId: "u1" }

const withFolder = <A, E>(use: (storage: StorageShape) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-local-multipart-"))),
    (root) => use(makeFolderStorage({ uploads: path.join(root, "uploads"), outputs: path.join(root, "outputs") })),
    (root) => Effect.promise(() => fs.rm(root, { recursive: true, force: true }))
  )

const ways = {
  "in place": (storage: StorageShape) => storage,
  "an object per part": ({ inPlace: _inPlace, ...storage }: StorageShape): StorageShape => storage
}

describe("multipart uploads on serve's storage", () => {
  for (const [way, shape] of Object.entries(ways)) {
    it.live(`${way}: parts out of order and sent again make the exact source; what is left goes`, () =>
      withFolder((folder) =>
        Effect.gen(function*() {
          const storage = shape(folder)
          assert.strictEqual(storage.inPlace === undefined, way !== "in place")
          const multipart = makeLocalMultipart(storage)
          yield* multipart.start(target.jobId, target.key, target.uploadId)
          const etags = new Map<number, string>()
          for (const n of [3, 1, 2]) etags.set(n, yield* multipart.storePart(target, slice(n), bodyOf(partOf(n))))
          // Part 2 again, with other bytes first, then right: the last one sent counts, with a new ETag.
          const wrong = Uint8Array.from(partOf(2), (byte) => byte ^ 0xff)
          const wrongEtag = yield* multipart.storePart(target, slice(2), bodyOf(wrong))
          assert.notStrictEqual(wrongEtag, etags.get(2))
          etags.set(2, yield* multipart.storePart(target, slice(2), bodyOf(partOf(2))))
          const listed = yield* multipart.listParts(target)
          assert.deepStrictEqual(listed.map((part) => [part.partNumber, part.size, part.etag]), [1, 2, 3].map((n) => [n, partOf(n).length, etags.get(n)]))

          const stale = yield* Effect.flip(multipart.complete(target, [1, 2, 3].map((n) => ({ partNumber: n, etag: n === 2 ? wrongEtag : etags.get(n)! }))))
          assert.strictEqual(stale._tag, "PartsRejected")
          yield* multipart.complete(target, [1, 2, 3].map((n) => ({ partNumber: n, etag: etags.get(n)! })))
          assert.deepStrictEqual(yield* storage.get("uploads", target.key), source)
          assert.deepStrictEqual(yield* storage.list("uploads", partsPrefixOf(target.jobId, target.uploadId)), [])
          // Completed: the upload is gone, and a late part is refused.
          assert.strictEqual((yield* Effect.flip(multipart.listParts(target)))._tag, "UploadNotFound")
          assert.strictEqual((yield* Effect.flip(multipart.storePart(target, slice(1), bodyOf(partOf(1)))))._tag, "UploadNotFound")
          assert.deepStrictEqual(yield* storage.get("uploads", target.key), source)
        })
      ))
  }

  it.live("in place: a completion while a part is being written is refused (PartsInFlight, retryable), and succeeds after", () =>
    withFolder((folder) =>
      Effect.gen(function*() {
        const reached = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        let gated = false
        // Part 2's second sending holds before its old record goes: completion still finds every record.
        const storage: StorageShape = {
          ...folder,
          delete: (area, key) =>
            gated && key.endsWith("00002.etag")
              ? Effect.andThen(Deferred.succeed(reached, undefined), Effect.andThen(Deferred.await(release), folder.delete(area, key)))
              : folder.delete(area, key)
        }
        const multipart = makeLocalMultipart(storage)
        yield* multipart.start(target.jobId, target.key, target.uploadId)
        const etags = yield* Effect.forEach([1, 2, 3], (n) => multipart.storePart(target, slice(n), bodyOf(partOf(n))))
        gated = true
        const again = yield* Effect.forkChild(multipart.storePart(target, slice(2), bodyOf(partOf(2))))
        yield* Deferred.await(reached)
        const refused = yield* Effect.flip(multipart.complete(target, etags.map((etag, i) => ({ partNumber: i + 1, etag }))))
        assert.strictEqual(refused._tag, "PartsInFlight")
        assert.isTrue(refused.retryable)
        assert.match(refused.message, /1 part\(s\) of this upload are still being received/)
        assert.strictEqual((yield* storage.head("uploads", target.key))._tag, "None")
        yield* Deferred.succeed(release, undefined)
        const newEtag = yield* Fiber.join(again)
        yield* multipart.complete(target, [etags[0]!, newEtag, etags[2]!].map((etag, i) => ({ partNumber: i + 1, etag })))
        assert.deepStrictEqual(yield* storage.get("uploads", target.key), source)
      })
    ))

  it.live("in place: a part arriving while the upload is being published is refused and changes nothing", () =>
    withFolder((folder) =>
      Effect.gen(function*() {
        const reached = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const inPlace = folder.inPlace!
        const storage: StorageShape = {
          ...folder,
          inPlace: {
            ...inPlace,
            publish: (area, from, key, options) =>
              Effect.andThen(Deferred.succeed(reached, undefined), Effect.andThen(Deferred.await(release), inPlace.publish(area, from, key, options)))
          }
        }
        const multipart = makeLocalMultipart(storage)
        yield* multipart.start(target.jobId, target.key, target.uploadId)
        const etags = yield* Effect.forEach([1, 2, 3], (n) => multipart.storePart(target, slice(n), bodyOf(partOf(n))))
        const completing = yield* Effect.forkChild(multipart.complete(target, etags.map((etag, i) => ({ partNumber: i + 1, etag }))))
        yield* Deferred.await(reached)
        const late = yield* Effect.flip(multipart.storePart(target, slice(1), bodyOf(new Uint8Array(partSize))))
        assert.strictEqual(late._tag, "UploadNotFound")
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(completing)
        assert.deepStrictEqual(yield* storage.get("uploads", target.key), source)
      })
    ))
})
