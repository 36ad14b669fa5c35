/**
 * Poison tasks end to end, over real HTTP on `vidpipe serve`: a task that kills its worker on
 * every delivery (separate `vidpipe worker` processes on Redis) lands in the dead-letter queue
 * after `VIDPIPE_MAX_RECEIVES` receives and its job shows `failed` with the reason; one that fails
 * on every delivery (embedded workers on the in-process queue) fails its job with ffmpeg's reason.
 * Either way `POST /v1/jobs/{id}/retry`, with the fault removed, takes the job to `ready`, once.
 * The faults come from a stand-in ffmpeg (support/faultyFfmpeg.ts) that only touches the video
 * encode of sources named `poison…`; ingest (ffprobe) and the audio task run for real.
 */
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { ConfigProvider, Effect, Layer, References } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { configuredLayer } from "../../src/layers/fromConfig.ts"
import { sweepOnce } from "../../src/programs/sweeper.ts"
import { makeClip } from "../support/clips.ts"
import { checkPresentation } from "../support/dashInspect.ts"
import type { FaultyFfmpeg } from "../support/faultyFfmpeg.ts"
import { makeFaultyFfmpeg } from "../support/faultyFfmpeg.ts"
import type { Fleet } from "../support/fleet.ts"
import { startFleet, waitFor } from "../support/fleet.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"

let workdir = ""
let clipBytes = new Uint8Array()
let ffmpeg: FaultyFfmpeg

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-poison-"))
  const clip = await makeClip({ output: path.join(workdir, "clip.mp4"), durationSeconds: 4, width: 320, height: 240 })
  clipBytes = new Uint8Array(await fs.readFile(clip))
  // Only the video encode of a source named poison*: `-map 0:v:0` is in video encodes alone.
  ffmpeg = await makeFaultyFfmpeg(["/poison.mp4", "0:v:0"])
})
afterAll(async () => {
  await ffmpeg?.close()
  await fs.rm(workdir, { recursive: true, force: true })
})

/** Creates a job for the clip under `fileName` and uploads it; returns its id. */
const submit = async (server: RunningServer, fileName: string) => {
  const created = await server.api("/v1/jobs", { method: "POST", body: JSON.stringify({ fileName, contentLength: clipBytes.length, ladder: [240] }) })
  expect(created.status).toBe(201)
  const { jobId, upload } = (await created.json()) as { jobId: string; upload: { url: string; headers: Record<string, string> } }
  const put = await fetch(upload.url, { method: "PUT", headers: upload.headers, body: clipBytes })
  expect(put.status, await put.text()).toBe(200)
  return jobId
}

const view = async (server: RunningServer, jobId: string) => (await (await server.api(`/v1/jobs/${jobId}`)).json()) as any

/**
 * One sweep with the fleet's own configuration, run here: what each worker's sweeper does every
 * VIDPIPE_SWEEP_SECONDS. A check that sweeps change nothing runs one, instead of sleeping a few
 * sweep periods and counting on the workers' timers to have fired in between.
 */
const sweepNow = (env: Record<string, string>) =>
  Effect.runPromise(sweepOnce("test-sweeper").pipe(
    Effect.provide(configuredLayer),
    Effect.provide(Layer.mergeAll(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env)), Layer.succeed(References.MinimumLogLevel, "None")))
  ))

const reaches = (server: RunningServer, jobId: string, status: "ready" | "failed", timeoutMs: number) =>
  waitFor(async () => {
    const job = await view(server, jobId)
    const other = status === "ready" ? "failed" : "ready"
    if (job.status === other) throw new Error(`job ${jobId} is ${other}, expected ${status}: ${JSON.stringify(job.error)}`)
    return job.status === status ? job : undefined
  }, timeoutMs, `job ${jobId} to be ${status}`)

/** Retries through the API and follows the job to `ready`. */
const retryToReady = async (server: RunningServer, jobId: string, timeoutMs: number) => {
  const retried = await server.api(`/v1/jobs/${jobId}/retry`, { method: "POST" })
  expect(retried.status).toBe(202)
  expect(((await retried.json()) as any).status).toBe("queued")
  const ready = await reaches(server, jobId, "ready", timeoutMs)
  expect(ready.error).toBeUndefined()
  expect(ready.tasks.every((t: any) => t.status === "done")).toBe(true)
  expect(ready.playback.manifest).toBe(`/cdn/${jobId}/manifest.mpd`)
  const manifest = await fetch(server.base + ready.playback.manifest)
  expect(manifest.status).toBe(200)
  return ready
}

