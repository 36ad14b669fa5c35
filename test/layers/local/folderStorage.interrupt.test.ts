/**
 * Folder storage under interruption: a write interrupted at any point has finished touching the
 * disk when the interrupt returns, so removing the prefix right after leaves nothing — no folder
 * made by its `mkdir`, no `.partial` file made by its copy. (With `Effect.tryPromise` the cut-off
 * promise ran on after the interrupt and re-created both: Ctrl-C during `vidpipe process` left
 * `out/audio/` behind.)
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { makeFolderStorage } from "../../../src/layers/local/FolderStorage.ts"

const everything = (root: string) => fs.readdir(root, { recursive: true }).then((entries) => entries.map(String).sort())

/** Long enough for a write cut off by the interrupt to have finished on any machine (it is 8 MiB). */
const orphanWindow = "1500 millis"

const withStorage = <A, E>(use: (storage: ReturnType<typeof makeFolderStorage>, root: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-folder-interrupt-"))),
    (root) => use(makeFolderStorage({ uploads: path.join(root, "uploads"), outputs: path.join(root, "outputs") }), root),
    (root) => Effect.promise(() => fs.rm(root, { recursive: true, force: true }))
  )

const body = new Uint8Array(8 * 1024 * 1024).fill(7)

const writes = {
  put: (storage: ReturnType<typeof makeFolderStorage>, key: string) => storage.put("outputs", key, body),
  putStream: (storage: ReturnType<typeof makeFolderStorage>, key: string) =>
    storage.putStream("outputs", key, Stream.make(body.subarray(0, 4 << 20), body.subarray(4 << 20)), { contentLength: body.length })
}

describe("folder storage: an interrupted write leaves nothing once its prefix is removed", () => {
  for (const [name, write] of Object.entries(writes)) {
    for (const delayTicks of [0, 1, 3, 10]) {
      it.live(`${name}, interrupted after ${delayTicks} scheduler ticks`, () =>
        withStorage((storage, root) =>
          Effect.gen(function*() {
            const fiber = yield* Effect.forkChild(write(storage, "job/audio/init.mp4"))
            for (let i = 0; i < delayTicks; i++) yield* Effect.yieldNow
            yield* Fiber.interrupt(fiber)
            yield* storage.deletePrefix("outputs", "job/")
            // Whatever the cut-off write would still do, it would do within this window.
            yield* Effect.sleep(orphanWindow)
            const left = yield* Effect.promise(() => everything(path.join(root, "outputs")).catch(() => []))
            assert.deepStrictEqual(left, [])
          })
        ))
    }
  }
})

describe("folder storage: a write the file system refuses", () => {
  // 250 bytes is a legal file name; its temporary (`<name>.<uuid>.partial`) is not.
  const tooLongForItsTemporary = `${"n".repeat(246)}.mp4`
  for (const [name, write] of Object.entries(writes)) {
    it.live(`${name} fails with StorageFailed naming the cause, and leaves nothing`, () =>
      withStorage((storage, root) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(write(storage, `job/${tooLongForItsTemporary}`))
          assert.strictEqual(error._tag, "StorageFailed")
          assert.match(error.message, /ENAMETOOLONG|name too long/i)
          yield* storage.deletePrefix("outputs", "job/")
          assert.deepStrictEqual(yield* Effect.promise(() => everything(path.join(root, "outputs")).catch(() => [])), [])
        })
      ))
  }
})
