/**
 * The CloudWatch unit of every pipeline metric and the dimensions every data point carries,
 * shared by the PutMetricData layer (workers) and the Embedded Metric Format layer (Lambdas) so
 * both publish the same metrics. No SDK import: the EMF layer must not load the CloudWatch client.
 */
import type { MetricName } from "../../services/PipelineMetrics.ts"

/** CloudWatch's StandardUnit names (the ones used here). */
export type MetricUnit = "Count" | "Seconds"

/** Exhaustive, so a new metric name has to choose one. */
export const metricUnits: Readonly<Record<MetricName, MetricUnit>> = {
  ScaleOut: "Count",
  ScaleIn: "Count",
  TasksEnqueued: "Count",
  TasksCompleted: "Count",
  TasksFailed: "Count",
  JobsFinalized: "Count",
  JobsFailed: "Count",
  TaskSeconds: "Seconds",
  BacklogWorkSeconds: "Seconds"
}

/** The dimensions the scaling alarms select on, in this order. */
export const alarmDimensionNames = ["AutoScalingGroupName", "QueueName"] as const
