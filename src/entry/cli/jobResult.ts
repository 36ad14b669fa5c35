/**
 * The result of a finished job as the CLI reports it (the `--json` line, or a short summary).
 */
import type { Job } from "../../domain/Job.ts"
import { audioTrackOf, renditionsOf } from "../../domain/Job.ts"
import type { StageTimings } from "./stageTimings.ts"

/**
 * The HLS master, poster and storyboard, where the manifest is (`manifest` ends with the job's
 * manifest key, as a path or a URL): each only when the job has it.
 */
const besideManifest = (job: Job, manifest: string) => {
  const manifestKey = job.manifestKey ?? ""
  const base = manifest.endsWith(manifestKey) ? manifest.slice(0, manifest.length - manifestKey.length) : undefined
  const at = (key: string | undefined) => (base === undefined || key === undefined ? undefined : `${base}${key}`)
  const [hls, poster, storyboard] = [at(job.hlsKey), at(job.posterKey), at(job.storyboardKey)]
  return {
    ...(hls === undefined ? {} : { hls }),
    ...(poster === undefined ? {} : { poster }),
    ...(storyboard === undefined ? {} : { storyboard })
  }
}

/** The summary printed as the last stdout line with `--json`. */
export const resultJson = (job: Job, manifest: string, elapsedMs: number, local?: {
  readonly timings: StageTimings
  readonly workers: number
}) => ({
  jobId: job.id,
  status: "ready" as const,
  manifest,
  ...besideManifest(job, manifest),
  renditions: renditionsOf(job),
  audio: audioTrackOf(job) !== undefined,
  ...(job.plan === undefined ? {} : { strategy: job.plan.strategy }),
  elapsedMs,
  /** `process` only: the worker fibers it ran, and what the job cost besides ffmpeg's encoding, by stage (stageTimings.ts). */
  ...(local === undefined ? {} : { workers: local.workers, timings: local.timings })
})

export type JobResult = ReturnType<typeof resultJson>

const howLine = (result: JobResult) => {
  const parts = [
    ...(result.strategy === undefined ? [] : [`${result.strategy} strategy`]),
    ...(result.workers === undefined ? [] : [`${result.workers} worker${result.workers === 1 ? "" : "s"}`])
  ]
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`
}

export const summaryLines = (result: JobResult) => [
  `ready in ${(result.elapsedMs / 1000).toFixed(1)} s${howLine(result)}: ${result.renditions.map((r) => `${r.width}x${r.height}`).join(", ")}${result.audio ? " + audio" : " (no audio)"}`,
  `manifest: ${result.manifest}`,
  ...(result.hls === undefined ? [] : [`hls: ${result.hls}`]),
  ...(result.poster === undefined ? [] : [`poster: ${result.poster}`])
]
