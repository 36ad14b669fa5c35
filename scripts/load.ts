/**
 * `npm run load`: the HTTP API under concurrent load. Starts `vidpipe serve` on a free loopback
 * port with an API key (embedded: in-process queue and job store; `--backend redis` puts them on
 * a private redis-server), then C clients each loop over job creations (POST /v1/jobs), status
 * reads (GET /v1/jobs/{id} of a job created earlier) and list pages (GET /v1/jobs), until the
 * request count or the time limit. Prints throughput, errors (any non-2xx answer or network
 * error) and p50/p95/p99 latency per route; exits non-zero on any error; stops the server.
 *
 * node scripts/load.ts [--requests 4000] [--concurrency 16] [--time-limit 60] [--warmup 100]
 *                      [--backend memory|redis] [--seed N]
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
import { mulberry32 } from "../src/programs/simulation/arrivals.ts"
import { integerOption } from "./scriptSupport.ts"

const usage = `Usage: npm run load -- [options]
  --requests N      measured requests in all (default 4000)
  --concurrency N   clients sending at once (default 16)
  --time-limit S    stop measuring after S seconds even if requests remain (default 60)
  --warmup N        unmeasured requests first (default 100)
  --backend B       memory (embedded, default) or redis (a private redis-server)
  --seed N          seed of the request mix (default 7)`

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
      backend
    }
  } catch (error) {
    console.error(`load: ${error instanceof Error ? error.message : String(error)}\n${usage}`)
    process.exit(2)
  }
})()

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
    const env: Record<string, string> = { VIDPIPE_STORAGE: `file://${path.join(workdir, "storage")}`, VIDPIPE_API_KEYS: "load-key", VIDPIPE_LOG_LEVEL: "Error" }
    if (options.backend === "redis") {
      redis = await startPrivateRedis({ dir: await fs.mkdtemp(path.join(workdir, "redis-")) })
      Object.assign(env, { VIDPIPE_QUEUE: redis.url, VIDPIPE_COORDINATOR: redis.url, VIDPIPE_REDIS_PREFIX: "load" })
    }
    // Embedded workers have nothing to do (no job gets an upload), but run as they would.
    server = await startServer(["--workers", options.backend === "redis" ? "0" : "1"], env, 60_000)
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
    return errorCount === 0 && samples.length > 0
  } finally {
    await server?.stop()
    await redis?.close()
    await fs.rm(workdir, { recursive: true, force: true })
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error) => {
    console.error(`load: ${error instanceof Error ? error.stack : String(error)}`)
    process.exit(1)
  }
)
