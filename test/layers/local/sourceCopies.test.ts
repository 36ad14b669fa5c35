/**
 * A worker's source copies (layers/local/LocalSourceCopies.ts) over folder storage, without
 * ffmpeg: one copy per job shared by its tasks (a second task waits for the first's copy, never
 * reads half of it), a partial or stale copy redone, another process's whole copy linked, the
 * disk check refusing before anything is copied, removal (at once, after a while idle, never
 * under another process's reader) and the sweep of what dead processes left.
 *
 * The copies' folder is on /dev/shm (a tmpfs, another file system than the store's folder), so
 * folder storage really copies instead of linking: the bytes of a copy exist only when written.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Scope } from "effect"
import { areaFoldersUnder, makeFolderStorage } from "../../../src/layers/local/FolderStorage.ts"
import type { LocalSourceCopiesOptions } from "../../../src/layers/local/LocalSourceCopies.ts"
import { makeLocalSourceCopies } from "../../../src/layers/local/LocalSourceCopies.ts"
import type { StorageShape } from "../../../src/services/Storage.ts"
import { Storage } from "../../../src/services/Storage.ts"

const tmpfs = "/dev/shm"

/** Folder storage whose copies are counted and, while `gate` is set, wait for it once started. */
const countingStorage = (root: string) => {
  const real = makeFolderStorage(areaFoldersUnder(root))
  const state = { copies: 0, started: undefined as Deferred.Deferred<void> | undefined, gate: undefined as Deferred.Deferred<void> | undefined }
  const storage: StorageShape = {
    ...real,
    copyToFile: (area, key, target, options) =>
      Effect.gen(function*() {
        state.copies++
        if (state.started !== undefined) yield* Deferred.succeed(state.started, undefined)
        if (state.gate !== undefined) yield* Deferred.await(state.gate)
        return yield* real.copyToFile(area, key, target, options)
      })
  }
  return { state, layer: Layer.succeed(Storage, storage) }
}

interface Setup {
  readonly root: string
  readonly folder: string
  readonly state: ReturnType<typeof countingStorage>["state"]
  readonly provide: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, Exclude<R, Storage>>
  readonly copies: (options?: LocalSourceCopiesOptions) => ReturnType<typeof makeLocalSourceCopies>
}

/** A store in the temporary folder, a copies' folder on the tmpfs; both removed afterwards. */
const withSetup = <A, E>(body: (setup: Setup) => Effect.Effect<A, E, Storage>) =>
  Effect.gen(function*() {
    const root = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-copies-store-")))
    const folder = yield* Effect.promise(() => fs.mkdtemp(path.join(tmpfs, "vidpipe-copies-")))
    const { layer, state } = countingStorage(root)
    const setup: Setup = {
      root,
      folder,
      state,
      provide: (effect) => Effect.provide(effect, layer),
      copies: (options) => makeLocalSourceCopies({ folder, workFolder: folder, reserveBytes: 0, ...options })
    }
    return yield* body(setup).pipe(
      Effect.provide(layer),
      Effect.ensuring(Effect.promise(() => Promise.all([fs.rm(root, { recursive: true, force: true }), fs.rm(folder, { recursive: true, force: true })])))
    )
  })

const source = new Uint8Array(512 * 1024).map((_, i) => (i * 31) % 251)
const put = (jobId: string) =>
  Effect.gen(function*() {
    const storage = yield* Storage
    yield* storage.put("uploads", `${jobId}/clip.mp4`, source)
  })
