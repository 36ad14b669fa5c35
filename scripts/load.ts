/**
 * `npm run load`: the HTTP API under concurrent load. Starts `vidpipe serve` on a free loopback
 * port with an API key (embedded: in-process queue and job store; `--backend redis` puts them on
 * a private redis-server), then C clients each loop over job creations (POST /v1/jobs), status
 * reads (GET /v1/jobs/{id} of a job created earlier) and list pages (GET /v1/jobs), until the
 * request count or the time limit. Prints throughput, errors (any non-2xx answer or network
 * error) and p50/p95/p99 latency per route; exits non-zero on any error; stops the server. That
 * server runs without the limits per key (VIDPIPE_API_RATE=0, VIDPIPE_API_DAILY_JOBS=0): it
 * measures the API, not the limiter.
 *
 * Then the rate limit: a second `vidpipe serve` with a low limit (VIDPIPE_API_RATE=2,
 * VIDPIPE_API_BURST=5) and two keys. Key A sends `--burst` job creations at once; key B sends 3
 * in the same instant and keeps creating a job every 600 ms (below its rate). It checks and prints that A's excess got 429 with
 * Retry-After and the API's error shape, that A gets in again after waiting Retry-After, that
 * every job accepted (201) is stored and nothing refused is, and that B got no 429.
 *
 * node scripts/load.ts [--requests 4000] [--concurrency 16] [--time-limit 60] [--warmup 100]
 *                      [--backend memory|redis] [--seed N] [--burst 40]
 */
import { rmSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import type { PrivateRedis } from "../test/support/redisServer.ts"
import { startPrivateRedis } from "../test/support/redisServer.ts"
import type { RunningServer } from "../test/support/server.ts"
import { startServer } from "../test/support/server.ts"
import { mulberry32 } from "../src/simulation/arrivals.ts"
import { integerOption } from "./scriptSupport.ts"

const usage = `Usage: npm run load -- [options]
  --requests N      measured requests in all (default 4000)
  --concurrency N   clients sending at once (default 16)
  --time-limit S    stop measuring after S seconds even if requests remain (default 60)
  --warmup N        unmeasured requests first (default 100)
  --backend B       memory (embedded, default) or redis (a private redis-server)
  --seed N          seed of the request mix (default 7)
  --burst N         job creations key A sends at once in the rate-limit run (default 40)`

type Route = "POST /v1/jobs" | "GET /v1/jobs/{id}" | "GET /v1/jobs"
const routes: ReadonlyArray<Route> = ["POST /v1/jobs", "GET /v1/jobs/{id}", "GET /v1/jobs"]

/** Nearest-rank percentile of ascending `sorted`. */
const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!

const options = (() => {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      options: {
        requests: { type: "string" },
        concurrency: { type: "string" },
        "time-limit": { type: "string" },
        warmup: { type: "string" },
        backend: { type: "string" },
        seed: { type: "string" },
        burst: { type: "string" },
        help: { type: "boolean", short: "h" }
      }
    })
    if (values.help) {
      console.log(usage)
      process.exit(0)
    }
    const backend = values.backend ?? "memory"
    if (backend !== "memory" && backend !== "redis") throw new Error(`--backend must be memory or redis (got "${backend}")`)
    return {
      requests: integerOption("requests", values.requests, 4000, 1, 10_000_000),
      concurrency: integerOption("concurrency", values.concurrency, 16, 1, 1000),
      timeLimit: integerOption("time-limit", values["time-limit"], 60, 1, 3600),
      warmup: integerOption("warmup", values.warmup, 100, 0, 100_000),
      seed: integerOption("seed", values.seed, 7, 0, 2 ** 32 - 1),
      burst: integerOption("burst", values.burst, 40, 10, 500),
      backend
    }
  } catch (error) {
    console.error(`load: ${error instanceof Error ? error.message : String(error)}\n${usage}`)
    process.exit(2)
  }
})()

/** The rate-limit run's server: low enough that a burst is sure to pass it. */
const limitRate = 2
const limitBurst = 5
const keyA = "load-key-a"
const keyB = "load-key-b"
/** Key B's pace: one creation every 600 ms, below the rate, so its bucket never empties. */
const keyBEveryMs = 600

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const firstFew = (items: ReadonlyArray<string>) => `${items.slice(0, 3).join("; ")}${items.length > 3 ? `; … (${items.length - 3} more)` : ""}`

