/**
 * Task estimates (what the fleet is sized on): proportional to the pixels a task makes and decodes,
 * a 10-minute chunk far heavier than the audio task; every planned task carries one; the backlog
 * counts waiting tasks whole and running ones by what is left.
 */
import { describe, expect, it } from "vitest"
import type { MediaProbe } from "../../src/domain/Probe.ts"
import { planLadder } from "../../src/domain/Ladder.ts"
import { backlogWorkSeconds, defaultEncodeRates, estimateTaskSeconds } from "../../src/domain/WorkEstimate.ts"
import { newJob } from "../../src/programs/jobRecords.ts"
import { planTasks } from "../../src/programs/ingest.ts"

const probe = (durationSeconds: number): MediaProbe => ({
  container: "mov,mp4,m4a,3gp,3g2,mj2",
  durationSeconds,
  video: { codec: "h264", width: 1920, height: 1080, displayWidth: 1920, displayHeight: 1080, rotation: 0, frameRate: "30/1", pixelFormat: "yuv420p", interlaced: false },
  audio: { codec: "aac", channels: 2, sampleRate: 48000 }
})
const job = newJob({ id: "j", fileName: "a.mp4", sourceKey: "j/a.mp4", outputPrefix: "j/", segmentSeconds: 4, now: 0 })

describe("work estimates", () => {
  it("give every planned task an estimate proportional to the pixels it encodes and decodes", () => {
    const source = probe(600)
    const rungs = planLadder(source)
    const tasks = planTasks(job, source, rungs)
    expect(tasks.every((task) => task.estimatedSeconds !== undefined && task.estimatedSeconds > 0)).toBe(true)
    const video = tasks.flatMap((task) => task._tag === "video" ? [{ pixels: task.rung.width * task.rung.height, seconds: task.estimatedSeconds ?? 0 }] : [])
    // 1080p30 for ten minutes: 18,000 frames of 2.07 Mpx = 37.3 Gpx encoded, as many decoded.
    expect(video.find((v) => v.pixels === 1920 * 1080)?.seconds).toBe(Math.ceil(37.3248 * (defaultEncodeRates.secondsPerGigapixel + defaultEncodeRates.decodeSecondsPerGigapixel)))
    // Fewer pixels, less work; the decode stays.
    const bySize = video.toSorted((a, b) => a.pixels - b.pixels)
    for (let i = 1; i < bySize.length; i++) expect(bySize[i]!.seconds).toBeGreaterThan(bySize[i - 1]!.seconds)
    // The audio task: 600 s of sound at 0.02 s a second.
    expect(tasks.find((task) => task._tag === "audio")?.estimatedSeconds).toBe(12)
  })

  it("weigh a chunk by its span and every rung it makes", () => {
    const source = probe(600)
    const rungs = planLadder(source)
    const chunk = { _tag: "chunk" as const, jobId: "j", taskId: "c", attempt: 1, sourceKey: "s", outputPrefix: "o", segmentSeconds: 4, durationSeconds: 600, totalTasks: 2, chunk: { index: 0, count: 2, firstSegment: 0, segmentCount: 15, startSeconds: 0, endSeconds: 60 }, rungs, frameRate: "30/1" }
    const whole = rungs.reduce((sum, rung) => sum + (60 * 30 * rung.width * rung.height) / 1e9, 0)
    expect(estimateTaskSeconds(chunk, source)).toBe(Math.ceil(60 * 30 * 1920 * 1080 / 1e9 * 3 + whole * 15))
    expect(estimateTaskSeconds({ ...chunk, chunk: { index: 1, count: 2, firstSegment: 15, segmentCount: 135, startSeconds: 60, endSeconds: 600 } }, source)).toBeGreaterThan(8 * estimateTaskSeconds(chunk, source))
  })

  it("count the backlog as the waiting tasks whole and what is left of the running ones", () => {
    const tasks = [
      { status: "queued" as const, progress: 0, estimatedSeconds: 100 },
      { status: "running" as const, progress: 0.25, estimatedSeconds: 400 },
      { status: "done" as const, progress: 1, estimatedSeconds: 1000 },
      { status: "queued" as const, progress: 0 }
    ]
    expect(backlogWorkSeconds([{ tasks }])).toEqual({ queued: 160, inFlight: 300, correction: 1 })
  })

  it("are corrected by what finished tasks took: twice as long, twice the backlog", () => {
    const finished = (estimatedSeconds: number, taskSeconds: number) => ({ status: "done" as const, progress: 1, estimatedSeconds, taskSeconds })
    const waiting = { status: "queued" as const, progress: 0, estimatedSeconds: 100 }
    // Fewer than three finished tasks say nothing yet.
    expect(backlogWorkSeconds([{ tasks: [waiting, finished(10, 20), finished(10, 20)] }]).queued).toBe(100)
    // Three that took twice their estimate (60 s for 30 s in all), across jobs.
    const slow = backlogWorkSeconds([{ tasks: [waiting, finished(10, 20)] }, { tasks: [finished(10, 20), finished(10, 20)] }])
    expect(slow).toEqual({ queued: 200, inFlight: 0, correction: 2 })
    // One wild task cannot swing it past 4x.
    expect(backlogWorkSeconds([{ tasks: [waiting, finished(1, 100), finished(1, 100), finished(1, 100)] }]).correction).toBe(4)
  })
})
