/**
 * The self-hosted shape: `vidpipe worker` processes and `vidpipe submit` sharing Redis and a
 * storage folder, with real ffmpeg, surviving crashes, a finalizer that dies after winning,
 * drains, `SCRIPT FLUSH` and a Redis restart.
 */
import type { ChildProcess } from "node:child_process"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { deleteScript, extendScript, receiveScript } from "../../src/layers/redis/jobQueueScripts.ts"
import { checkPresentation } from "../support/dashInspect.ts"
import { collect, lastJsonLine, runVidpipe, startVidpipe } from "../support/cli.ts"
import { makeClip } from "../support/clips.ts"
import type { Fleet } from "../support/fleet.ts"
import { exited, ffmpegChildrenOf, startFleet, waitFor } from "../support/fleet.ts"
import { freePort, redisAnswers, spawnRedisServer as startRedis } from "../support/redisServer.ts"

let workdir = ""
let medium = ""
let small = ""
let fleet: Fleet | undefined

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-fleet-clips-"))
  medium = await makeClip({ output: path.join(workdir, "medium.mp4"), durationSeconds: 16, width: 1280, height: 720 })
  small = await makeClip({ output: path.join(workdir, "small.mp4"), durationSeconds: 8, width: 640, height: 360 })
})
afterEach(async () => {
  await fleet?.close()
  fleet = undefined
})
afterAll(async () => {
  await fs.rm(workdir, { recursive: true, force: true })
})

const submit = async (f: Fleet, input: string, ladder: string) => {
  const result = await runVidpipe(["submit", input, "--json", "--strategy", "rendition", "--ladder", ladder], { env: f.env })
  expect(result.code, result.stderr).toBe(0)
  return lastJsonLine(result.stdout).jobId as string
}

const readyJob = (f: Fleet, jobId: string, timeoutMs = 120_000) =>
  waitFor(async () => {
    const job = await f.job(jobId)
    if (job?.status === "failed") throw new Error(`job failed: ${job.error?.message}`)
    return job?.status === "ready" ? job : undefined
  }, timeoutMs, `job ${jobId} to be ready`)

/** Checks what every finished job must show: one finalization, one manifest write, a valid presentation. */
const expectPublishedOnce = async (f: Fleet, job: any) => {
  expect(job.finalizeRuns).toBe(1)
  expect(job.manifestWrites).toBe(1)
  const report = await checkPresentation(path.join(f.storageDir, "outputs", job.manifestKey))
  expect(report.problems).toEqual([])
}

const workerRunning = (workers: ReadonlyArray<ChildProcess>) => () => workers.find((w) => ffmpegChildrenOf(w.pid).length > 0)

/** What Redis caches the scripts only workers run (receive, heartbeat, delete) under: their SHA1. */
const workerScripts = [receiveScript, extendScript, deleteScript].map((lua) => createHash("sha1").update(lua).digest("hex"))

