/**
 * PipelineMetrics on CloudWatch custom metrics, for long-running processes (the EC2 workers).
 * Not for Lambda: "Lambda freezes the execution environment when the runtime and each extension
 * have completed" (Lambda developer guide, execution environment lifecycle), so a buffer still
 * waiting for its timer when the handler's promise resolves is sent late or never; Lambdas use
 * EmbeddedMetrics.ts. `record` only buffers (it never waits on the
 * network nor fails); a fiber sends the buffer with PutMetricData every `flushEvery`, early when
 * a full batch is waiting, and once more when the layer's scope closes. A batch that fails with a
 * retryable error goes back to the buffer for the next flush; the buffer is bounded (oldest
 * points dropped first) so an unreachable CloudWatch cannot grow memory without limit.
 */
import type { CloudWatchClientConfig, MetricDatum, StandardUnit } from "@aws-sdk/client-cloudwatch"
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch"
import type { Duration } from "effect"
import { Clock, Effect, Latch, Layer, Semaphore } from "effect"
import type { MetricName } from "../../services/PipelineMetrics.ts"
import { PipelineMetrics } from "../../services/PipelineMetrics.ts"
import type { AwsFailure } from "./errors.ts"
import { awsCall } from "./errors.ts"
import { metricUnits } from "./MetricsUnits.ts"

export interface CloudWatchMetricsOptions {
  /** Dimensions every datum carries, the ones the scaling alarms select on. */
  readonly autoScalingGroupName: string
  readonly queueName: string
  /** Default "Vidpipe". */
  readonly namespace?: string
  /** Default 15 seconds. */
  readonly flushEvery?: Duration.Input
  /** Data points per PutMetricData (CloudWatch accepts at most 1000). Default 1000. */
  readonly maxBatch?: number
  /** Points kept while CloudWatch is failing; the oldest are dropped beyond it. Default 20000. */
  readonly maxBuffered?: number
  /**
   * CloudWatch treats each dimension set as its own metric, so a point recorded with extra
   * dimensions (`{ worker }`) would be invisible to an alarm on the group and queue alone. With
   * `rollup` (default true) such a point is also sent with only the group and queue dimensions.
   */
  readonly rollup?: boolean
  /** A client to use as is; otherwise one is made from `clientConfig` and destroyed with the layer. */
  readonly client?: CloudWatchClient
  readonly clientConfig?: CloudWatchClientConfig
  /** Per PutMetricData call. Default 10 seconds. */
  readonly callTimeout?: Duration.Input
  /** How long the last flush may take when the scope closes. Default 5 seconds. */
  readonly closeTimeout?: Duration.Input
}

/** Every metric's unit (MetricsUnits.ts, shared with the EMF layer). */
const units: Readonly<Record<MetricName, StandardUnit>> = metricUnits