const request = (jobId: string, outputBytes = 1000) => ({ jobId, sourceKey: `${jobId}/clip.mp4`, outputBytes })
const read = (file: string) => Effect.promise(() => fs.readFile(file).then((buffer) => new Uint8Array(buffer)))
const entriesOf = (folder: string) => Effect.promise(() => fs.readdir(folder).catch(() => [] as Array<string>))
/** Bytes the files under `folder` take (hard links of one file counted once). */
const bytesIn = async (folder: string) => {
  const inodes = new Map<number, number>()
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) await walk(full)
      else {
        const stat = await fs.stat(full).catch(() => undefined)
        if (stat !== undefined) inodes.set(stat.ino, stat.size)
      }
    }
  }
  await walk(folder)
  return [...inodes.values()].reduce((sum, size) => sum + size, 0)
}
const exists = (file: string) => Effect.promise(() => fs.access(file).then(() => true, () => false))

describe("source copies", () => {
  it.live("two tasks of a job share one copy: the second waits for the first's, and never reads half of it", () =>
    withSetup(({ copies, folder, state }) =>
      Effect.gen(function*() {
        yield* put("job1")
        const sourceCopies = copies()
        state.started = yield* Deferred.make<void>()
        state.gate = yield* Deferred.make<void>()
        const scope1 = yield* Scope.make()
        const scope2 = yield* Scope.make()
        const first = yield* Effect.forkChild(sourceCopies.hold(request("job1")).pipe(Scope.provide(scope1)))
        yield* Deferred.await(state.started)
        const second = yield* Effect.forkChild(sourceCopies.hold(request("job1")).pipe(Scope.provide(scope2)))
        // The first copy is under way and held at its gate: the second task has nothing to read yet.
        yield* Effect.sleep("200 millis")
        assert.isUndefined(second.pollUnsafe(), "the second task got a path while the copy was being written")
        assert.deepStrictEqual((yield* entriesOf(path.join(folder, "job1", "copy"))).filter((name) => !name.endsWith(".partial")), [])
        yield* Deferred.succeed(state.gate, undefined)
        const [path1, path2] = [yield* Fiber.join(first), yield* Fiber.join(second)]
        assert.strictEqual(path1, path2)
        assert.deepStrictEqual(yield* read(path1), source)
        assert.strictEqual(state.copies, 1)
        // Released by one task, the copy stays for the other.
        yield* Scope.close(scope1, Exit.void)
        yield* sourceCopies.discard("job1")
        assert.deepStrictEqual(yield* read(path2), source)
        // Released by the last, discard removes it, folder and all.
        yield* Scope.close(scope2, Exit.void)
        yield* sourceCopies.discard("job1")
        assert.deepStrictEqual(yield* entriesOf(folder), [])
      })))

  it.live("a partial or stale copy is made again; another process's whole copy is linked, not copied", () =>
    withSetup(({ copies, folder, state }) =>
      Effect.gen(function*() {
        yield* put("job2")
        const jobFolder = path.join(folder, "job2")
        yield* Effect.promise(async () => {
          await fs.mkdir(path.join(jobFolder, "copy"), { recursive: true })
          // What a copy cut short leaves in place of the source (a dead process's), and a partial file.
          await fs.writeFile(path.join(jobFolder, "copy", "clip.mp4"), source.subarray(0, 1000))
          await fs.writeFile(path.join(jobFolder, "copy", "clip.mp4.1234.partial"), source.subarray(0, 10))
        })
        const file = yield* Effect.scoped(Effect.gen(function*() {
          const held = yield* copies().hold(request("job2"))
          assert.deepStrictEqual(yield* read(held), source)
          return held
        }))
        assert.strictEqual(state.copies, 1, "the short copy was redone")
        assert.isTrue(yield* exists(file), "kept a while after its task, for a next task of the job")
        assert.deepStrictEqual(yield* read(path.join(jobFolder, "copy", "clip.mp4")), source)
        // ffmpeg reads a file of the source's own name (its messages name what the user sent).
        assert.strictEqual(path.basename(file), "clip.mp4")

        // A second process (another instance on the same folder) finds the whole copy and links it.
        const other = yield* Effect.scoped(Effect.gen(function*() {
          const held = yield* copies().hold(request("job2"))
          assert.deepStrictEqual(yield* read(held), source)
          return held
        }))
        assert.notStrictEqual(other, file)
        assert.strictEqual(state.copies, 1, "linked, not copied again")
      })))

  it.live("refuses with DiskTooSmall, before copying anything, when the disk cannot hold the source and the outputs", () =>
    withSetup(({ copies, folder, state }) =>
      Effect.gen(function*() {
        yield* put("job3")
        const free = source.length + 4000
        const sourceCopies = copies({ freeBytes: () => Promise.resolve(free), reserveBytes: 1000 })
        const refused = yield* Effect.flip(Effect.scoped(sourceCopies.hold(request("job3", 5000))))
        assert.strictEqual(refused._tag, "DiskTooSmall")
        if (refused._tag !== "DiskTooSmall") return
        assert.strictEqual(refused.neededBytes, source.length + 5000 + 1000)
        assert.strictEqual(refused.freeBytes, free)
        assert.strictEqual(refused.folder, folder)
        assert.match(refused.message, /not enough free disk/)
        assert.isTrue(refused.retryable)
        assert.strictEqual(state.copies, 1, "copyToFile was asked, and its copy refused before a byte was written")
        assert.deepStrictEqual(yield* entriesOf(folder), [], "nothing left in the copies' folder")
        assert.isAbove(Duration.toMillis(yield* sourceCopies.pauseAfterRefusal), 0, "the process pauses after a refusal")
        // What fits is taken: the same task with smaller outputs.
        const held = yield* Effect.scoped(sourceCopies.hold(request("job3", 3000)))
        assert.isTrue(held.startsWith(folder))
        // Outputs alone too big for the disk: refused even when the copy is there already.
        const again = yield* Effect.flip(Effect.scoped(sourceCopies.hold(request("job3", free + 1))))
        assert.strictEqual(again._tag, "DiskTooSmall")
      })))

  it.live("an idle copy of another job is removed to make room before refusing", () =>
    withSetup(({ copies, folder }) =>
      Effect.gen(function*() {
        yield* put("jobA")
        yield* put("jobB")
        let free = source.length * 2
        const sourceCopies = copies({
          // The disk fills as copies are made: whatever is in the copies' folder counts against it.
          freeBytes: async () => free - (await bytesIn(folder))
        })
        yield* Effect.scoped(sourceCopies.hold(request("jobA")))
        assert.deepStrictEqual(yield* entriesOf(folder), ["jobA"])
        free = source.length + 2000
        yield* Effect.scoped(sourceCopies.hold(request("jobB")))
        assert.deepStrictEqual(yield* entriesOf(folder), ["jobB"])
      })))

  it.live("a copy no task holds is removed after a while; one a task holds is not", () =>
    withSetup(({ copies, folder }) =>
      Effect.gen(function*() {
        yield* put("job4")
        const sourceCopies = copies({ keepIdle: "100 millis" })
        yield* Effect.scoped(Effect.gen(function*() {
          yield* sourceCopies.hold(request("job4"))
          yield* Effect.sleep("300 millis")
          assert.deepStrictEqual(yield* entriesOf(folder), ["job4"], "held: kept")
        }))
        assert.deepStrictEqual(yield* entriesOf(folder), ["job4"], "just released: kept for a next task")
        yield* Effect.sleep("400 millis")
        assert.deepStrictEqual(yield* entriesOf(folder), [], "idle: removed")
      })))

  it.live("a worker going away removes the copies no task holds, and only those", () =>
    withSetup(({ copies, folder }) =>
      Effect.gen(function*() {
        yield* put("job7")
        yield* put("job8")
        const sourceCopies = copies()
        yield* Effect.scoped(sourceCopies.hold(request("job7")))
        const held = yield* Scope.make()
        yield* sourceCopies.hold(request("job8")).pipe(Scope.provide(held))
        assert.deepStrictEqual((yield* entriesOf(folder)).sort(), ["job7", "job8"])
        yield* sourceCopies.discardIdle
        assert.deepStrictEqual(yield* entriesOf(folder), ["job8"])
        yield* Scope.close(held, Exit.void)
        yield* sourceCopies.discardIdle
        assert.deepStrictEqual(yield* entriesOf(folder), [])
      })))

  it.live("a process removing its copy leaves another process's reader its bytes; the last one removes the copy", () =>
    withSetup(({ copies, folder }) =>
      Effect.gen(function*() {
        yield* put("job5")
        const [processA, processB] = [copies(), copies()]
        const scopeB = yield* Scope.make()
        yield* Effect.scoped(processA.hold(request("job5")))
        const heldByB = yield* processB.hold(request("job5")).pipe(Scope.provide(scopeB))
        yield* processA.discard("job5")
        assert.deepStrictEqual(yield* read(heldByB), source)
        assert.isTrue(yield* exists(path.join(folder, "job5", "copy", "clip.mp4")), "the copy stays while B holds it")
        yield* Scope.close(scopeB, Exit.void)
        yield* processB.discard("job5")
        assert.deepStrictEqual(yield* entriesOf(folder), [])
      })))

  it.live("the sweep removes at once the links of processes that no longer run, and the copy with its last link", () =>
    withSetup(({ copies, folder }) =>
      Effect.gen(function*() {
        // A pid that was this machine's a moment ago: a process that has exited.
        const gone = yield* Effect.promise(() =>
          new Promise<number>((resolve) => {
            const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" })
            child.once("exit", () => resolve(child.pid!))
          })
        )
        const alive = process.pid
        yield* Effect.promise(async () => {
          for (const [job, pid] of [["crashed", gone], ["running", alive]] as const) {
            await fs.mkdir(path.join(folder, job, "copy"), { recursive: true })
            await fs.mkdir(path.join(folder, job, `held-${pid}-abcd`), { recursive: true })
            await fs.writeFile(path.join(folder, job, "copy", "clip.mp4"), "x")
            await fs.link(path.join(folder, job, "copy", "clip.mp4"), path.join(folder, job, `held-${pid}-abcd`, "clip.mp4"))
          }
        })
        assert.strictEqual(yield* copies().sweep, 2, "the dead process's link, then the copy nobody holds")
        assert.deepStrictEqual(yield* entriesOf(folder), ["running"])
        assert.deepStrictEqual((yield* entriesOf(path.join(folder, "running"))).sort(), ["copy", `held-${alive}-abcd`])
      })))

  it.live("the sweep removes what is older than the age limit, never this process's held copy", () =>
    withSetup(({ copies, folder }) =>
      Effect.gen(function*() {
        yield* put("job6")
        const sourceCopies = copies({ maxAge: "50 millis" })
        // Left by a process that died: a link, a copy and a partial file of another job.
        yield* Effect.promise(async () => {
          for (const name of ["copy/clip.mp4", "held-1-abcd/clip.mp4", "copy/clip.mp4.0b0e4f2e-5b1c-4a53-9f7e-3c2d1a0b9e8f.partial"]) {
            await fs.mkdir(path.dirname(path.join(folder, "dead", name)), { recursive: true })
            await fs.writeFile(path.join(folder, "dead", name), "x")
          }
        })
        const held = yield* Scope.make()
        const file = yield* sourceCopies.hold(request("job6")).pipe(Scope.provide(held))
        yield* Effect.sleep("150 millis")
        assert.strictEqual(yield* sourceCopies.sweep, 3, "the dead process's three files")
        assert.isTrue(yield* exists(file), "this process's held link stays")
        assert.deepStrictEqual(yield* read(file), source)
        assert.deepStrictEqual(yield* entriesOf(folder), ["job6"])
        yield* Scope.close(held, Exit.void)
        yield* sourceCopies.discard("job6")
        assert.deepStrictEqual(yield* entriesOf(folder), [])
      })))
})
