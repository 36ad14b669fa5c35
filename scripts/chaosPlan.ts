/**
 * The pure half of `npm run chaos` (scripts/chaos.ts): its options, the seeded plan of clips,
 * submissions and disruptions, and the verdict over what the run found. No I/O, so
 * test/e2e/chaos.test.ts can check it in milliseconds.
 */
import { parseArgs } from "node:util"
import { mulberry32 } from "../src/simulation/arrivals.ts"
import { integerOption } from "./scriptSupport.ts"

export interface ChaosOptions {
  readonly jobs: number
  readonly workers: number
  readonly kills: number
  readonly redisRestarts: number
  readonly seed: number
  /** Seconds after which the run stops, finished or not. */
  readonly timeLimit: number
  /** VIDPIPE_MAX_RECEIVES of the workers. */
  readonly maxReceives: number
  /** VIDPIPE_STALE_SECONDS of the workers (the sweeper re-sends a job untouched this long). */
  readonly staleSeconds: number
  /** Keep the work folder (storage, logs, Redis data) afterwards. */
  readonly keep: boolean
}

export const defaultChaosOptions: ChaosOptions = {
  jobs: 12,
  workers: 3,
  kills: 5,
  redisRestarts: 1,
  seed: 20240611,
  timeLimit: 300,
  maxReceives: 5,
  staleSeconds: 120,
  keep: false
}

export const chaosUsage = `Usage: npm run chaos -- [options]
  --jobs N            jobs to submit (default ${defaultChaosOptions.jobs}, at least 1)
  --workers N         vidpipe worker processes kept running (default ${defaultChaosOptions.workers})
  --kills N           workers SIGKILLed at random moments, each replaced (default ${defaultChaosOptions.kills})
  --redis-restarts N  Redis crashes (SIGKILL) and restarts (default ${defaultChaosOptions.redisRestarts})
  --seed N            seed of every random choice (default ${defaultChaosOptions.seed})
  --time-limit S      stop after S seconds, finished or not (default ${defaultChaosOptions.timeLimit})
  --max-receives N    VIDPIPE_MAX_RECEIVES of the workers (default ${defaultChaosOptions.maxReceives})
  --stale-seconds S   VIDPIPE_STALE_SECONDS of the workers (default ${defaultChaosOptions.staleSeconds})
  --keep              keep the work folder (storage, logs, Redis data)`

/** Options from the command line; throws an Error whose message says what is wrong. */
export const parseChaosArgs = (argv: ReadonlyArray<string>): ChaosOptions | "help" => {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      jobs: { type: "string" },
      workers: { type: "string" },
      kills: { type: "string" },
      "redis-restarts": { type: "string" },
      seed: { type: "string" },
      "time-limit": { type: "string" },
      "max-receives": { type: "string" },
      "stale-seconds": { type: "string" },
      keep: { type: "boolean" },
      help: { type: "boolean", short: "h" }
    }
  })
  if (values.help) return "help"
  const d = defaultChaosOptions
  return {
    jobs: integerOption("jobs", values.jobs, d.jobs, 1, 200),
    workers: integerOption("workers", values.workers, d.workers, 1, 16),
    kills: integerOption("kills", values.kills, d.kills, 0, 100),
    redisRestarts: integerOption("redis-restarts", values["redis-restarts"], d.redisRestarts, 0, 10),
    seed: integerOption("seed", values.seed, d.seed, 0, 2 ** 32 - 1),
    timeLimit: integerOption("time-limit", values["time-limit"], d.timeLimit, 10, 3600),
    maxReceives: integerOption("max-receives", values["max-receives"], d.maxReceives, 1, 100),
    staleSeconds: integerOption("stale-seconds", values["stale-seconds"], d.staleSeconds, 5, 86_400),
    keep: values.keep ?? false
  }
}

export interface ClipPlan {
  readonly name: string
  readonly width: number
  readonly height: number
  readonly durationSeconds: number
  /** 0 for a clip without audio. */
  readonly audioChannels: number
  /** Rungs by short side, as POST /v1/jobs takes them. */
  readonly ladder: ReadonlyArray<number>
}

export type Disruption = { readonly kind: "kill"; readonly preferBusy: boolean } | { readonly kind: "redis" }

