/**
 * PipelineMetrics as CloudWatch Embedded Metric Format (EMF) log lines, for the Lambdas.
 *
 * Why not PipelineMetrics over PutMetricData (CloudWatchMetrics.ts) in a Lambda: "Lambda freezes
 * the execution environment when the runtime and each extension have completed", and "Background
 * processes or callbacks that were initiated by your Lambda function and did not complete when the
 * function ended resume if Lambda reuses the execution environment" (Lambda developer guide,
 * execution environment lifecycle). A buffer flushed by a timer is therefore sent minutes late or
 * never — ingest's ScaleOut, the fleet's scale-out signal, included.
 *
 * Why EMF rather than a PutMetricData call before each invocation resolves: each point is written
 * by `record` itself, synchronously, so nothing is left to deliver when the handler's promise
 * resolves and no timer or request outlives the invocation; the invocation never waits on (or
 * fails with) a CloudWatch call, a throttled one included; and the function needs no
 * `cloudwatch:PutMetricData` grant, only the log permissions every Lambda has. CloudWatch's own
 * words: "On Lambda, you do not need to set this header yourself. Writing JSON to standard out in
 * the embedded metric format is sufficient. While Lambda may prepend log events with metadata such
 * as timestamp and request id, a valid embedded metric format document after this metadata is
 * considered valid." (Embedded metric format specification.)
 *
 * The default writer is `console.log`: Lambda's Node.js runtime replaces it with a function that
 * writes the line with `fs.writeSync` to its log descriptor (aws-lambda-nodejs-runtime-interface-
 * client, LogPatch.js), so the line is out before `record` returns. The function's log format must
 * stay Text (the default): the JSON format would wrap the line in a `message` string.
 *
 * One document per record: the same data points CloudWatchMetrics sends, with the roll-up (the
 * point again under the alarm dimensions only) as a second dimension set of the same directive.
 */
import { Clock, Effect, Layer } from "effect"
import type { MetricName } from "../../services/PipelineMetrics.ts"
import { PipelineMetrics } from "../../services/PipelineMetrics.ts"
import { alarmDimensionNames, metricUnits } from "./MetricsUnits.ts"

export interface EmbeddedMetricsOptions {
  /** Dimensions every point carries, the ones the scaling alarms select on. */
  readonly autoScalingGroupName: string
  readonly queueName: string
  /** Default "Vidpipe". */
  readonly namespace?: string
  /** Also publish each point with only the alarm dimensions when it has others (default true). */
  readonly rollup?: boolean
  /** Where each document goes, one line each; default `console.log` (see above). */
  readonly write?: (line: string) => void
}

/** "A DimensionSet MUST NOT contain more than 30 dimension keys." */
const maxDimensions = 30
/** "This value MUST NOT contain more than 1024 characters." (a dimension's value) */
const maxDimensionValue = 1024
/** Names (namespace, metrics, dimensions): "minLength": 1, "maxLength": 255. */
const maxName = 255

/** One EMF document for one data point. */
export const embeddedMetricDocument = (
  options: Pick<EmbeddedMetricsOptions, "autoScalingGroupName" | "queueName" | "namespace" | "rollup">,
  name: MetricName,
  value: number,
  dimensions: Record<string, string>,
  timestamp: number
) => {
  const base: Record<string, string> = { AutoScalingGroupName: options.autoScalingGroupName, QueueName: options.queueName }
  // The document's root holds dimensions and the metric side by side: a key that is the metric's
  // own name, `_aws`, or an alarm dimension cannot be one of the call's dimensions.
  const own = Object.entries(dimensions)
    .filter(([key, dimensionValue]) =>
      !(key in base) && key !== "_aws" && key !== name && key.length > 0 && key.length <= maxName &&
      dimensionValue.length > 0 && dimensionValue.length <= maxDimensionValue
    )
    .slice(0, maxDimensions - alarmDimensionNames.length)
  const full = [...alarmDimensionNames, ...own.map(([key]) => key)]
  const sets = own.length > 0 && (options.rollup ?? true) ? [full, [...alarmDimensionNames]] : [full]
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{
        Namespace: options.namespace ?? "Vidpipe",
        Dimensions: sets,
        Metrics: [{ Name: name, Unit: metricUnits[name] }]
      }]
    },
    ...base,
    ...Object.fromEntries(own),
    [name]: value
  }
}

export const makeEmbeddedMetrics = (options: EmbeddedMetricsOptions) =>
  Effect.sync(() => {
    const write = options.write ?? ((line: string) => console.log(line))
    const totals: Record<string, number> = {}
    return PipelineMetrics.of({
      record: (name, value = 1, dimensions = {}) =>
        Effect.gen(function*() {
          // JSON has no NaN or Infinity ("A metric target MUST be a numeric value").
          if (!Number.isFinite(value)) return yield* Effect.logWarning(`metric ${name}=${value} not sent: not a finite number`)
          totals[name] = (totals[name] ?? 0) + value
          const timestamp = yield* Clock.currentTimeMillis
          write(JSON.stringify(embeddedMetricDocument(options, name, value, dimensions, timestamp)))
        }),
      totals: Effect.sync(() => ({ ...totals }))
    })
  })

export const embeddedMetricsLayer = (options: EmbeddedMetricsOptions) => Layer.effect(PipelineMetrics, makeEmbeddedMetrics(options))