export const makeCloudWatchMetrics = Effect.fnUntraced(function*(options: CloudWatchMetricsOptions) {
  const client = options.client ??
    (yield* Effect.acquireRelease(
      Effect.sync(() => new CloudWatchClient(options.clientConfig ?? {})),
      (made) => Effect.sync(() => made.destroy())
    ))
  const namespace = options.namespace ?? "Vidpipe"
  const maxBatch = Math.min(1000, Math.max(1, options.maxBatch ?? 1000))
  const maxBuffered = Math.max(maxBatch, options.maxBuffered ?? 20_000)
  const rollup = options.rollup ?? true
  const base = [
    { Name: "AutoScalingGroupName", Value: options.autoScalingGroupName },
    { Name: "QueueName", Value: options.queueName }
  ]
  const baseNames = new Set(base.map((d) => d.Name))

  const totals: Record<string, number> = {}
  const buffer: Array<MetricDatum> = []
  let dropped = 0
  // After a retryable failure, wait for the timer instead of retrying on every full batch.
  let backingOff = false
  const keepBounded = () => {
    const excess = buffer.length - maxBuffered
    if (excess > 0) {
      buffer.splice(0, excess)
      dropped += excess
    }
  }
  const fullBatchWaiting = yield* Latch.make(false)
  const sending = yield* Semaphore.make(1)

  const send = (batch: Array<MetricDatum>) =>
    awsCall(
      (abortSignal) => client.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: batch }), { abortSignal }),
      options.callTimeout ?? "10 seconds",
      (failure): AwsFailure => failure
    ).pipe(
      // Interrupted mid-send (the scope is closing): keep the batch for the final flush.
      Effect.onInterrupt(() => Effect.sync(() => requeue(batch)))
    )
  const requeue = (batch: Array<MetricDatum>) => {
    buffer.unshift(...batch)
    keepBounded()
  }

  /** Sends full batches only, or everything when `all`; stops at the first failure. */
  const flush = (all: boolean) =>
    Effect.gen(function*() {
      while (buffer.length >= (all ? 1 : maxBatch)) {
        const batch = buffer.splice(0, maxBatch)
        const outcome = yield* Effect.result(send(batch))
        if (outcome._tag === "Success") {
          backingOff = false
          continue
        }
        const { reason, retryable } = outcome.failure
        if (!retryable) {
          // Refused outright (an invalid value, no permission): resending would block every later point.
          yield* Effect.logError(`CloudWatch PutMetricData refused ${batch.length} points, dropped: ${reason}`)
          continue
        }
        requeue(batch)
        backingOff = true
        yield* Effect.logWarning(`CloudWatch PutMetricData failed, ${buffer.length} points kept for the next flush: ${reason}`)
        break
      }
      if (dropped > 0) {
        yield* Effect.logWarning(`CloudWatch metrics buffer full: dropped the ${dropped} oldest points`)
        dropped = 0
      }
    }).pipe(Semaphore.withPermit(sending))

  // Added before the flush fiber, so on close the fiber is interrupted first, then this runs.
  yield* Effect.addFinalizer(() => flush(true).pipe(Effect.timeout(options.closeTimeout ?? "5 seconds"), Effect.ignore))
  yield* Effect.forkScoped(Effect.forever(
    Effect.gen(function*() {
      const early = yield* Effect.raceFirst(
        Effect.sleep(options.flushEvery ?? "15 seconds").pipe(Effect.as(false)),
        fullBatchWaiting.await.pipe(Effect.as(true))
      )
      yield* fullBatchWaiting.close
      yield* flush(!early)
    })
  ))

  const datum = (name: MetricName, value: number, dimensions: Record<string, string>, timestamp: Date): Array<MetricDatum> => {
    const own = Object.entries(dimensions)
      .filter(([key, dimensionValue]) => !baseNames.has(key) && key !== "" && dimensionValue !== "")
      .map(([key, dimensionValue]) => ({ Name: key, Value: dimensionValue }))
    const point = (dims: MetricDatum["Dimensions"]): MetricDatum => ({ MetricName: name, Dimensions: dims, Value: value, Unit: units[name], Timestamp: timestamp })
    return own.length > 0 && rollup ? [point([...base, ...own]), point(base)] : [point([...base, ...own])]
  }

  return PipelineMetrics.of({
    record: (name, value = 1, dimensions = {}) =>
      Effect.gen(function*() {
        // CloudWatch refuses a whole request over one NaN or Infinity: keep it out of the batch.
        if (!Number.isFinite(value)) return yield* Effect.logWarning(`metric ${name}=${value} not sent: not a finite number`)
        totals[name] = (totals[name] ?? 0) + value
        buffer.push(...datum(name, value, dimensions, new Date(yield* Clock.currentTimeMillis)))
        keepBounded()
        if (buffer.length >= maxBatch && !backingOff) fullBatchWaiting.openUnsafe()
      }),
    totals: Effect.sync(() => ({ ...totals }))
  })
})

export const cloudWatchMetricsLayer = (options: CloudWatchMetricsOptions) => Layer.effect(PipelineMetrics, makeCloudWatchMetrics(options))
