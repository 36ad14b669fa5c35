/**
 * Job sources copied to the worker's own disk (services/SourceCopies.ts), in one folder that every
 * worker process of the machine shares:
 *
 *   <folder>/<job>/copy/<name>                  the job's copy: complete (renamed into place) or absent
 *   <folder>/<job>/copy/<name>.<uuid>.partial   a copy being written
 *   <folder>/<job>/held-<pid>-<nonce>/<name>    one hard link per process using the copy: what its ffmpeg reads
 *
 * `<name>` is the source's own file name (ffmpeg guesses some formats by it, and its messages name
 * the file the user sent).
 *
 * In a process, the tasks of one job share the process's link (counted) and take turns on a lock
 * per job, so a second task waits for the first's copy and then finds it done. Across processes,
 * each reads its own hard link: a process that removes the copy (its last task of the job ended,
 * and it saw no other process's link) never pulls the bytes from under another's ffmpeg. A new
 * link is made before the copy is renamed into place, so a process about to use a copy always
 * shows. Two processes copying the same source at the same moment each write their own partial
 * file (the second rename wins; both copies are whole). A process that dies leaves its link and
 * maybe the copy: a sweep (at worker start, then at most hourly) removes anything older than a day,
 * and at once the links of processes that no longer run (by the pid in the link's name), with the
 * copy when no link is left.
 *
 * The disk rule (`hold`): before a task gets its source, the file systems of the copies' folder
 * and of the work folder (where ffmpeg writes the task's outputs) must have free, beyond a
 * reserve, the task's outputs (estimated by the caller) and, when bytes are really copied, the
 * source's size. Idle copies of other jobs are removed first when that helps.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto"
import type { Stats } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { Scope } from "effect"
import { Clock, Duration, Effect, Layer, Option, Semaphore } from "effect"
import { DiskTooSmall, ObjectNotFound, StorageFailed } from "../../domain/Errors.ts"
import type { SourceCopiesShape, SourceRequest } from "../../services/SourceCopies.ts"
import { SourceCopies } from "../../services/SourceCopies.ts"
import { Storage } from "../../services/Storage.ts"

/** Where copies live unless configured: beside the work folders, on the disk the encodes write to. */
export const defaultSourceCopiesFolder = path.join(os.tmpdir(), "vidpipe-sources")

/** Room left free beyond what a task needs, unless configured: for logs, the OS, the other processes' small files. */
export const defaultDiskReserveBytes = 256 * 1024 * 1024

export interface LocalSourceCopiesOptions {
  readonly folder?: string
  /** Bytes kept free on each file system beyond what a task needs. */
  readonly reserveBytes?: number
  /** Where encodes write their outputs (FileSystem.makeTempDirectory's folder): the OS temporary folder. */
  readonly workFolder?: string
  /** Free bytes for an unprivileged process on `folder`'s file system (default: statfs). */
  readonly freeBytes?: (folder: string) => Promise<number>
  /** How long a copy no task holds is kept for a next task of its job (default 2 minutes). */
  readonly keepIdle?: Duration.Input
  /** Anything in the folder older than this was left by a process that died (default a day). */
  readonly maxAge?: Duration.Input
  /** How long this process takes no task after its disk refused one (default 30 seconds). */
  readonly refusalPause?: Duration.Input
}

const statfsFree = async (folder: string) => {
  const stats = await fs.statfs(folder)
  return stats.bavail * stats.bsize
}

const sweepEveryMs = 60 * 60 * 1000

/** A job id as a folder name: as is when it is a plain name (job ids are hex), else a digest of it. */
const folderNameOf = (jobId: string) =>
  /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(jobId) ? jobId : `job-${createHash("sha256").update(jobId).digest("hex").slice(0, 32)}`

/** The source's file name, when it is a plain one; else "source" with its extension, if plain. */
const fileNameOf = (sourceKey: string) => {
  const name = path.posix.basename(sourceKey)
  if (/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(name)) return name
  const extension = path.posix.extname(name)
  return `source${/^\.[A-Za-z0-9]{1,12}$/.test(extension) ? extension : ""}`
}