describe("poison tasks", () => {
  it("a task that kills its worker every time is dead-lettered, fails its job with the reason, and a retry publishes it once (Redis, worker processes)", async () => {
    await ffmpeg.set("crash")
    const maxReceives = 3
    const fleet: Fleet = await startFleet({
      env: { VIDPIPE_MAX_RECEIVES: String(maxReceives), VIDPIPE_VISIBILITY_SECONDS: "2", VIDPIPE_HEARTBEAT_SECONDS: "0.5", VIDPIPE_SWEEP_SECONDS: "1" }
    })
    const workers = new Set<ChildProcess>()
    let crashes = 0
    let stopping = false
    // What systemd does for a worker that dies: start another.
    const keep = (id: string) => {
      const worker = fleet.startWorker(id, { PATH: ffmpeg.path })
      workers.add(worker)
      worker.once("exit", (_code, signal) => {
        workers.delete(worker)
        if (signal === "SIGKILL") crashes++
        if (!stopping) keep(`${id}+`)
      })
    }
    const server = await startServer(["--workers", "0"], fleet.env)
    try {
      keep("w1")
      keep("w2")
      const healthy = await submit(server, "healthy.mp4")
      const poisoned = await submit(server, "poison.mp4")

      // Deadlines here only turn a hang into a failure: three crash-and-restart rounds of a worker
      // process (each a 2 s visibility, a node start and a probe) take a loaded machine much longer
      // than an idle one.
      const failed = await reaches(server, poisoned, "failed", 120_000)
      expect(failed.error._tag).toBe("TaskDeadLettered")
      expect(failed.error.message).toMatch(new RegExp(`received ${maxReceives} times.*dead-letter queue`))
      const video = failed.tasks.find((t: any) => t.kind === "video")
      expect(video).toMatchObject({ status: "failed", attempts: maxReceives, error: { _tag: "TaskDeadLettered" } })
      expect(failed.tasks.find((t: any) => t.kind === "audio").status).toBe("done")
      expect(crashes).toBe(maxReceives)
      // The other job, on the same workers, was not held up.
      expect((await reaches(server, healthy, "ready", 60_000)).status).toBe("ready")
      // Still failed after a sweep: nothing re-sends a dead-lettered task behind our back.
      await sweepNow(fleet.env)
      expect((await view(server, poisoned)).status).toBe("failed")
      // The sweeper has recorded the dead letter on its (already failed) job and deleted it.
      expect(await fleet.redis.xrange(`${fleet.prefix}:queue:dead`, "-", "+")).toEqual([])

      await ffmpeg.clear()
      await retryToReady(server, poisoned, 60_000)
      const record = await fleet.job(poisoned)
      expect(record).toMatchObject({ finalizeRuns: 1, manifestWrites: 1 })
      const report = await checkPresentation(path.join(fleet.storageDir, "outputs", poisoned, "manifest.mpd"), { concurrency: 1 })
      expect(report.problems).toEqual([])
      // The old dead letter does not fail the retried job again (the workers' sweepers ran every
      // second while it was retried; one more, here, after it is ready).
      await sweepNow(fleet.env)
      expect((await view(server, poisoned)).status).toBe("ready")
    } finally {
      stopping = true
      await server.stop()
      await fleet.close()
    }
  }, 300_000)

  it("a task that fails every time fails its job with ffmpeg's reason after its receives, and a retry publishes it (embedded, in-process queue)", async () => {
    await ffmpeg.set("fail")
    const storage = path.join(workdir, "embedded")
    const server = await startServer(["--workers", "1"], {
      VIDPIPE_STORAGE: `file://${storage}`,
      VIDPIPE_MAX_RECEIVES: "2",
      VIDPIPE_POLL_SECONDS: "1",
      PATH: ffmpeg.path
    })
    try {
      const poisoned = await submit(server, "poison.mp4")
      const failed = await reaches(server, poisoned, "failed", 60_000)
      expect(failed.error).toMatchObject({ _tag: "FfmpegFailed" })
      expect(failed.error.message).toContain("simulated encoder failure")
      expect(failed.tasks.find((t: any) => t.kind === "video")).toMatchObject({ status: "failed", attempts: 2 })

      await ffmpeg.clear()
      await retryToReady(server, poisoned, 60_000)
      const report = await checkPresentation(path.join(storage, "outputs", poisoned, "manifest.mpd"), { concurrency: 1 })
      expect(report.problems).toEqual([])
    } finally {
      await server.stop()
    }
  }, 180_000)
})
