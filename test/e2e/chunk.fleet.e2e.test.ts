/**
 * The chunk strategy survives the crash test of the self-hosted fleet: `vidpipe worker` processes
 * on Redis, a chunked job submitted with `vidpipe submit --strategy chunk`, and the worker
 * encoding a chunk SIGKILLed mid-encode. The chunk is redelivered to another worker, the job
 * becomes ready, it is finalized exactly once, and the stitched presentation is valid and
 * holds every source frame.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { expect, it } from "vitest"
import { lastJsonLine, runVidpipe } from "../support/cli.ts"
import { makeClip } from "../support/clips.ts"
import { checkPresentation, frameCount, sourceFrameCount } from "../support/dashInspect.ts"
import type { Fleet } from "../support/fleet.ts"
import { exited, ffmpegChildrenOf, startFleet, waitFor } from "../support/fleet.ts"

it("a worker SIGKILLed while encoding a chunk: the chunk is redelivered, the job is finalized once, the output is whole", async () => {
  const workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-chunk-fleet-"))
  const fleet = await startFleet()
  try {
    await crashMidChunk(fleet, await makeClip({ output: path.join(workdir, "clip.mp4"), durationSeconds: 24, width: 1280, height: 720 }))
  } finally {
    await fleet.close()
    await fs.rm(workdir, { recursive: true, force: true })
  }
}, 360_000)

const crashMidChunk = async (f: Fleet, clip: string) => {
  const workers = new Map([["w1", f.startWorker("w1")], ["w2", f.startWorker("w2")]])
  const submitted = await runVidpipe(["submit", clip, "--json", "--strategy", "chunk", "--ladder", "720,480,360"], { env: f.env })
  expect(submitted.code, submitted.stderr).toBe(0)
  const jobId: string = lastJsonLine(submitted.stdout).jobId

  // A chunk task in progress, and the worker process running its ffmpeg.
  const { task, victim } = await waitFor(async () => {
    const job = await f.job(jobId)
    for (const task of job?.tasks ?? []) {
      const worker = workers.get(task.worker)
      if (task.kind === "chunk" && task.status === "running" && worker && ffmpegChildrenOf(worker.pid).length > 0) {
        return { task, victim: worker }
      }
    }
    return undefined
  }, 60_000, "a worker to be encoding a chunk")
  victim.kill("SIGKILL")
  await exited(victim)
  f.startWorker("replacement")

  const job = await waitFor(async () => {
    const current = await f.job(jobId)
    if (current?.status === "failed") throw new Error(`job failed: ${current.error?.message}`)
    return current?.status === "ready" ? current : undefined
  }, 240_000, `job ${jobId} to be ready`)
  const redelivered = job.tasks.find((t: any) => t.taskId === task.taskId)
  expect(redelivered.attempts).toBeGreaterThanOrEqual(2)
  expect(redelivered.status).toBe("done")
  expect(job.tasks.filter((t: any) => t.kind === "chunk").length).toBe(2)
  // Exactly one finalization, one manifest write.
  expect(job.finalizeRuns).toBe(1)
  expect(job.manifestWrites).toBe(1)

  const manifest = path.join(f.storageDir, "outputs", job.manifestKey)
  const report = await checkPresentation(manifest)
  expect(report.problems).toEqual([])
  expect(report.timelinesAligned).toBe(true)
  const frames = await sourceFrameCount(clip)
  for (const rung of report.video) {
    const count = await frameCount(manifest, rung.id)
    expect(count.frames, rung.id).toBe(frames)
    expect(count.constantStep, rung.id).toBe(true)
  }
}