interface Sample {
  readonly route: Route
  readonly ms: number
  readonly ok: boolean
}

const main = async () => {
  const workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-load-"))
  let redis: PrivateRedis | undefined
  let server: RunningServer | undefined
  // Stopped by a signal: take the server (and Redis) with us.
  const abandon = () => {
    server?.child.kill("SIGKILL")
    const redisPid = redis?.pid()
    if (redisPid !== undefined) process.kill(redisPid, "SIGKILL")
    rmSync(workdir, { recursive: true, force: true })
    process.exit(130)
  }
  process.once("SIGINT", abandon).once("SIGTERM", abandon)
  try {
    const backendEnv = async (name: string): Promise<Record<string, string>> => {
      const env: Record<string, string> = { VIDPIPE_STORAGE: `file://${path.join(workdir, `storage-${name}`)}`, VIDPIPE_LOG_LEVEL: "Error" }
      if (options.backend === "redis") {
        redis ??= await startPrivateRedis({ dir: await fs.mkdtemp(path.join(workdir, "redis-")) })
        Object.assign(env, { VIDPIPE_QUEUE: redis.url, VIDPIPE_COORDINATOR: redis.url, VIDPIPE_REDIS_PREFIX: name })
      }
      return env
    }
    // Embedded workers have nothing to do (no job gets an upload), but run as they would.
    const workers = ["--workers", options.backend === "redis" ? "0" : "1"]
    // No limits here: this run measures the API, and 16 clients on one key are far above them.
    const env = { ...(await backendEnv("load")), VIDPIPE_API_KEYS: "load-key", VIDPIPE_API_RATE: "0", VIDPIPE_API_DAILY_JOBS: "0" }
    server = await startServer(workers, env, 60_000)
    const api = server
    console.log(`load: vidpipe serve at ${api.base} (${options.backend}), ${options.concurrency} clients, ${options.requests} requests (+${options.warmup} warm-up), limit ${options.timeLimit} s`)

    const random = mulberry32(options.seed)
    const jobIds: Array<string> = []
    const errors = new Map<string, number>()
    const fail = (what: string) => errors.set(what, (errors.get(what) ?? 0) + 1)

    /** One request of the mix (1 create : 3 status reads : 1 list page); never throws. */
    const one = async (): Promise<Sample> => {
      const roll = random()
      const route: Route = jobIds.length === 0 || roll < 0.2 ? "POST /v1/jobs" : roll < 0.8 ? "GET /v1/jobs/{id}" : "GET /v1/jobs"
      const started = performance.now()
      try {
        const response = route === "POST /v1/jobs"
          ? await api.api("/v1/jobs", { method: "POST", body: JSON.stringify({ fileName: "load.mp4", contentLength: 1_000_000 + Math.floor(random() * 1e6), ladder: [720, 360] }) })
          : route === "GET /v1/jobs"
          ? await api.api("/v1/jobs?limit=20")
          : await api.api(`/v1/jobs/${jobIds[Math.floor(random() * jobIds.length)]}`)
        const body = await response.text()
        const ms = performance.now() - started
        const ok = response.status >= 200 && response.status < 300
        if (!ok) fail(`${route}: ${response.status} ${body.slice(0, 200)}`)
        else if (route === "POST /v1/jobs") jobIds.push((JSON.parse(body) as { jobId: string }).jobId)
        return { route, ms, ok }
      } catch (error) {
        fail(`${route}: ${error instanceof Error ? `${error.message}${error.cause ? ` (${String(error.cause)})` : ""}` : String(error)}`)
        return { route, ms: performance.now() - started, ok: false }
      }
    }

    /** `count` requests from `concurrency` clients, stopping early at `deadline`. */
    const run = async (count: number, deadline: number) => {
      const samples: Array<Sample> = []
      let issued = 0
      const client = async () => {
        while (issued < count && performance.now() < deadline) {
          issued++
          samples.push(await one())
        }
      }
      await Promise.all(Array.from({ length: options.concurrency }, client))
      return samples
    }

    await run(options.warmup, performance.now() + 30_000)
    errors.clear()
    const started = performance.now()
    const samples = await run(options.requests, started + options.timeLimit * 1000)
    const seconds = (performance.now() - started) / 1000

    const row = (label: string, of: ReadonlyArray<Sample>) => {
      const sorted = of.map((s) => s.ms).sort((a, b) => a - b)
      const cells = [
        String(of.length),
        (of.length / seconds).toFixed(1),
        ...[50, 95, 99].map((p) => percentile(sorted, p).toFixed(1)),
        (sorted.at(-1) ?? Number.NaN).toFixed(1),
        String(of.filter((s) => !s.ok).length)
      ]
      return `${label.padEnd(20)}${cells.map((c) => c.padStart(9)).join("")}`
    }
    const errorCount = samples.filter((s) => !s.ok).length
    console.log(`load: ${samples.length} requests in ${seconds.toFixed(1)} s → ${(samples.length / seconds).toFixed(1)} req/s, ${errorCount} errors${samples.length < options.requests ? " (time limit reached)" : ""}`)
    console.log(`${"route".padEnd(20)}${["count", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"].map((c) => c.padStart(9)).join("")}`)
    for (const route of routes) console.log(row(route, samples.filter((s) => s.route === route)))
    console.log(row("all", samples))
    for (const [what, n] of errors) console.log(`  error ×${n}: ${what}`)
    const throughputOk = errorCount === 0 && samples.length > 0
    await server.stop()

    // The rate limit, on a server of its own.
    const limitsEnv = {
      ...(await backendEnv("loadlimits")),
      VIDPIPE_API_KEYS: `${keyA},${keyB}`,
      VIDPIPE_API_RATE: String(limitRate),
      VIDPIPE_API_BURST: String(limitBurst),
      VIDPIPE_API_DAILY_JOBS: "0"
    }
    server = await startServer(workers, limitsEnv, 60_000)
    const limitsOk = await rateLimitRun(server)
    return throughputOk && limitsOk
  } finally {
    await server?.stop()
    await redis?.close()
    await fs.rm(workdir, { recursive: true, force: true })
  }
}

