/**
 * When a running task is expected to end, from the pace it has kept: what a worker weighs against
 * a deadline it cannot move (a Spot interruption). No I/O.
 */
import { Option } from "effect"

export interface TaskPace {
  /** When the task's encode started (epoch ms); undefined before it has. */
  readonly startedAt: number | undefined
  /** The fraction done ffmpeg last reported (0–1); undefined before the first report. */
  readonly fraction: number | undefined
}

/**
 * `now` plus elapsed × (1 − p) / p: the rest of the encode at the pace so far. None when there is
 * nothing to go on (no encode started, or no progress reported yet): the caller must then assume
 * the task will not end in time.
 */
export const expectedEnd = (pace: TaskPace, now: number): Option.Option<number> => {
  const { fraction, startedAt } = pace
  if (startedAt === undefined || fraction === undefined || !(fraction > 0)) return Option.none()
  const done = Math.min(fraction, 1)
  return Option.some(now + Math.max(0, now - startedAt) * (1 - done) / done)
}
