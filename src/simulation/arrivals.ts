/**
 * The simulated day's tasks: background jobs by hour of day plus bursts, from a seeded PRNG so
 * the same options always give the same day.
 */
import type { SimulationOptions } from "./options.ts"
import { hour, minute } from "./options.ts"

export interface SimTask {
  readonly id: string
  readonly jobId: number
  readonly arrivesAt: number
  readonly durationMs: number
  /** Index of the burst it belongs to, if any. */
  readonly burst: number | undefined
}

/** mulberry32: a small, seeded 32-bit PRNG returning floats in [0, 1). */
export const mulberry32 = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Background jobs (a Bernoulli draw per minute of the hourly rate) plus the bursts, by arrival time. */
export const generateArrivals = (options: SimulationOptions): ReadonlyArray<SimTask> => {
  const rng = mulberry32(options.seed)
  const tasks: Array<SimTask> = []
  let jobId = 0
  const between = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1))
  const duration = () =>
    Math.round(Math.exp(Math.log(options.taskMinMs) + rng() * (Math.log(options.taskMaxMs) - Math.log(options.taskMinMs))) / 1000) * 1000
  const job = (at: number, burst: number | undefined) => {
    const id = jobId++
    const n = between(options.tasksPerJob[0], options.tasksPerJob[1])
    for (let i = 0; i < n; i++) tasks.push({ id: `job${id}.task${i}`, jobId: id, arrivesAt: at, durationMs: duration(), burst })
  }
  for (let t = 0; t < options.durationMs; t += minute) {
    const rate = options.jobsPerHour[Math.floor(t / hour) % 24] ?? 0
    if (rng() < rate / 60) job(t + Math.floor(rng() * 60) * 1000, undefined)
  }
  options.bursts.forEach((burst, b) => {
    const start = burst.fromMs + Math.floor(rng() * ((burst.toMs - burst.fromMs) / 1000)) * 1000
    const n = between(burst.jobs[0], burst.jobs[1])
    for (let i = 0; i < n; i++) job(start + Math.floor(rng() * (burst.spreadMs / 1000)) * 1000, b)
  })
  return tasks.filter((task) => task.arrivesAt < options.durationMs).toSorted((a, b) => a.arrivesAt - b.arrivesAt || a.jobId - b.jobId)
}