interface Answer {
  readonly status: number
  readonly retryAfter: string | null
  readonly body: string
}

/**
 * Key A's burst above the limit and key B's steady pace at the same time, then what was stored.
 * Bounded: `options.burst` + 1 creations from A, about 8 s of B, a few list pages; every request
 * has a 30 s timeout.
 */
const rateLimitRun = async (server: RunningServer): Promise<boolean> => {
  const send = async (key: string, path: string, init: RequestInit = {}): Promise<Answer> => {
    const response = await server.api(path, { ...init, headers: { "x-api-key": key }, signal: AbortSignal.timeout(30_000) })
    return { status: response.status, retryAfter: response.headers.get("retry-after"), body: await response.text() }
  }
  const create = (key: string) =>
    send(key, "/v1/jobs", { method: "POST", body: JSON.stringify({ fileName: "limits.mp4", contentLength: 1_000_000, ladder: [360] }) })
  const jobIdOf = (answer: Answer) => (JSON.parse(answer.body) as { jobId: string }).jobId
  /** A request sent again after each 429's Retry-After (a client that honours it), a few times at most. */
  const patiently = async (attempt: () => Promise<Answer>) => {
    for (let tries = 1; ; tries++) {
      const answer = await attempt()
      if (answer.status !== 429 || tries === 5) return answer
      await sleep(Number(answer.retryAfter ?? "1") * 1000)
    }
  }
  /** Every job `key` sees, page by page. */
  const storedJobs = async (key: string) => {
    const ids = new Set<string>()
    let cursor: string | undefined
    do {
      const page = await patiently(() => send(key, `/v1/jobs?limit=100${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`))
      if (page.status !== 200) throw new Error(`GET /v1/jobs answered ${page.status}: ${page.body.slice(0, 200)}`)
      const parsed = JSON.parse(page.body) as { jobs: Array<{ jobId: string }>; nextCursor?: string }
      for (const job of parsed.jobs) ids.add(job.jobId)
      cursor = parsed.nextCursor
    } while (cursor !== undefined)
    return ids
  }

  console.log(`\nrate limit: vidpipe serve at ${server.base} with VIDPIPE_API_RATE=${limitRate} VIDPIPE_API_BURST=${limitBurst}; key A sends ${options.burst} job creations at once; key B sends 3 in the same instant and one every ${keyBEveryMs} ms throughout`)
  const problems: Array<string> = []

  // Key B: steady, below its rate, from before A's burst until after A's retry.
  let aDone = false
  const fromB: Array<Answer> = []
  const keyBClient = (async () => {
    while (!aDone || fromB.length < 3) {
      fromB.push(await create(keyB))
      await sleep(keyBEveryMs)
    }
  })()
  await sleep(keyBEveryMs)

  // Key B also sends 3 in the same instant as A's burst (within its own burst of 5).
  const started = performance.now()
  const together = await Promise.all([...Array.from({ length: options.burst }, () => create(keyA)), ...Array.from({ length: 3 }, () => create(keyB))])
  const burstMs = performance.now() - started
  const fromA = together.slice(0, options.burst)
  fromB.push(...together.slice(options.burst))
  const acceptedA = fromA.filter((a) => a.status === 201)
  const refusedA = fromA.filter((a) => a.status === 429)
  const otherA = fromA.filter((a) => a.status !== 201 && a.status !== 429)
  const retryAfters = refusedA.map((a) => Number(a.retryAfter))
  const wellFormed = refusedA.filter((a) => {
    const body = JSON.parse(a.body) as { error?: { _tag?: string; message?: string } }
    return /^[1-9]\d*$/.test(a.retryAfter ?? "") && body.error?._tag === "TooManyRequests" && typeof body.error.message === "string"
  })
  // A client that waits as told gets in.
  const waitSeconds = Math.max(1, ...retryAfters)
  await sleep(waitSeconds * 1000)
  const retried = await create(keyA)
  aDone = true
  await keyBClient
  const accepted = [...acceptedA, ...(retried.status === 201 ? [retried] : [])].map(jobIdOf)
  const acceptedB = fromB.filter((b) => b.status === 201).map(jobIdOf)

  const storedA = await storedJobs(keyA)
  const storedB = await storedJobs(keyB)
  const lostA = accepted.filter((id) => !storedA.has(id))
  const lostB = acceptedB.filter((id) => !storedB.has(id))
  const extraA = [...storedA].filter((id) => !accepted.includes(id))

  console.log(`  key A: ${fromA.length} at once in ${burstMs.toFixed(0)} ms → ${acceptedA.length} accepted (201), ${refusedA.length} refused (429), ${otherA.length} other` +
    (refusedA.length === 0 ? "" : `; Retry-After ${Math.min(...retryAfters)}..${Math.max(...retryAfters)} s, ${wellFormed.length} of ${refusedA.length} refusals with Retry-After and {"error":{"_tag":"TooManyRequests",…}}`))
  console.log(`  key A after waiting ${waitSeconds} s (its Retry-After): ${retried.status}`)
  console.log(`  key B at the same time: ${fromB.length} creations → ${acceptedB.length} accepted, ${fromB.filter((b) => b.status === 429).length} refused (429), ${fromB.filter((b) => b.status !== 201 && b.status !== 429).length} other`)
  console.log(`  stored: key A ${accepted.length - lostA.length} of ${accepted.length} accepted jobs (${lostA.length} lost) and ${extraA.length} refused ones; key B ${acceptedB.length - lostB.length} of ${acceptedB.length} (${lostB.length} lost)`)

  if (refusedA.length === 0) problems.push("key A's burst was not limited")
  if (acceptedA.length < limitBurst) problems.push(`key A had ${acceptedA.length} accepted, fewer than its burst of ${limitBurst}`)
  if (wellFormed.length !== refusedA.length) problems.push(`${refusedA.length - wellFormed.length} refusals lack Retry-After or the error shape`)
  if (otherA.length > 0) problems.push(`key A got other answers: ${firstFew(otherA.map((a) => `${a.status} ${a.body.slice(0, 120)}`))}`)
  if (retried.status !== 201) problems.push(`key A after Retry-After: ${retried.status} ${retried.body.slice(0, 200)}`)
  if (acceptedB.length !== fromB.length) problems.push(`key B was refused: ${firstFew(fromB.filter((b) => b.status !== 201).map((b) => `${b.status} ${b.body.slice(0, 120)}`))}`)
  if (lostA.length + lostB.length > 0) problems.push(`${lostA.length + lostB.length} accepted jobs not stored: ${firstFew([...lostA, ...lostB])}`)
  if (extraA.length > 0) problems.push(`${extraA.length} jobs stored for key A that were not accepted: ${firstFew(extraA)}`)
  for (const problem of problems) console.log(`  problem: ${problem}`)
  console.log(`rate limit: ${problems.length === 0 ? "ok" : "FAILED"}`)
  return problems.length === 0
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error) => {
    console.error(`load: ${error instanceof Error ? error.stack : String(error)}`)
    process.exit(1)
  }
)
