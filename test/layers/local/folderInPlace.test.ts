/**
 * Folder storage's in-place writes (`Storage.inPlace`), what a multipart upload on `vidpipe serve`
 * assembles its source with: parts written at their offsets in any order make the exact bytes;
 * publishing moves the file (create-if-absent keeps an existing object); a write after the file
 * was published or removed finds nothing to write into; a body of the wrong length fails.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { makeFolderStorage } from "../../../src/layers/local/FolderStorage.ts"

const withInPlace = <A, E>(use: (storage: ReturnType<typeof makeFolderStorage>, inPlace: NonNullable<ReturnType<typeof makeFolderStorage>["inPlace"]>, root: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-in-place-"))),
    (root) => {
      const storage = makeFolderStorage({ uploads: path.join(root, "uploads"), outputs: path.join(root, "outputs") })
      return storage.inPlace === undefined ? Effect.die("folder storage writes in place") : use(storage, storage.inPlace, root)
    },
    (root) => Effect.promise(() => fs.rm(root, { recursive: true, force: true }))
  )

/** Bytes that differ at every offset a misplaced part could land on. */
const source = Uint8Array.from({ length: 3 * 65536 + 1000 }, (_, i) => (i * 7 + (i >> 16)) % 251)
const partSize = 65536
const partOf = (n: number) => source.subarray((n - 1) * partSize, Math.min(source.length, n * partSize))
/** A part as a stream of uneven chunks, the way a socket hands them over. */
const streamOf = (bytes: Uint8Array) => Stream.fromIterable([bytes.subarray(0, 1000), bytes.subarray(1000, 40000), bytes.subarray(40000)])

describe("folder storage: in-place writes", () => {
  it.live("parts written at their offsets, in any order, make the exact source; publishing moves it into place", () =>
    withInPlace((storage, inPlace) =>
      Effect.gen(function*() {
        yield* inPlace.create("uploads", "job/.parts/u/assembly")
        for (const n of [3, 1, 4, 2]) {
          yield* inPlace.writeAt("uploads", "job/.parts/u/assembly", (n - 1) * partSize, streamOf(partOf(n)), { contentLength: partOf(n).length })
        }
        // A part sent again replaces its bytes.
        yield* inPlace.writeAt("uploads", "job/.parts/u/assembly", partSize, streamOf(partOf(2)), { contentLength: partSize })
        yield* inPlace.publish("uploads", "job/.parts/u/assembly", "job/source.mp4", { ifNoneMatch: true })
        assert.deepStrictEqual(yield* storage.get("uploads", "job/source.mp4"), source)
        assert.strictEqual((yield* storage.head("uploads", "job/.parts/u/assembly"))._tag, "None")
        // The published file is no longer written into: a late part finds nothing.
        const late = yield* Effect.flip(inPlace.writeAt("uploads", "job/.parts/u/assembly", 0, streamOf(partOf(1)), { contentLength: partSize }))
        assert.strictEqual(late._tag, "ObjectNotFound")
        assert.deepStrictEqual(yield* storage.get("uploads", "job/source.mp4"), source)
      })
    ))

  it.live("create-if-absent publishing keeps an existing object and the assembly", () =>
    withInPlace((storage, inPlace) =>
      Effect.gen(function*() {
        yield* storage.put("uploads", "job/source.mp4", "already here")
        yield* inPlace.create("uploads", "job/.parts/u/assembly")
        yield* inPlace.writeAt("uploads", "job/.parts/u/assembly", 0, streamOf(partOf(1)), { contentLength: partSize })
        const refused = yield* Effect.flip(inPlace.publish("uploads", "job/.parts/u/assembly", "job/source.mp4", { ifNoneMatch: true }))
        assert.strictEqual(refused._tag, "ObjectExists")
        assert.strictEqual(new TextDecoder().decode(yield* storage.get("uploads", "job/source.mp4")), "already here")
        assert.strictEqual((yield* storage.head("uploads", "job/.parts/u/assembly"))._tag, "Some")
        const gone = yield* Effect.flip(inPlace.publish("uploads", "job/.parts/none/assembly", "job/other.mp4"))
        assert.strictEqual(gone._tag, "ObjectNotFound")
      })
    ))

  it.live("a body shorter or longer than declared fails, not retryable; a missing file is ObjectNotFound", () =>
    withInPlace((_storage, inPlace) =>
      Effect.gen(function*() {
        yield* inPlace.create("uploads", "job/.parts/u/assembly")
        const short = yield* Effect.flip(inPlace.writeAt("uploads", "job/.parts/u/assembly", 0, streamOf(partOf(1)), { contentLength: partSize + 1 }))
        assert.strictEqual(short._tag, "StorageFailed")
        if (short._tag === "StorageFailed") assert.isFalse(short.retryable)
        const long = yield* Effect.flip(inPlace.writeAt("uploads", "job/.parts/u/assembly", 0, streamOf(partOf(1)), { contentLength: partSize - 1 }))
        assert.strictEqual(long._tag, "StorageFailed")
        const missing = yield* Effect.flip(inPlace.writeAt("uploads", "job/.parts/other/assembly", 0, streamOf(partOf(1)), { contentLength: partSize }))
        assert.strictEqual(missing._tag, "ObjectNotFound")
      })
    ))
})
