/**
 * A job as API clients see it: status, overall and per-task progress, the error if it failed,
 * and where to play it once ready. The same view whichever backends run the job.
 */
import { Schema } from "effect"
import type { Job } from "./Job.ts"
import { Strategy } from "./Chunking.ts"
import { ErrorInfo, JobStatus, renditionsOf, taskProgressFields } from "./Job.ts"

export const TaskView = Schema.Struct(taskProgressFields)

export const Playback = Schema.Struct({
  /** The MPD, on the delivery route (the CDN on AWS); the same URL as `dash`. */
  manifest: Schema.String,
  /** The MPEG-DASH manifest. */
  dash: Schema.String,
  /** The HLS master playlist, over the same segments (absent for a job finished before HLS was written). */
  hls: Schema.optionalKey(Schema.String),
  /** A representative frame, JPEG, to show before playback starts. */
  poster: Schema.optionalKey(Schema.String),
  /** Scrub thumbnails: a WebVTT file whose cues name regions of sprite sheets (`sheet.jpg#xywh=x,y,w,h`). */
  storyboard: Schema.optionalKey(Schema.String),
  /** Caption tracks (WebVTT), also listed in both manifests. */
  captions: Schema.optionalKey(Schema.Array(Schema.Struct({ language: Schema.String, label: Schema.String, url: Schema.String }))),
  /** A player page for it. */
  player: Schema.String,
  /** With signed playback: when the token in these URLs stops working (ask for the job again). */
  expiresAt: Schema.optionalKey(Schema.String)
})

export const JobView = Schema.Struct({
  jobId: Schema.String,
  status: JobStatus,
  fileName: Schema.String,
  createdAt: Schema.String,
  updatedAt: Schema.String,
  progress: Schema.Number,
  /** As asked, then (once the source is probed) as planned: `rendition` or `chunk`. */
  strategy: Strategy,
  renditions: Schema.Array(Schema.Struct({ width: Schema.Int, height: Schema.Int, bitrate: Schema.Int })),
  tasks: Schema.Array(TaskView),
  error: Schema.optional(ErrorInfo),
  playback: Schema.optional(Playback)
})
export type JobView = typeof JobView.Type

/**
 * `deliveryBase` is where this job's outputs are served for the viewer, e.g.
 * "http://127.0.0.1:8080/cdn" (with signed playback, a path that carries a token, valid until
 * `playbackExpiresAt`, epoch ms).
 */
export const toJobView = (job: Job, deliveryBase: string, playbackExpiresAt?: number): JobView => {
  const progress = job.tasks.length === 0
    ? (job.status === "ready" ? 1 : 0)
    : job.tasks.reduce((sum, task) => sum + task.progress, 0) / job.tasks.length
  const manifest = job.status === "ready" && job.manifestKey !== undefined ? `${deliveryBase}/${job.manifestKey}` : undefined
  return {
    jobId: job.id,
    status: job.status,
    fileName: job.fileName,
    createdAt: new Date(job.createdAt).toISOString(),
    updatedAt: new Date(job.updatedAt).toISOString(),
    progress: job.status === "ready" ? 1 : Math.min(0.999, progress),
    strategy: job.plan?.strategy ?? job.strategy ?? "rendition",
    renditions: renditionsOf(job),
    tasks: job.tasks.map(({ attempts, error, kind, label, progress: p, status, taskId }) => ({
      taskId, kind, label, status, progress: p, attempts, ...(error === undefined ? {} : { error })
    })),
    ...(job.error === undefined ? {} : { error: job.error }),
    ...(manifest === undefined ? {} : {
      playback: {
        manifest,
        dash: manifest,
        ...(job.hlsKey === undefined ? {} : { hls: `${deliveryBase}/${job.hlsKey}` }),
        ...(job.posterKey === undefined ? {} : { poster: `${deliveryBase}/${job.posterKey}` }),
        ...(job.storyboardKey === undefined ? {} : { storyboard: `${deliveryBase}/${job.storyboardKey}` }),
        ...(job.captions === undefined ? {} : {
          captions: job.captions.map((caption) => ({ language: caption.language, label: caption.label, url: `${deliveryBase}/${job.outputPrefix}${caption.file}` }))
        }),
        player: `/player?src=${encodeURIComponent(manifest)}`,
        ...(playbackExpiresAt === undefined ? {} : { expiresAt: new Date(playbackExpiresAt).toISOString() })
      }
    })
  }
}
