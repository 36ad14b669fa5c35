/**
 * How long a task's encode should take, before it runs: what the fleet is sized on (work, not
 * messages: ScalingPolicy.ts). Video work is the output pixels (frames × width × height, every rung
 * the task makes) plus decoding its span of the source once; audio is per second of sound.
 *
 * The default rates were measured with the pipeline's own settings (x264 `veryfast`, CRF 21) on a
 * 2-vCPU machine like the default worker (c7i.large): 720p and 1080p from a 1080p30 source took
 * 13-16 s per billion output pixels, decoding 1080p about 2.6 s per billion source pixels. Another
 * instance type has other rates (VIDPIPE_ENCODE_SECONDS_PER_GIGAPIXEL and the two beside it); the
 * `TaskSeconds` metric the workers record is what to set them from.
 */
import { frameRateValue } from "./Probe.ts"
import type { MediaProbe } from "./Probe.ts"
import type { TaskState } from "./Job.ts"
import type { Task } from "./Task.ts"

export interface EncodeRates {
  /** Encode seconds per billion output pixels. */
  readonly secondsPerGigapixel: number
  /** Decode (and scale) seconds per billion source pixels: each video task decodes its span once. */
  readonly decodeSecondsPerGigapixel: number
  /** AAC encode seconds per second of audio. */
  readonly audioSecondsPerSecond: number
}

export const defaultEncodeRates: EncodeRates = { secondsPerGigapixel: 15, decodeSecondsPerGigapixel: 3, audioSecondsPerSecond: 0.02 }

const gigapixels = (seconds: number, fps: number, width: number, height: number) => (seconds * fps * width * height) / 1e9

/** Estimated encode seconds of `task` (without its estimate), rounded up to a whole second. */
export const estimateTaskSeconds = (task: Task, probe: MediaProbe, rates: EncodeRates = defaultEncodeRates): number => {
  const fps = frameRateValue(probe.video.frameRate)
  const source = (seconds: number) => gigapixels(seconds, fps, probe.video.width, probe.video.height) * rates.decodeSecondsPerGigapixel
  const audio = probe.audio === null ? 0 : probe.durationSeconds * rates.audioSecondsPerSecond
  switch (task._tag) {
    case "audio":
      return Math.max(1, Math.ceil(audio))
    case "video":
      return Math.max(1, Math.ceil(source(probe.durationSeconds) + gigapixels(probe.durationSeconds, fps, task.rung.width, task.rung.height) * rates.secondsPerGigapixel))
    case "chunk": {
      const span = task.chunk.endSeconds - task.chunk.startSeconds
      const rungs = task.rungs.reduce((sum, rung) => sum + gigapixels(span, fps, rung.width, rung.height), 0)
      return Math.max(1, Math.ceil(source(span) + rungs * rates.secondsPerGigapixel + (task.audio === undefined ? 0 : audio)))
    }
  }
}

/** What a task planned before estimates existed counts for. */
const unestimatedTaskSeconds = 60

type TaskFigures = Pick<TaskState, "status" | "progress" | "estimatedSeconds" | "taskSeconds">

/** Finished tasks needed before their times correct the estimates; and how far they may. */
const minimumSamples = 3
const correctionRange = { lowest: 0.25, highest: 4 } as const

/**
 * How much longer (or shorter) tasks take on this fleet than estimated: the seconds the finished
 * tasks of these jobs took over the seconds they were estimated at. The rates are set for one
 * instance type; the fleet's own `TaskSeconds` refine them, without anyone retuning a setting. 1
 * until a few tasks have finished; kept within 4x either way so one odd task cannot swing the fleet.
 */
export const estimateCorrection = (jobs: ReadonlyArray<{ readonly tasks: ReadonlyArray<TaskFigures> }>) => {
  let estimated = 0
  let took = 0
  let samples = 0
  for (const job of jobs) {
    for (const task of job.tasks) {
      if (task.status !== "done" || task.estimatedSeconds === undefined || task.taskSeconds === undefined) continue
      estimated += task.estimatedSeconds
      took += task.taskSeconds
      samples++
    }
  }
  if (samples < minimumSamples || estimated <= 0) return 1
  return Math.min(correctionRange.highest, Math.max(correctionRange.lowest, took / estimated))
}

/**
 * The backlog in estimated encode seconds, from the job records: the whole estimate of each task
 * waiting, what is left (by its progress) of each task running, both corrected by what finished
 * tasks actually took (`estimateCorrection`). What `BacklogWorkSeconds` reports.
 */
export const backlogWorkSeconds = (jobs: ReadonlyArray<{ readonly tasks: ReadonlyArray<TaskFigures> }>) => {
  const correction = estimateCorrection(jobs)
  let queued = 0
  let inFlight = 0
  for (const job of jobs) {
    for (const task of job.tasks) {
      const estimate = (task.estimatedSeconds ?? unestimatedTaskSeconds) * correction
      if (task.status === "queued") queued += estimate
      else if (task.status === "running") inFlight += estimate * Math.max(0, 1 - task.progress)
    }
  }
  return { queued, inFlight, correction }
}
