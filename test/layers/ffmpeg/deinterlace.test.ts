/**
 * The deinterlacer is paid for only where a frame may be interlaced: ffprobe's field order decides
 * (progressive: none; interlaced, unknown or unsaid: `bwdif`), ingest records it on every video and
 * chunk task, and each argument builder (rendition, chunk, the one-command ladder) follows it. A
 * task from before the decision (no field) keeps the deinterlacer.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { MediaProbe } from "../../../src/domain/Probe.ts"
import { interpretProbe } from "../../../src/domain/Probe.ts"
import { planLadder } from "../../../src/domain/Ladder.ts"
import { chunkArguments, ladderCommandArguments, videoArguments } from "../../../src/layers/ffmpeg/arguments.ts"
import { needsDeinterlacer, planTasks } from "../../../src/programs/ingest.ts"
import { newJob } from "../../../src/programs/jobRecords.ts"

const probeWith = (fieldOrder: string | undefined): MediaProbe => {
  const probed = interpretProbe({
    format: { format_name: "mov,mp4,m4a,3gp,3g2,mj2", duration: "24.000000" },
    streams: [{
      codec_type: "video", codec_name: "h264", width: 1920, height: 1080, pix_fmt: "yuv420p",
      r_frame_rate: "25/1", avg_frame_rate: "25/1",
      ...(fieldOrder === undefined ? {} : { field_order: fieldOrder })
    }]
  })
  if (Result.isFailure(probed)) throw new Error(probed.failure.message)
  return probed.success
}

const usesBwdif = (args: ReadonlyArray<string>) => args.some((arg) => arg.includes("bwdif"))

describe("the deinterlacer, only where the source needs it", () => {
  it("follows ffprobe's field order: progressive none; tt, bb, tb, bt, unknown or nothing: bwdif", () => {
    expect(needsDeinterlacer(probeWith("progressive"))).toBe(false)
    for (const order of ["tt", "bb", "tb", "bt", "unknown", undefined]) expect(needsDeinterlacer(probeWith(order)), String(order)).toBe(true)
  })

  it("is recorded on every video and chunk task by ingest", () => {
    for (const [order, expected] of [["progressive", false], ["tt", true]] as const) {
      const probe = probeWith(order)
      const job = newJob({ id: "j", fileName: "a.mp4", sourceKey: "j/a.mp4", outputPrefix: "j/", segmentSeconds: 4, now: 0 })
      const rungs = planLadder(probe)
      const renditions = planTasks(job, probe, rungs)
      const chunked = planTasks({ ...job, plan: { segmentSeconds: 4, rungs, audio: false, strategy: "chunk", chunks: [{ index: 0, count: 1, firstSegment: 0, segmentCount: 6, startSeconds: 0, endSeconds: 24 }] } }, probe, rungs)
      for (const task of [...renditions, ...chunked]) {
        if (task._tag !== "audio") expect(task.deinterlace, `${order} ${task.taskId}`).toBe(expected)
      }
    }
  })

  it("is in each argument builder's graph only when wanted (and when a task does not say)", () => {
    const probe = probeWith("progressive")
    const [rung] = planLadder(probe)
    const video = (deinterlace: boolean | undefined) =>
      videoArguments({ input: "in.mp4", outputDir: "out", rung: rung!, frameRate: "25/1", segmentSeconds: 4, durationSeconds: 24, deinterlace })
    const chunk = (deinterlace: boolean | undefined) =>
      chunkArguments({ input: "in.mp4", outputDir: "out", rungs: [rung!], frameRate: "25/1", segmentSeconds: 4, chunk: { index: 1, count: 3, firstSegment: 2, segmentCount: 2, startSeconds: 8, endSeconds: 16 }, deinterlace })
    const ladder = (deinterlace: boolean | undefined) =>
      ladderCommandArguments({ input: "in.mp4", outputDir: "out", rungs: [rung!], frameRate: "25/1", segmentSeconds: 4, deinterlace })
    for (const build of [video, chunk, ladder]) {
      expect(usesBwdif(build(false))).toBe(false)
      expect(usesBwdif(build(true))).toBe(true)
      expect(usesBwdif(build(undefined))).toBe(true)
    }
  })
})
