/**
 * Metrics for one machine: each data point is a debug log line, and totals are kept in memory.
 */
import { Effect, Layer } from "effect"
import { PipelineMetrics } from "../../services/PipelineMetrics.ts"

export const makeLogMetrics = Effect.sync(() => {
  const totals: Record<string, number> = {}
  return PipelineMetrics.of({
    record: (name, value = 1, dimensions = {}) =>
      Effect.suspend(() => {
        totals[name] = (totals[name] ?? 0) + value
        return Effect.logDebug(`metric ${name}=${value}`).pipe(Effect.annotateLogs({ metric: name, ...dimensions }))
      }),
    totals: Effect.sync(() => ({ ...totals }))
  })
})

export const logMetricsLayer = Layer.effect(PipelineMetrics, makeLogMetrics)
