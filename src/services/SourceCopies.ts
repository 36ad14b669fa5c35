/**
 * A worker's local copies of job sources. ffmpeg reads a task's source from a file on the worker's
 * own disk, never through a URL: a presigned GET is signed with the instance's temporary
 * credentials and stops working when they rotate, late in a long encode that reopens its input.
 * A source is copied once per job and machine, shared by that job's tasks there, and removed when
 * the job's last task on the machine ends (one left by a process that died goes at the next sweep).
 *
 * One implementation, on the worker's own file system whatever the deployment's backends
 * (layers/local/LocalSourceCopies.ts), configured by VIDPIPE_WORKER_CACHE_DIR and
 * VIDPIPE_WORKER_DISK_RESERVE_MB (layers/fromConfig.ts).
 */
import type { Duration, Effect, Scope } from "effect"
import { Context } from "effect"
import type { DiskTooSmall, ObjectNotFound, StorageFailed } from "../domain/Errors.ts"
import type { Storage } from "./Storage.ts"

export interface SourceRequest {
  readonly jobId: string
  /** The source's key in the uploads area. */
  readonly sourceKey: string
  /** What the task's encode writes into its work folder, estimated: the disk must hold it too. */
  readonly outputBytes: number
}

export interface SourceCopiesShape {
  /**
   * The job's source as a local file, held until the scope closes. Copied from storage unless this
   * machine has a copy of the right size already; a second task of the job waits for the first's
   * copy instead of reading half of it. Before anything is written the free disk is checked
   * against what the task needs: `DiskTooSmall` when it cannot hold it (and nothing is copied).
   * The copy stays after the scope closes until `discard`, or a short while without a holder.
   */
  readonly hold: (request: SourceRequest) => Effect.Effect<string, DiskTooSmall | StorageFailed | ObjectNotFound, Storage | Scope.Scope>
  /** Removes the job's copy now, unless a task of this process still holds it. */
  readonly discard: (jobId: string) => Effect.Effect<void>
  /** Removes every copy no task of this process holds (a worker going away leaves nothing behind). */
  readonly discardIdle: Effect.Effect<void>
  /**
   * Removes what dead processes left in the copies' folder: the links of processes of this machine
   * that no longer run, a copy no process links any more, and anything older than a day. How many
   * files went.
   */
  readonly sweep: Effect.Effect<number>
  /**
   * How long a worker of this process should wait before taking another task: zero, except for a
   * while after this machine's disk refused one (the refused task then goes to another worker
   * instead of coming straight back here).
   */
  readonly pauseAfterRefusal: Effect.Effect<Duration.Duration>
}

export class SourceCopies extends Context.Service<SourceCopies, SourceCopiesShape>()("vidpipe/SourceCopies") {}
