/**
 * Where a running task reports how far its encode has got, for the worker that holds it: a worker
 * that must be done by a fixed time (a Spot interruption) lets the task run on only if, at that
 * pace, it ends in time (programs/taskPace.ts). Outside a worker, and by default, reports go nowhere.
 */
import type { Effect } from "effect"
import { Context, Effect as E } from "effect"

export interface TaskProgressShape {
  /** The encode starts (again, on a retry): its clock restarts and its progress is unknown. */
  readonly encodeStarted: Effect.Effect<void>
  /** The fraction done (0–1) ffmpeg reported last. */
  readonly progressed: (fraction: number) => Effect.Effect<void>
}

export const TaskProgress = Context.Reference<TaskProgressShape>("vidpipe/TaskProgress", {
  defaultValue: () => ({ encodeStarted: E.void, progressed: () => E.void })
})