describe("self-hosted fleet on Redis", () => {
  it("three vidpipe worker processes and vidpipe submit --wait complete a job", async () => {
    const f = (fleet = await startFleet())
    for (const id of ["w1", "w2", "w3"]) f.startWorker(id)
    const result = await runVidpipe(["submit", medium, "--wait", "--json", "--strategy", "rendition", "--ladder", "720,480,360"], { env: f.env })
    expect(result.code, result.stderr).toBe(0)
    const summary = lastJsonLine(result.stdout)
    expect(summary.status).toBe("ready")
    expect(summary.manifest).toBe(path.join(f.storageDir, "outputs", summary.jobId, "manifest.mpd"))
    const job = await f.job(summary.jobId)
    expect(new Set(job.tasks.map((t: any) => t.worker)).size).toBeGreaterThan(1)
    await expectPublishedOnce(f, job)
  }, 180_000)

  it("a worker SIGKILLed while encoding: its task is redelivered, the job is published once", async () => {
    const f = (fleet = await startFleet())
    const workers = [f.startWorker("w1"), f.startWorker("w2")]
    const jobId = await submit(f, medium, "720,480,360")
    const victim = await waitFor(workerRunning(workers), 60_000, "a worker to be encoding")
    const orphans = ffmpegChildrenOf(victim.pid)
    victim.kill("SIGKILL")
    await exited(victim)
    // ffmpeg outlives a SIGKILLed parent; the replacement worker (systemd restarts one) ends it.
    f.startWorker("replacement")
    await waitFor(() => orphans.every((pid) => !safeAlive(pid)) || undefined, 30_000, "the dead worker's ffmpeg to be stopped")
    const job = await readyJob(f, jobId)
    expect(job.tasks.some((t: any) => t.attempts >= 2)).toBe(true)
    await expectPublishedOnce(f, job)
  }, 180_000)

  it("a finalizer killed right after winning the lease is replaced once the lease expires", async () => {
    const f = (fleet = await startFleet())
    const doomed = f.startWorker("doomed", { VIDPIPE_FAULT: "die-after-winning-lease" })
    const jobId = await submit(f, small, "360")
    const death = await exited(doomed)
    expect(death.signal).toBe("SIGKILL")
    const stuck = await f.job(jobId)
    expect(stuck.status).not.toBe("ready")
    expect(stuck.tasks.every((t: any) => t.status === "done")).toBe(true)
    f.startWorker("rescuer")
    const job = await readyJob(f, jobId, 60_000)
    await expectPublishedOnce(f, job)
  }, 120_000)

  it("SIGTERM drains: the current task finishes, nothing new is taken, and the worker exits 0", async () => {
    const f = (fleet = await startFleet())
    const worker = f.startWorker("drainer")
    const jobId = await submit(f, medium, "720")
    await waitFor(async () => (await f.job(jobId))?.tasks.find((t: any) => t.status === "running" && t.label.startsWith("720p")), 60_000, "the 720p task to start")
    worker.kill("SIGTERM")
    const exit = await exited(worker)
    expect(exit.code).toBe(0)
    const job = await f.job(jobId)
    expect(job.tasks.find((t: any) => t.label.startsWith("720p")).status).toBe("done")
    expect(worker.log()).toContain("drained")
    // What it did not take is still there for the next worker.
    f.startWorker("next")
    await expectPublishedOnce(f, await readyJob(f, jobId))
  }, 180_000)

  it("SIGTERM with a short drain timeout hands the task back at once and exits 0", async () => {
    const f = (fleet = await startFleet({ env: { VIDPIPE_VISIBILITY_SECONDS: "60", VIDPIPE_HEARTBEAT_SECONDS: "5" } }))
    const worker = f.startWorker("impatient", {}, ["--drain-timeout", "1"])
    const jobId = await submit(f, medium, "720")
    await waitFor(async () => (await f.job(jobId))?.tasks.find((t: any) => t.status === "running" && t.label.startsWith("720p")), 60_000, "the 720p task to start")
    const started = Date.now()
    worker.kill("SIGTERM")
    const exit = await exited(worker)
    expect(exit.code).toBe(0)
    // The 1 s drain timeout, then the hand-back and the exit: 10 s leaves a loaded machine plenty.
    // (A worker that ignored the timeout and finished the encode instead is caught below: its
    // task would be done on the first delivery.)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect((await f.job(jobId)).tasks.find((t: any) => t.label.startsWith("720p")).status).not.toBe("done")
    // Handed back: the next worker gets it now. Left to its visibility it would come back only
    // ~55 s later (60 s, heartbeats every 5 s); 30 s is far more than a 1 s poll needs.
    f.startWorker("next")
    await waitFor(async () => (await f.job(jobId))?.tasks.find((t: any) => t.label.startsWith("720p") && t.attempts >= 2), 30_000, "the 720p task to be delivered again")
    const job = await readyJob(f, jobId)
    expect(job.tasks.find((t: any) => t.label.startsWith("720p")).attempts).toBe(2)
    await expectPublishedOnce(f, job)
  }, 180_000)

  it("SCRIPT FLUSH and a Redis restart mid-job: workers reconnect and the job completes", async () => {
    const redisDir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-redis-"))
    const port = await freePort()
    let server = startRedis(port, redisDir)
    try {
      await waitFor(() => redisAnswers(port), 10_000, "the test redis-server")
      const url = `redis://127.0.0.1:${port}/0`
      const f = (fleet = await startFleet({ redisUrl: url }))
      const workers = [f.startWorker("w1"), f.startWorker("w2")]
      const waiting = collect(startVidpipe(["submit", medium, "--wait", "--json", "--strategy", "rendition", "--ladder", "720,480"], { env: f.env }), 170_000)
      await waitFor(workerRunning(workers), 60_000, "a worker to be encoding")
      await f.redis.script("FLUSH")
      // The case under test: a worker's next script call finds NOSCRIPT and loads the script again.
      await waitFor(async () => (await f.redis.script("EXISTS", ...workerScripts) as Array<number>).includes(1) || undefined, 30_000, "a worker to load its scripts again")
      server.kill("SIGTERM") // appendonly: what was acknowledged is on disk
      await exited(server)
      // Down for a while (the workers' connections closed when it exited); how long is not what is
      // tested, so this sleep races nothing.
      await new Promise((resolve) => setTimeout(resolve, 1500))
      server = startRedis(port, redisDir)
      const result = await waiting
      expect(result.code, result.stderr).toBe(0)
      const summary = lastJsonLine(result.stdout)
      expect(summary.status).toBe("ready")
      await expectPublishedOnce(f, await f.job(summary.jobId))
      expect(workers.every((w) => w.exitCode === null)).toBe(true)
    } finally {
      await fleet?.close()
      fleet = undefined
      server.kill("SIGKILL")
      await fs.rm(redisDir, { recursive: true, force: true })
    }
  }, 180_000)
})

const safeAlive = (pid: number) => {
  try {
    return processAlive(pid)
  } catch {
    return false // gone between the two reads
  }
}

/** Alive and not a zombie (a killed orphan stays a zombie until init reaps it). */
const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  const stat = readFileSync(`/proc/${pid}/stat`, { encoding: "utf8", flag: "r" }).replace(/^.*\)\s+/, "")
  return !stat.startsWith("Z")
}