const holdPrefix = "held-"
const partialName = /\.[0-9a-f-]{36}\.partial$/

/**
 * When a file was last written or linked: a hard link of an old upload (folder storage) has the
 * upload's mtime, but its ctime moves with every link made or removed, so a copy in use is young.
 */
const changedAt = (stat: { readonly mtimeMs: number; readonly ctimeMs: number }) => Math.max(stat.mtimeMs, stat.ctimeMs)

/** `folder`, or its nearest parent that exists, with its stat. */
const existingAncestor = async (folder: string): Promise<{ readonly path: string; readonly stat: Stats }> => {
  for (let current = folder; ; current = path.dirname(current)) {
    const stat = await fs.stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" && path.dirname(current) !== current) return undefined
      throw error
    })
    if (stat !== undefined) return { path: current, stat }
  }
}

/**
 * Whether a link's folder names a process of this machine that is no more (`held-<pid>-…`): its
 * link can go at once rather than after a day. A pid in use again, or one this process may not signal,
 * counts as alive, so the doubt only ever keeps a link.
 */
const holderIsGone = (name: string) => {
  const pid = /^held-(\d+)-/.exec(name)?.[1]
  if (pid === undefined) return false
  try {
    process.kill(Number(pid), 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH"
  }
}

const sizeOf = (file: string) => fs.stat(file).then((stat) => Option.some(stat.size), () => Option.none<number>())

interface Names {
  readonly jobFolder: string
  readonly copyFolder: string
  readonly copy: string
  readonly holdFolder: string
  readonly hold: string
}

interface Entry {
  /** Tasks of this process holding the copy now. */
  refs: number
  readonly names: Names
  idleTimer: ReturnType<typeof setTimeout> | undefined
}

export const makeLocalSourceCopies = (options: LocalSourceCopiesOptions = {}): SourceCopiesShape => {
  const folder = path.resolve(options.folder ?? defaultSourceCopiesFolder)
  const workFolder = options.workFolder ?? os.tmpdir()
  const reserveBytes = options.reserveBytes ?? defaultDiskReserveBytes
  const freeBytes = options.freeBytes ?? statfsFree
  const keepIdleMs = Duration.toMillis(Duration.fromInputUnsafe(options.keepIdle ?? "2 minutes"))
  const maxAgeMs = Duration.toMillis(Duration.fromInputUnsafe(options.maxAge ?? "1 day"))
  const refusalPauseMs = Duration.toMillis(Duration.fromInputUnsafe(options.refusalPause ?? "30 seconds"))
  // This process's links; random beside the pid, so a later process with a reused pid never takes a dead one's link for its own.
  const processTag = `${process.pid}-${randomBytes(4).toString("hex")}`

  const entries = new Map<string, Entry>()
  const locks = new Map<string, { readonly semaphore: Semaphore.Semaphore; users: number }>()
  let refusedUntil = 0
  let lastSweep = Number.NEGATIVE_INFINITY

  const namesOf = (request: Pick<SourceRequest, "jobId" | "sourceKey">): Names => {
    const jobFolder = path.join(folder, folderNameOf(request.jobId))
    const name = fileNameOf(request.sourceKey)
    const copyFolder = path.join(jobFolder, "copy")
    const holdFolder = path.join(jobFolder, `${holdPrefix}${processTag}`)
    return { jobFolder, copyFolder, copy: path.join(copyFolder, name), holdFolder, hold: path.join(holdFolder, name) }
  }

  /** Runs `use` with the job's lock (one task of a job at a time in here); the lock goes away with its last user. */
  const lockedBy = <A, E, R>(jobId: string, use: (semaphore: Semaphore.Semaphore) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const lock = locks.get(jobId) ?? { semaphore: Semaphore.makeUnsafe(1), users: 0 }
      locks.set(jobId, lock)
      lock.users++
      return use(lock.semaphore).pipe(Effect.ensuring(Effect.sync(() => {
        if (--lock.users === 0) locks.delete(jobId)
      })))
    })

  const withJobLock = (jobId: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    lockedBy(jobId, (semaphore) => semaphore.withPermits(1)(effect))

  /** As `withJobLock`, but does nothing when another fiber has the lock (no waiting: two jobs short of room never wait on each other). */
  const ifJobLockFree = (jobId: string) => <E, R>(effect: Effect.Effect<void, E, R>): Effect.Effect<void, E, R> =>
    lockedBy(jobId, (semaphore) => Effect.asVoid(semaphore.withPermitsIfAvailable(1)(effect)))

  const fsFailure = (key: string, operation: string) => (error: unknown) =>
    new StorageFailed({ operation, key, reason: error instanceof Error ? error.message : String(error), retryable: true })

  const fsCall = <A>(key: string, operation: string, run: () => Promise<A>) => Effect.tryPromise({ try: run, catch: fsFailure(key, operation) })

  /** Removes this process's link, then the copy when no process's link is left, then the job's folder when empty. */
  const removeCopy = (names: Names) =>
    Effect.promise(async () => {
      await fs.rm(names.holdFolder, { recursive: true, force: true }).catch(() => undefined)
      const left = await fs.readdir(names.jobFolder).catch(() => [] as Array<string>)
      if (left.some((name) => name.startsWith(holdPrefix))) return
      await fs.rm(names.copy, { force: true }).catch(() => undefined)
      // These fail while another process's copy is being written (its partial file): that one is
      // theirs. The copies' folder goes too once empty: a worker leaves the temporary folder as it found it.
      await fs.rmdir(names.copyFolder).catch(() => undefined)
      if (await fs.rmdir(names.jobFolder).then(() => true, () => false)) await fs.rmdir(folder).catch(() => undefined)
    })

  const discardNow = (jobId: string) =>
    Effect.suspend(() => {
      const entry = entries.get(jobId)
      if (entry === undefined || entry.refs > 0) return Effect.void
      clearTimeout(entry.idleTimer)
      entries.delete(jobId)
      return removeCopy(entry.names)
    })

  const discard = (jobId: string) => withJobLock(jobId)(discardNow(jobId))

  /** Removes idle copies but `except`'s, skipping any whose job is busy here. */
  const evictIdle = (except?: string) =>
    Effect.suspend(() =>
      Effect.forEach(
        [...entries].filter(([jobId, entry]) => jobId !== except && entry.refs === 0).map(([jobId]) => jobId),
        (jobId) => ifJobLockFree(jobId)(discardNow(jobId)),
        { discard: true }
      )
    )

  /** What does not fit, if anything: `copyBytes` in the copies' folder and `outputBytes` in the work folder, each beyond the reserve. */
  const shortage = (key: string, copyBytes: number, outputBytes: number) =>
    fsCall(key, "check free disk", async () => {
      // The copies' folder may not exist yet (or no longer): its nearest existing parent is on the same file system.
      const [copiesAt, workAt] = await Promise.all([existingAncestor(folder), existingAncestor(workFolder)])
      const needs: ReadonlyArray<readonly [string, string, number]> = copiesAt.stat.dev === workAt.stat.dev
        ? [[folder, copiesAt.path, copyBytes + outputBytes]]
        : [[folder, copiesAt.path, copyBytes], [workFolder, workAt.path, outputBytes]]
      for (const [named, measured, bytes] of needs) {
        const free = await freeBytes(measured)
        if (free < bytes + reserveBytes) return new DiskTooSmall({ folder: named, neededBytes: bytes + reserveBytes, freeBytes: free })
      }
      return undefined
    })

  const ensureRoom = (jobId: string, key: string, copyBytes: number, outputBytes: number) =>
    Effect.gen(function*() {
      let short = yield* shortage(key, copyBytes, outputBytes)
      if (short === undefined) return
      yield* evictIdle(jobId)
      short = yield* shortage(key, copyBytes, outputBytes)
      if (short === undefined) return
      refusedUntil = (yield* Clock.currentTimeMillis) + refusalPauseMs
      return yield* short
    })

  /** Links `from` to this process's link; false when `from` is gone (another process removed it meanwhile). */
  const linkHold = (key: string, from: string, names: Names) =>
    fsCall(key, "link source copy", async () => {
      await fs.mkdir(names.holdFolder, { recursive: true })
      await fs.rm(names.hold, { force: true })
      return fs.link(from, names.hold).then(() => true, (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return false
        throw error
      })
    })

  /** Makes sure this process's link holds the whole source (as big as the object, or the only copy left of one deleted since). */
  const prepare = (request: SourceRequest, known: boolean) =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const key = request.sourceKey
      const names = namesOf(request)
      const held = yield* Effect.promise(() => sizeOf(names.hold))
      // The object's size now. A held link of another size is stale and is made again; a source deleted
      // since it was copied leaves the held link as the only copy, which is what it is for.
      const current = yield* storage.head("uploads", key).pipe(
        Effect.map(Option.map((info) => info.size)),
        Effect.catch((error) => (known && Option.isSome(held) ? Effect.succeed(Option.none<number>()) : Effect.fail(error)))
      )
      if (known && Option.isSome(held) && (Option.isNone(current) || current.value === held.value)) {
        yield* ensureRoom(request.jobId, key, 0, request.outputBytes)
        return names
      }
      if (Option.isNone(current)) return yield* new ObjectNotFound({ key })
      const size = current.value
      // Another process's copy, whole: a link costs nothing.
      const copied = yield* Effect.promise(() => sizeOf(names.copy))
      if (Option.isSome(copied) && copied.value === size) {
        yield* ensureRoom(request.jobId, key, 0, request.outputBytes)
        if (yield* linkHold(key, names.copy, names)) return names
      }
      // The outputs must fit whatever happens; the source's own bytes are checked when they are really copied (not for a link).
      yield* ensureRoom(request.jobId, key, 0, request.outputBytes)
      yield* fsCall(key, "create source folder", () => fs.mkdir(names.copyFolder, { recursive: true }))
      const partial = `${names.copy}.${randomUUID()}.partial`
      const started = yield* Clock.currentTimeMillis
      yield* Effect.gen(function*() {
        yield* storage.copyToFile("uploads", key, partial, { beforeCopy: (bytes) => ensureRoom(request.jobId, key, bytes, request.outputBytes) })
        const written = yield* Effect.promise(() => sizeOf(partial))
        if (Option.getOrElse(written, () => -1) !== size) {
          return yield* new StorageFailed({
            operation: "copy source",
            key,
            reason: `the copy has ${Option.getOrElse(written, () => 0)} bytes, the object ${size}`,
            retryable: true
          })
        }
        // Linked before it is renamed into place: from then on a process removing the copy sees this one's link.
        yield* linkHold(key, partial, names)
        yield* fsCall(key, "publish source copy", () => fs.rename(partial, names.copy))
      }).pipe(Effect.ensuring(Effect.promise(() => fs.rm(partial, { force: true }).catch(() => undefined))))
      const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      yield* Effect.logInfo(`job ${request.jobId}: source copied to ${names.copy} (${(size / 1048576).toFixed(1)} MiB in ${seconds.toFixed(1)} s)`)
      return names
    })

  /** Every file under `dir`, with the folder it sits in (nested folders included). */
  const filesUnder = async (dir: string): Promise<Array<string>> => {
    const found: Array<string> = []
    for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) found.push(...await filesUnder(full))
      else found.push(full)
    }
    return found
  }

  /** Removes `dir` and the folders under it, deepest first, where empty. */
  const pruneFolders = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory()) await pruneFolders(path.join(dir, entry.name))
    }
    await fs.rmdir(dir).catch(() => undefined)
  }

  const sweep = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    lastSweep = now
    // This process's links, and the copies they were made from (which other processes of the machine may link).
    const own = new Set([...entries.values()].flatMap((entry) => [entry.names.hold, entry.names.copy]))
    return yield* Effect.promise(async () => {
      let removed = 0
      for (const jobEntry of await fs.readdir(folder, { withFileTypes: true }).catch(() => [])) {
        const jobFolder = path.join(folder, jobEntry.name)
        let removedHere = 0
        const remove = async (file: string) => {
          if (await fs.rm(file, { force: true }).then(() => true, () => false)) removedHere++
        }
        const files = jobEntry.isDirectory() ? await filesUnder(jobFolder) : [jobFolder]
        for (const file of files) {
          if (own.has(file)) continue
          const stat = await fs.lstat(file).catch(() => undefined)
          const holder = path.relative(jobFolder, file).split(path.sep)[0] ?? ""
          if (stat !== undefined && (now - changedAt(stat) > maxAgeMs || holderIsGone(holder))) await remove(file)
        }
        const emptyAndOld = files.length === 0 && now - changedAt(await fs.lstat(jobFolder).catch(() => ({ mtimeMs: now, ctimeMs: now }))) > maxAgeMs
        if ((removedHere > 0 || emptyAndOld) && jobEntry.isDirectory()) {
          // No process holds the copy any more (its users ended, or died): it goes. A process about
          // to link it then finds it gone and copies again.
          const left = await filesUnder(jobFolder)
          if (!left.some((file) => path.relative(jobFolder, file).startsWith(holdPrefix))) {
            for (const file of left.filter((file) => !partialName.test(file) && !own.has(file))) await remove(file)
          }
          await pruneFolders(jobFolder)
        }
        removed += removedHere
      }
      return removed
    })
  })

  const release = (jobId: string) =>
    withJobLock(jobId)(Effect.sync(() => {
      const entry = entries.get(jobId)
      if (entry === undefined || --entry.refs > 0) return
      // Kept a little for a next task of the job here; the caller discards it at once when none can come.
      clearTimeout(entry.idleTimer)
      entry.idleTimer = setTimeout(() => Effect.runFork(discard(jobId)), keepIdleMs)
      entry.idleTimer.unref()
    }))

  const hold = (request: SourceRequest): Effect.Effect<string, DiskTooSmall | StorageFailed | ObjectNotFound, Storage | Scope.Scope> =>
    Effect.gen(function*() {
      if ((yield* Clock.currentTimeMillis) - lastSweep >= sweepEveryMs) yield* sweep.pipe(Effect.ignore)
      return yield* withJobLock(request.jobId)(Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const known = entries.get(request.jobId)
          // A first hold that fails leaves nothing of this process behind (a link made before the failure).
          const names = yield* restore(prepare(request, known !== undefined)).pipe(
            Effect.onError(() => (known === undefined ? removeCopy(namesOf(request)) : Effect.void))
          )
          // Counted and released together: an interruption cannot leave a count without its release.
          const entry = entries.get(request.jobId) ?? { refs: 0, names, idleTimer: undefined }
          entries.set(request.jobId, entry)
          clearTimeout(entry.idleTimer)
          entry.idleTimer = undefined
          entry.refs++
          yield* Effect.addFinalizer(() => release(request.jobId))
          return names.hold
        })
      ))
    }).pipe(Effect.withSpan("SourceCopies.hold", { attributes: { jobId: request.jobId } }))

  return {
    hold,
    discard,
    discardIdle: evictIdle(),
    sweep: sweep.pipe(Effect.withSpan("SourceCopies.sweep")),
    pauseAfterRefusal: Effect.map(Clock.currentTimeMillis, (now) => Duration.millis(Math.max(0, refusedUntil - now)))
  }
}

/** The source copies of this machine's workers, in `options.folder` (default: the OS temporary folder's). */
export const localSourceCopiesLayer = (options: LocalSourceCopiesOptions = {}) => Layer.sync(SourceCopies, () => makeLocalSourceCopies(options))
