/**
 * Spot capacity end to end (issue 22): a real `vidpipe worker` with VIDPIPE_SPOT_NOTICES=imds,
 * reading an IMDSv2 stand-in at AWS_EC2_METADATA_SERVICE_ENDPOINT, on Redis with real ffmpeg.
 * While it encodes, the stand-in posts an interruption notice two minutes ahead; the task cannot
 * end in time, so the worker hands it back at once and exits 0, and a second worker redoes it.
 *
 * The worker's margin is as long as the notice, so no task can end in time however fast this
 * machine encodes: what is tested here is the wiring (the metadata address from the environment,
 * the hand-back, the exit, the redo). How a task's pace is weighed against the notice is tested in
 * test/programs/spotInterruption.test.ts. Everything waited on is an event (a job record, a
 * process, an exit), and the queue's visibility timeout (60 s) is far longer than any wait, so a
 * task redelivered only because its visibility ran out fails the test.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { instanceActionPath } from "../../src/layers/aws/ImdsSpotNotices.ts"
import { lastJsonLine, runVidpipe } from "../support/cli.ts"
import { makeClip } from "../support/clips.ts"
import type { Fleet } from "../support/fleet.ts"
import { exited, ffmpegChildrenOf, startFleet, waitFor } from "../support/fleet.ts"
import type { ImdsStandIn } from "../support/imdsStandIn.ts"
import { startImdsStandIn } from "../support/imdsStandIn.ts"

let workdir = ""
let clip = ""
let imds: ImdsStandIn
let fleet: Fleet | undefined

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-spot-clips-"))
  // Long enough that its 720p encode is still running when the worker next reads the metadata (every 5 s).
  clip = await makeClip({ output: path.join(workdir, "spot.mp4"), durationSeconds: 60, width: 1280, height: 720 })
  imds = await startImdsStandIn({ "instance-id": "i-0spot0000000000" })
})
afterEach(async () => {
  delete imds.metadata[instanceActionPath]
  await fleet?.close()
  fleet = undefined
})
afterAll(async () => {
  await imds.close()
  await fs.rm(workdir, { recursive: true, force: true })
})

const is720p = (task: any) => task.label.startsWith("720p")

describe("a vidpipe worker on Spot capacity", () => {
  it("an interruption notice its task cannot beat: the task is handed back at once, the worker exits 0, another redoes it", async () => {
    const f = (fleet = await startFleet({ env: { VIDPIPE_VISIBILITY_SECONDS: "60", VIDPIPE_HEARTBEAT_SECONDS: "5" } }))
    const spot = f.startWorker("spot", {
      VIDPIPE_SPOT_NOTICES: "imds",
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      VIDPIPE_SPOT_MARGIN_SECONDS: "120"
    })
    const submitted = await runVidpipe(["submit", clip, "--json", "--strategy", "rendition", "--ladder", "720"], { env: f.env })
    expect(submitted.code, submitted.stderr).toBe(0)
    const jobId = lastJsonLine(submitted.stdout).jobId as string

    // The only worker: it plans the job, then takes its tasks one by one.
    await waitFor(async () => (await f.job(jobId))?.tasks.find((t: any) => is720p(t) && t.status === "running" && t.worker === "spot"), 60_000, "the spot worker to take the 720p task")
    await waitFor(() => ffmpegChildrenOf(spot.pid).length > 0 || undefined, 30_000, "its ffmpeg to run")
    imds.metadata[instanceActionPath] = JSON.stringify({ action: "terminate", time: new Date(Date.now() + 120_000).toISOString().replace(/\.\d+Z$/, "Z") })

    const exit = await waitFor(() => (spot.exitCode === null && spot.signalCode === null ? undefined : exited(spot)), 30_000, "the spot worker to exit")
    expect(exit.code, spot.log()).toBe(0)
    expect(spot.log()).toContain("spot interruption notice: terminate")
    expect(spot.log()).toContain("giving it up now")
    expect(spot.log()).toContain("drained")
    expect(imds.seen.some((r) => r.path === `/latest/meta-data/${instanceActionPath}` && r.token !== undefined)).toBe(true)
    // Given up, not finished: the hand-back came before the encode's end, not after it.
    expect((await f.job(jobId)).tasks.find(is720p).status).not.toBe("done")
    expect(await f.redis.zscore(`${f.prefix}:KillMe`, "spot")).toBeNull()

    // Handed back, so visible now: left to its visibility it would come back ~55 s later.
    f.startWorker("next")
    await waitFor(async () => (await f.job(jobId))?.tasks.find((t: any) => is720p(t) && t.attempts >= 2), 30_000, "the 720p task to be delivered again")
    const job = await waitFor(async () => {
      const current = await f.job(jobId)
      if (current?.status === "failed") throw new Error(`job failed: ${current.error?.message}`)
      return current?.status === "ready" ? current : undefined
    }, 120_000, `job ${jobId} to be ready`)
    const redone = job.tasks.find(is720p)
    expect(redone).toMatchObject({ status: "done", attempts: 2, worker: "next" })
    expect(job.finalizeRuns).toBe(1)
    expect(job.manifestWrites).toBe(1)
  }, 180_000)
})
