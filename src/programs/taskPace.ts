/**
 * The pace of the task a worker holds, and what it decides when the instance must be empty by a
 * fixed time (a Spot interruption): the task runs on only if, at the pace it has kept, it ends by
 * then; otherwise it is given up at once, so that another worker starts it now rather than after
 * this instance is gone and the task's visibility timeout has run out.
 */
import { Clock, Effect, Option } from "effect"
import type { TaskPace } from "../domain/TaskPace.ts"
import { expectedEnd } from "../domain/TaskPace.ts"
import type { TaskProgressShape } from "../services/TaskProgress.ts"

/** One delivery's pace: what the task reports (`report`, provided as TaskProgress) and the decision it informs. */
export const makeTaskPace = Effect.sync(() => {
  let pace: TaskPace = { startedAt: undefined, fraction: undefined }
  const report: TaskProgressShape = {
    encodeStarted: Effect.map(Clock.currentTimeMillis, (now) => void (pace = { startedAt: now, fraction: undefined })),
    progressed: (fraction) => Effect.sync(() => void (pace = { ...pace, fraction }))
  }

  /**
   * Completes when the task must be given up for it to be over by `endBy` (epoch ms): at once when
   * it is not expected to end by then (or there is nothing to expect from yet), otherwise at
   * `endBy` itself, should it run late.
   */
  const giveUpFor = (endBy: number, label: string) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const end = expectedEnd(pace, now)
      const within = `${Math.round((endBy - now) / 1000)} s`
      if (Option.isNone(end) || end.value > endBy) {
        const expected = Option.isNone(end) ? "with no progress to go on" : `expected to take ${Math.round((end.value - now) / 1000)} s more`
        return yield* Effect.logWarning(`${label}: ${expected}, it cannot end within ${within}: giving it up now`)
      }
      yield* Effect.logInfo(`${label}: expected to end within ${within} (in ${Math.round((end.value - now) / 1000)} s): letting it finish`)
      yield* Effect.sleep(Math.max(0, endBy - now))
      yield* Effect.logWarning(`${label}: still running at the deadline: giving it up`)
    })

  return { report, giveUpFor }
})
