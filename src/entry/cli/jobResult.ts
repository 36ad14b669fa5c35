/**
 * The result of a finished job as the CLI reports it (the `--json` line, or a short summary).
 */
import type { Job } from "../../domain/Job.ts"

/** The summary printed as the last stdout line with `--json`. */
export const resultJson = (job: Job, manifest: string, elapsedMs: number) => ({
  jobId: job.id,
  status: "ready" as const,
  manifest,
  renditions: job.tasks
    .flatMap((t) => (t.result?.kind === "video" ? [t.result] : []))
    .sort((a, b) => (b.width ?? 0) - (a.width ?? 0))
    .map((t) => ({ width: t.width ?? 0, height: t.height ?? 0, bitrate: t.bandwidth })),
  audio: job.tasks.some((t) => t.kind === "audio"),
  elapsedMs
})

export type JobResult = ReturnType<typeof resultJson>

export const summaryLines = (result: JobResult) => [
  `ready in ${(result.elapsedMs / 1000).toFixed(1)} s: ${result.renditions.map((r) => `${r.width}x${r.height}`).join(", ")}${result.audio ? " + audio" : " (no audio)"}`,
  `manifest: ${result.manifest}`
]
