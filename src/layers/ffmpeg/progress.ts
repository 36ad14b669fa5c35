/**
 * Reads ffmpeg's `-progress` output: blocks of `key=value` lines, each ended by `progress=…`.
 */
export interface ProgressSample {
  readonly fraction: number
  readonly speed: number | undefined
}

/** A line-by-line parser; returns a sample at the end of each block. */
export const makeProgressParser = (durationSeconds: number) => {
  let outTimeSeconds = 0
  let speed: number | undefined
  return (line: string): ProgressSample | undefined => {
    const separator = line.indexOf("=")
    if (separator < 0) return undefined
    const key = line.slice(0, separator).trim()
    const value = line.slice(separator + 1).trim()
    if (key === "out_time_us") {
      const micros = Number(value)
      if (Number.isFinite(micros) && micros >= 0) outTimeSeconds = micros / 1e6
    } else if (key === "speed") {
      const parsed = Number.parseFloat(value)
      speed = Number.isFinite(parsed) ? parsed : undefined
    } else if (key === "progress") {
      const done = value === "end"
      const fraction = done ? 1 : durationSeconds > 0 ? Math.min(0.999, outTimeSeconds / durationSeconds) : 0
      return { fraction, speed }
    }
    return undefined
  }
}
