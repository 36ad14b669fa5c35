/**
 * Where a job's time goes besides encoding, for `vidpipe process --json` (and `npm run bench`):
 * a tracer that adds up the time of the pipeline's own spans by name. The spans are the programs'
 * and layers' (`Effect.fn` names and `withSpan`), so nothing is timed twice by hand.
 */
import { Tracer } from "effect"

/** The fixed costs of a job, in milliseconds, by stage; `encode` is ffmpeg's own work. */
export interface StageTimings {
  readonly startupMs: number
  readonly storeSourceMs: number
  readonly probeMs: number
  readonly planMs: number
  readonly readBackMs: number
  readonly storeOutputsMs: number
  readonly finalizeMs: number
  /** Everything above: what the job costs beyond ffmpeg's encoding. */
  readonly fixedMs: number
}

export const makeStageRecorder = () => {
  const totals = new Map<string, number>()
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      const end = span.end.bind(span)
      span.end = (endTime, exit) => {
        end(endTime, exit)
        totals.set(options.name, (totals.get(options.name) ?? 0) + Number(endTime - options.startTime) / 1e6)
      }
      return span
    }
  })
  /** `startupMs`: how long the process ran before the command started (Node, imports). */
  const timings = (startupMs: number): StageTimings => {
    const ms = (name: string) => Math.round(totals.get(name) ?? 0)
    const stages = {
      startupMs: Math.round(startupMs),
      storeSourceMs: ms("storeLocalSource"),
      probeMs: ms("Ffmpeg.probe"),
      planMs: Math.max(0, ms("ingest") - ms("Ffmpeg.probe")),
      readBackMs: ms("Ffmpeg.readBack"),
      storeOutputsMs: ms("encodeTask.storeOutputs"),
      finalizeMs: ms("finalize")
    }
    return { ...stages, fixedMs: Object.values(stages).reduce((a, b) => a + b, 0) }
  }
  return { tracer, timings }
}
