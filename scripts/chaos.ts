/**
 * `npm run chaos`: a self-hosted deployment under fire. A private redis-server (append-only) on a
 * free loopback port, `vidpipe serve --workers 0` for the API and uploads, and N `vidpipe worker`
 * processes; jobs are submitted over HTTP from generated clips of varied sizes, while workers are
 * SIGKILLed at random moments (each replaced, as systemd would) and Redis is crashed and
 * restarted. At the end every job must be ready, finalized exactly once, with a valid MPD whose
 * every segment exists and decodes. Bounded in time; the same seed makes the same choices.
 *
 * node scripts/chaos.ts [--jobs 12] [--workers 3] [--kills 5] [--redis-restarts 1] [--seed N]
 *                       [--time-limit 300] [--max-receives 5] [--stale-seconds 120] [--keep]
 */
import type { ChildProcess } from "node:child_process"
import { spawnSync } from "node:child_process"
import { createWriteStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Redis } from "ioredis"
import { reapOrphanedEncoders } from "../src/layers/ffmpeg/orphans.ts"
import { startVidpipe } from "../test/support/cli.ts"
import { makeClip } from "../test/support/clips.ts"
import { checkPresentation } from "../test/support/dashInspect.ts"
import { ffmpegChildrenOf } from "../test/support/fleet.ts"
import { startPrivateRedis } from "../test/support/redisServer.ts"
import type { RunningServer } from "../test/support/server.ts"
import { startServer } from "../test/support/server.ts"
import type { ChaosOptions, ChaosRun, ClipPlan, JobOutcome } from "./chaosPlan.ts"
import { chaosUsage, parseChaosArgs, planChaos, summarizeChaos } from "./chaosPlan.ts"
import { mulberry32 } from "../src/simulation/arrivals.ts"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Lines in the worker logs that show a recovery path being taken, by what they show. */
const recoveryPatterns: ReadonlyArray<readonly [string, RegExp]> = [
  ["hand-backs", /handed \S+ back to the queue/],
  ["retried attempts", /failed, will be retried/],
  ["orphaned encoders stopped", /stopped \d+ encoder\(s\) left by a dead worker/],
  ["sweeper re-sends", /sweeper: job \S+ was idle; re-sent/],
  ["late finalizers (manifest already there)", /manifest was already published/],
  ["lease passed on", /lease had passed on/],
  ["queue back-offs", /backing off/],
  ["dead-lettered jobs", /sweeper: job \S+ failed/]
]

/** Whether a program is on PATH. */
const installed = (program: string) => spawnSync("sh", ["-c", `command -v ${program}`]).status === 0