export interface ChaosPlan {
  readonly clips: ReadonlyArray<ClipPlan>
  /** When each job is submitted, ms after the start (ascending). */
  readonly submitAtMs: ReadonlyArray<number>
  /** In order; each after `gapMs` since the one before (the first after the first submission). */
  readonly disruptions: ReadonlyArray<Disruption & { readonly gapMs: number; readonly downMs: number }>
}

/** Landscape and portrait sizes, small enough for two cores. */
const sizes: ReadonlyArray<readonly [number, number]> = [[320, 180], [426, 240], [480, 270], [640, 360], [854, 480], [360, 640], [240, 240]]

/** Clips, submission times and disruptions, the same for the same options. */
export const planChaos = (options: Pick<ChaosOptions, "jobs" | "kills" | "redisRestarts" | "seed">): ChaosPlan => {
  const random = mulberry32(options.seed)
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1))
  const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(random() * items.length)]!
  const clips = Array.from({ length: options.jobs }, (_, i): ClipPlan => {
    const [width, height] = pick(sizes)
    const shortSide = Math.min(width, height)
    // Some rungs above the source on purpose: they must be skipped, never upscaled.
    const ladder = [480, 360, 240, 180].filter((rung) => rung <= shortSide + 120).slice(0, between(1, 3))
    return {
      name: `clip${String(i + 1).padStart(2, "0")}-${width}x${height}`,
      width,
      height,
      durationSeconds: between(8, 30),
      audioChannels: pick([2, 2, 1, 0]),
      ladder: ladder.length > 0 ? ladder : [shortSide]
    }
  })
  // Submissions over the first ~15 s, so disruptions meet jobs at every stage.
  const submitAtMs = clips.map(() => between(0, 15_000)).sort((a, b) => a - b)
  const kinds: Array<Disruption> = [
    ...Array.from({ length: options.kills }, (): Disruption => ({ kind: "kill", preferBusy: random() < 0.8 })),
    ...Array.from({ length: options.redisRestarts }, (): Disruption => ({ kind: "redis" }))
  ]
  // Redis restarts somewhere in the middle, not first: some work must be in flight.
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = between(0, i)
    ;[kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!]
  }
  if (kinds[0]?.kind === "redis" && kinds.length > 1) {
    const k = kinds.findIndex((d) => d.kind === "kill")
    if (k > 0) [kinds[0], kinds[k]] = [kinds[k]!, kinds[0]!]
  }
  const disruptions = kinds.map((d) => ({ ...d, gapMs: between(2_000, 7_000), downMs: d.kind === "redis" ? between(2_000, 5_000) : between(300, 2_000) }))
  return { clips, submitAtMs, disruptions }
}

/** What the run found about one job. */
export interface JobOutcome {
  readonly jobId: string
  readonly clip: string
  readonly status: string
  readonly finalizeRuns: number | undefined
  readonly manifestWrites: number | undefined
  /** Highest receive count of any of its tasks. */
  readonly maxAttempts: number
  readonly error?: string
  /** Problems with the published presentation (schema, missing/empty files, undecodable segments). */
  readonly problems: ReadonlyArray<string>
  readonly segmentsChecked: number
}

export interface ChaosRun {
  readonly options: ChaosOptions
  readonly elapsedSeconds: number
  readonly submitted: number
  /** Submissions the API refused or that never got their upload in. */
  readonly submitFailures: ReadonlyArray<string>
  readonly kills: ReadonlyArray<{ readonly worker: string; readonly busy: boolean }>
  readonly redisRestarts: ReadonlyArray<{ readonly downMs: number }>
  readonly jobs: ReadonlyArray<JobOutcome>
  readonly queue: { readonly visible: number; readonly inFlight: number; readonly deadLettered: number } | undefined
  /** Counts of recovery lines in the worker logs (hand-backs, re-sends, reaped encoders…). */
  readonly recoveries: Readonly<Record<string, number>>
  readonly timedOut: boolean
}

const countBy = (values: ReadonlyArray<number | undefined>) => {
  const counts = new Map<string, number>()
  for (const value of values) counts.set(String(value ?? "none"), (counts.get(String(value ?? "none")) ?? 0) + 1)
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([value, n]) => `${value} ×${n}`).join(", ")
}

