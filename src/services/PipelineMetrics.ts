/**
 * Operational metrics. The scale-out/scale-in pair drives the fleet (CloudWatch alarms on AWS);
 * the rest are counters for dashboards and tests.
 */
import type { Effect } from "effect"
import { Context } from "effect"

export type MetricName =
  | "ScaleOut"
  | "ScaleIn"
  | "TasksEnqueued"
  | "TasksCompleted"
  | "TasksFailed"
  | "JobsFinalized"
  | "JobsFailed"
  | "TaskSeconds"
  /** The backlog in estimated encode seconds (queued + left of running), what the fleet is sized on. */
  | "BacklogWorkSeconds"

export interface PipelineMetricsShape {
  readonly record: (name: MetricName, value?: number, dimensions?: Record<string, string>) => Effect.Effect<void>
  /** Totals recorded by this process, by metric name. */
  readonly totals: Effect.Effect<Readonly<Record<string, number>>>
}

export class PipelineMetrics extends Context.Service<PipelineMetrics, PipelineMetricsShape>()("vidpipe/PipelineMetrics") {}
