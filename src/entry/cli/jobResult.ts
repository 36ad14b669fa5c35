/**
 * The result of a finished job as the CLI reports it (the `--json` line, or a short summary).
 */
import type { Job } from "../../domain/Job.ts"
import { audioTrackOf, renditionsOf } from "../../domain/Job.ts"
import type { StageTimings } from "./stageTimings.ts"

/** The summary printed as the last stdout line with `--json`. */
export const resultJson = (job: Job, manifest: string, elapsedMs: number, timings?: StageTimings) => ({
  jobId: job.id,
  status: "ready" as const,
  manifest,
  renditions: renditionsOf(job),
  audio: audioTrackOf(job) !== undefined,
  elapsedMs,
  /** What the job cost besides ffmpeg's encoding, by stage (stageTimings.ts); `process` only. */
  ...(timings === undefined ? {} : { timings })
})

export type JobResult = ReturnType<typeof resultJson>

export const summaryLines = (result: JobResult) => [
  `ready in ${(result.elapsedMs / 1000).toFixed(1)} s: ${result.renditions.map((r) => `${r.width}x${r.height}`).join(", ")}${result.audio ? " + audio" : " (no audio)"}`,
  `manifest: ${result.manifest}`
]