/** The report and whether the run passed: every job ready, published once, with nothing missing or corrupt. */
export const summarizeChaos = (run: ChaosRun): { readonly lines: ReadonlyArray<string>; readonly failures: ReadonlyArray<string>; readonly ok: boolean } => {
  const { jobs, options } = run
  const failures: Array<string> = []
  const ready = jobs.filter((j) => j.status === "ready")
  const failed = jobs.filter((j) => j.status === "failed")
  const unfinished = jobs.filter((j) => j.status !== "ready" && j.status !== "failed")
  if (jobs.length < options.jobs) failures.push(`${options.jobs - jobs.length} of ${options.jobs} job(s) were never submitted: ${run.submitFailures.join("; ")}`)
  for (const job of failed) failures.push(`job ${job.jobId} (${job.clip}) failed: ${job.error ?? "no reason"}`)
  for (const job of unfinished) failures.push(`job ${job.jobId} (${job.clip}) is still ${job.status}${run.timedOut ? " at the time limit" : ""}`)
  for (const job of ready) {
    if (job.finalizeRuns !== 1) failures.push(`job ${job.jobId} (${job.clip}) was finalized ${job.finalizeRuns ?? 0} times`)
    if (job.manifestWrites !== 1) failures.push(`job ${job.jobId} (${job.clip}) had its manifest written ${job.manifestWrites ?? 0} times`)
    for (const problem of job.problems) failures.push(`job ${job.jobId} (${job.clip}): ${problem}`)
  }
  if (run.kills.length < options.kills) failures.push(`only ${run.kills.length} of ${options.kills} worker kills happened before the jobs finished`)
  if (run.redisRestarts.length < options.redisRestarts) failures.push(`only ${run.redisRestarts.length} of ${options.redisRestarts} Redis restarts happened`)
  if (run.queue !== undefined && run.queue.visible + run.queue.inFlight + run.queue.deadLettered > 0 && failures.length === 0) {
    failures.push(`the queue is not empty at the end: ${run.queue.visible} visible, ${run.queue.inFlight} in flight, ${run.queue.deadLettered} dead-lettered`)
  }
  const busyKills = run.kills.filter((k) => k.busy).length
  const outputFailures = ready.filter((j) => j.problems.length > 0).length
  const lines = [
    `chaos: seed ${options.seed}, ${options.workers} workers, ${Math.round(run.elapsedSeconds)} s${run.timedOut ? " (time limit reached)" : ""}`,
    `  jobs:            ${jobs.length} submitted, ${ready.length} ready, ${failed.length} failed, ${unfinished.length} unfinished`,
    `  disruptions:     ${run.kills.length} worker SIGKILLs (${busyKills} while encoding), ${run.redisRestarts.length} Redis restarts (SIGKILL, down ${run.redisRestarts.map((r) => `${(r.downMs / 1000).toFixed(1)} s`).join(", ") || "-"})`,
    `  finalizeRuns:    ${countBy(ready.map((j) => j.finalizeRuns)) || "-"}`,
    `  manifestWrites:  ${countBy(ready.map((j) => j.manifestWrites)) || "-"}`,
    `  task receives:   max per job ${countBy(jobs.map((j) => j.maxAttempts)) || "-"}`,
    `  outputs:         ${ready.length - outputFailures} of ${ready.length} valid (MPD schema, ${ready.reduce((n, j) => n + j.segmentsChecked, 0)} segments present, non-empty and decodable); missing or corrupt: ${outputFailures}`,
    `  queue at end:    ${run.queue === undefined ? "unknown" : `${run.queue.visible} visible, ${run.queue.inFlight} in flight, ${run.queue.deadLettered} dead-lettered`}`,
    `  recoveries seen: ${Object.entries(run.recoveries).map(([what, n]) => `${what} ${n}`).join(", ") || "none"}`,
    failures.length === 0 ? "PASS: every job ready and valid, each finalized exactly once, no missing output" : `FAIL (${failures.length}):`,
    ...failures.map((f) => `  - ${f}`)
  ]
  return { lines, failures, ok: failures.length === 0 }
}