const main = async (options: ChaosOptions) => {
  if (!installed("redis-server")) throw new Error("redis-server is not installed (Debian: apt-get install redis-server)")
  // Without xmllint the MPDs are still parsed and every segment checked, just not schema-validated.
  const schemaCheck = installed("xmllint")
  const started = Date.now()
  const clock = () => `[${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s]`
  const say = (line: string) => console.log(`${clock()} ${line}`)
  const random = mulberry32(options.seed ^ 0x5eed)
  const plan = planChaos(options)
  const workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-chaos-"))
  const logDir = path.join(workdir, "logs")
  const storageDir = path.join(workdir, "storage")
  await fs.mkdir(logDir, { recursive: true })
  if (!schemaCheck) say("xmllint not found: MPDs are not validated against the DASH schema (apt-get install libxml2-utils)")
  say(`work folder ${workdir} (seed ${options.seed}; ${options.jobs} jobs, ${options.workers} workers, ${options.kills} kills, ${options.redisRestarts} Redis restarts, limit ${options.timeLimit} s)`)

  // Clips first: their encoding would otherwise compete with the run.
  const clipDir = path.join(workdir, "clips")
  await fs.mkdir(clipDir)
  const clips: Array<ClipPlan & { readonly file: string; readonly bytes: Uint8Array<ArrayBuffer> }> = []
  for (const clip of plan.clips) {
    const file = path.join(clipDir, `${clip.name}.mp4`)
    await makeClip({ output: file, durationSeconds: clip.durationSeconds, width: clip.width, height: clip.height, audioChannels: clip.audioChannels })
    clips.push({ ...clip, file, bytes: new Uint8Array(await fs.readFile(file)) })
  }
  say(`made ${clips.length} clips: ${clips.map((c) => `${c.width}x${c.height} ${c.durationSeconds}s${c.audioChannels === 0 ? " mute" : ""}`).join(", ")}`)

  const redisDir = path.join(workdir, "redis")
  await fs.mkdir(redisDir)
  const redisServer = await startPrivateRedis({ dir: redisDir })
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 50, retryStrategy: (times) => Math.min(times * 100, 500) })
  redis.on("error", () => {})
  const prefix = "chaos"
  const env: Record<string, string> = {
    VIDPIPE_QUEUE: redisServer.url,
    VIDPIPE_COORDINATOR: redisServer.url,
    VIDPIPE_STORAGE: `file://${storageDir}`,
    VIDPIPE_REDIS_PREFIX: prefix,
    VIDPIPE_API_KEYS: "chaos-key",
    VIDPIPE_POLL_SECONDS: "1",
    VIDPIPE_VISIBILITY_SECONDS: "6",
    VIDPIPE_HEARTBEAT_SECONDS: "1",
    VIDPIPE_FINALIZE_LEASE_SECONDS: "5",
    VIDPIPE_SWEEP_SECONDS: "2",
    VIDPIPE_STALE_SECONDS: String(options.staleSeconds),
    VIDPIPE_MAX_RECEIVES: String(options.maxReceives),
    VIDPIPE_LOG_LEVEL: "Info"
  }

  // Workers, each with a log file; a killed one is replaced after a pause.
  const workers = new Map<string, ChildProcess>()
  let generation = 0
  const startWorker = (slot: number) => {
    const id = `w${slot}.${++generation}`
    const child = startVidpipe(["worker", "--id", id], { env })
    const log = createWriteStream(path.join(logDir, `${id}.log`))
    child.stdout?.pipe(log)
    child.stderr?.pipe(log)
    workers.set(id, child)
    child.once("exit", () => workers.delete(id))
    return id
  }
  const slotOf = (id: string) => Number(id.slice(1, id.indexOf(".")))

  const serverLog = createWriteStream(path.join(logDir, "serve.log"))
  let server: RunningServer | undefined
  const kills: Array<{ worker: string; busy: boolean }> = []
  const restarts: Array<{ downMs: number }> = []
  const submitted: Array<{ jobId: string; clip: string }> = []
  const submitFailures: Array<string> = []
  let timedOut = false
  let jobs: Array<JobOutcome> = []
  let queue: ChaosRun["queue"]

  const jobRecord = async (jobId: string) => {
    const data = await redis.hget(`${prefix}:job:${jobId}`, "data")
    return data === null ? undefined : JSON.parse(data)
  }
  const queueDepth = async () => {
    const [visible, inFlight, deadLettered] = await Promise.all([
      redis.zcard(`${prefix}:queue:available`),
      redis.zcard(`${prefix}:queue:inflight`),
      redis.xlen(`${prefix}:queue:dead`)
    ])
    return { visible, inFlight, deadLettered }
  }

  // Stopped by a signal (a timeout, Ctrl-C from elsewhere): take every process we started with us.
  const abandon = () => {
    for (const child of workers.values()) child.kill("SIGKILL")
    server?.child.kill("SIGKILL")
    const redisPid = redisServer.pid()
    if (redisPid !== undefined) process.kill(redisPid, "SIGKILL")
    console.error(`chaos: stopped; work folder kept: ${workdir}`)
    process.exit(130)
  }
  process.once("SIGINT", abandon).once("SIGTERM", abandon)

  try {
    for (let slot = 1; slot <= options.workers; slot++) startWorker(slot)
    server = await startServer(["--workers", "0"], env, 60_000)
    server.child.stdout?.pipe(serverLog)
    server.child.stderr?.pipe(serverLog)
    const api = server
    say(`vidpipe serve on ${api.base}, ${options.workers} vidpipe worker processes on ${redisServer.url}`)

    // A client: create the job, upload within the URL's 5 s; try again (a new job) on a refusal.
    const submit = async (clip: (typeof clips)[number]) => {
      let lastError = ""
      for (let attempt = 1; attempt <= 5; attempt++) {
        try {
          const created = await api.api("/v1/jobs", { method: "POST", body: JSON.stringify({ fileName: `${clip.name}.mp4`, contentLength: clip.bytes.length, ladder: clip.ladder }) })
          if (created.status !== 201) throw new Error(`POST /v1/jobs answered ${created.status}: ${await created.text()}`)
          const { jobId, upload } = (await created.json()) as { jobId: string; upload: { url: string; headers: Record<string, string> } }
          const put = await fetch(upload.url, { method: "PUT", headers: upload.headers, body: clip.bytes })
          if (put.status !== 200) throw new Error(`upload of ${jobId} answered ${put.status}: ${await put.text()}`)
          submitted.push({ jobId, clip: clip.name })
          say(`submitted ${jobId} (${clip.name}, ${clip.durationSeconds} s, ladder ${clip.ladder.join(",")})`)
          return
        } catch (error) {
          lastError = error instanceof Error ? error.message : String(error)
          say(`submission of ${clip.name} failed (attempt ${attempt}): ${lastError}`)
          await sleep(1000)
        }
      }
      submitFailures.push(`${clip.name}: ${lastError}`)
    }
    const submissions = Promise.all(clips.map(async (clip, i) => {
      await sleep(plan.submitAtMs[i]!)
      await submit(clip)
    }))

    const status = async () => {
      const records = await Promise.all(submitted.map((s) => jobRecord(s.jobId)))
      const ready = records.filter((r) => r?.status === "ready").length
      const failed = records.filter((r) => r?.status === "failed").length
      return { records, ready, failed, done: submitted.length === options.jobs && ready + failed === options.jobs }
    }

    // Disruptions, in the planned order and spacing, while jobs are still running.
    const disrupt = async () => {
      while (submitted.length === 0) await sleep(200)
      for (const disruption of plan.disruptions) {
        await sleep(disruption.gapMs)
        if ((await status().catch(() => ({ done: false }))).done) break
        // A random moment, but one where it hurts: wait (a little) for work in flight.
        const busyWorkers = () => [...workers.entries()].filter(([, child]) => ffmpegChildrenOf(child.pid).length > 0)
        const hurtsBy = Date.now() + 10_000
        while (Date.now() < hurtsBy && (disruption.kind === "redis" || disruption.preferBusy) && busyWorkers().length === 0) await sleep(200)
        if (disruption.kind === "redis") {
          say(`Redis: SIGKILL (pid ${redisServer.pid()}), down for ${(disruption.downMs / 1000).toFixed(1)} s`)
          await redisServer.stop("SIGKILL")
          await sleep(disruption.downMs)
          await redisServer.start()
          restarts.push({ downMs: disruption.downMs })
          say(`Redis: restarted on port ${redisServer.port} from its append-only file`)
          continue
        }
        const alive = [...workers.entries()]
        const busy = busyWorkers()
        const pool = disruption.preferBusy && busy.length > 0 ? busy : alive
        const [id, child] = pool[Math.floor(random() * pool.length)]!
        const wasBusy = busy.some(([busyId]) => busyId === id)
        child.kill("SIGKILL")
        kills.push({ worker: id, busy: wasBusy })
        say(`SIGKILL worker ${id} (pid ${child.pid}${wasBusy ? ", encoding" : ", idle"}); replacement in ${(disruption.downMs / 1000).toFixed(1)} s`)
        setTimeout(() => say(`started replacement ${startWorker(slotOf(id))}`), disruption.downMs)
      }
    }
    const disruptions = disrupt()

    // Progress every 5 s until every job is over or the time limit.
    const deadline = started + options.timeLimit * 1000
    let lastReport = 0
    while (true) {
      const now = Date.now()
      const current = await status().catch(() => undefined)
      if (current?.done) break
      if (now > deadline) {
        timedOut = true
        say("time limit reached")
        break
      }
      if (now - lastReport >= 5000) {
        lastReport = now
        const depth = await queueDepth().catch(() => undefined)
        say(
          `jobs ${submitted.length}/${options.jobs} submitted, ${current?.ready ?? "?"} ready, ${current?.failed ?? "?"} failed` +
            ` | queue ${depth ? `${depth.visible} visible, ${depth.inFlight} in flight, ${depth.deadLettered} dead` : "unreachable"}` +
            ` | ${workers.size} workers | kills ${kills.length}/${options.kills}, Redis restarts ${restarts.length}/${options.redisRestarts}`
        )
      }
      await sleep(500)
    }
    await submissions
    await Promise.race([disruptions, sleep(1000)])

    // Let duplicate deliveries left by the disruptions drain before looking at the queue.
    const settleUntil = Date.now() + 15_000
    while (Date.now() < settleUntil) {
      queue = await queueDepth().catch(() => undefined)
      if (queue !== undefined && queue.visible + queue.inFlight === 0) break
      await sleep(500)
    }

    say("checking every published presentation (MPD schema, every segment present, non-empty and decodable)")
    jobs = []
    for (const { clip, jobId } of submitted) {
      const record = await jobRecord(jobId)
      const ready = record?.status === "ready" && record.manifestKey !== undefined
      const report = ready ? await checkPresentation(path.join(storageDir, "outputs", record.manifestKey), { concurrency: 2 }) : undefined
      jobs.push({
        jobId,
        clip,
        status: record?.status ?? "missing",
        finalizeRuns: record?.finalizeRuns,
        manifestWrites: record?.manifestWrites,
        maxAttempts: Math.max(0, ...(record?.tasks ?? []).map((t: { attempts: number }) => t.attempts)),
        ...(record?.error === undefined ? {} : { error: `${record.error._tag}: ${record.error.message}` }),
        problems: (report?.problems ?? []).filter((problem) => schemaCheck || !problem.startsWith("schema:")),
        segmentsChecked: report?.video.reduce((n, rung) => n + rung.segmentCount, 0) ?? 0
      })
      say(`  ${jobId} ${clip.padEnd(18)} ${record?.status ?? "missing"}  finalizeRuns ${record?.finalizeRuns ?? "-"}  manifestWrites ${record?.manifestWrites ?? "-"}  ${report === undefined ? "" : report.problems.length === 0 ? `valid (${report.video.length} rungs${report.audio ? " + audio" : ""})` : `${report.problems.length} problem(s)`}`)
    }
  } finally {
    // Ctrl-C stops a worker at once and takes its ffmpeg with it; encoders orphaned by the
    // SIGKILLs and not yet reaped by a replacement are stopped the way a starting worker does.
    const stopped = [...workers.values()].map((child) => new Promise((resolve) => child.once("exit", resolve)))
    for (const child of workers.values()) child.kill("SIGINT")
    await Promise.race([Promise.all(stopped), sleep(5000)])
    for (const child of workers.values()) child.kill("SIGKILL")
    await reapOrphanedEncoders()
    await server?.stop()
    redis.disconnect()
    await redisServer.stop("SIGTERM")
  }

  const logs = await Promise.all((await fs.readdir(logDir)).map((name) => fs.readFile(path.join(logDir, name), "utf8")))
  const recoveries: Record<string, number> = {}
  for (const [what, pattern] of recoveryPatterns) {
    const n = logs.reduce((sum, log) => sum + log.split("\n").filter((line) => pattern.test(line)).length, 0)
    if (n > 0) recoveries[what] = n
  }
  const summary = summarizeChaos({
    options,
    elapsedSeconds: (Date.now() - started) / 1000,
    submitted: submitted.length,
    submitFailures,
    kills,
    redisRestarts: restarts,
    jobs,
    queue,
    recoveries,
    timedOut
  })
  console.log("")
  for (const line of summary.lines) console.log(line)
  if (options.keep || !summary.ok) console.log(`work folder kept: ${workdir} (logs/ has every process's log)`)
  else await fs.rm(workdir, { recursive: true, force: true })
  return summary.ok
}

let options: ChaosOptions | "help"
try {
  options = parseChaosArgs(process.argv.slice(2))
} catch (error) {
  console.error(`chaos: ${error instanceof Error ? error.message : String(error)}\n${chaosUsage}`)
  process.exit(2)
}
if (options === "help") {
  console.log(chaosUsage)
  process.exit(0)
}
main(options).then(
  (ok) => process.exit(ok ? 0 : 1),
  (error) => {
    console.error(`chaos: ${error instanceof Error ? error.stack : String(error)}`)
    process.exit(1)
  }
)
