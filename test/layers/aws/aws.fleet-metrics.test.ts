/**
 * The AWS fleet and metrics layers: the exact CloudWatch and Auto Scaling requests (the SDK
 * clients are mocked with aws-sdk-client-mock, so nothing leaves the machine), and the IMDSv2
 * client against a small IMDS stand-in served over real HTTP on 127.0.0.1.
 */
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { AutoScalingClient, AutoScalingServiceException, SetInstanceProtectionCommand } from "@aws-sdk/client-auto-scaling"
import type { MetricDatum } from "@aws-sdk/client-cloudwatch"
import { CloudWatchClient, CloudWatchServiceException, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { ConfigProvider, Effect, Exit, Fiber, Layer, Logger, References } from "effect"
import { TestClock } from "effect/testing"
import { autoScalingFleetControlLayer } from "../../../src/layers/aws/AutoScalingFleetControl.ts"
import type { CloudWatchMetricsOptions } from "../../../src/layers/aws/CloudWatchMetrics.ts"
import { cloudWatchMetricsLayer } from "../../../src/layers/aws/CloudWatchMetrics.ts"
import { embeddedMetricsLayer } from "../../../src/layers/aws/EmbeddedMetrics.ts"
import { readInstanceId, readInstanceMetadata } from "../../../src/layers/aws/instanceMetadata.ts"
import { deploymentConfig, layerFor, metricsLayer as configuredMetricsLayer, pipelineSettingsFromConfig } from "../../../src/layers/fromConfig.ts"
import { makeLocalFleetControl } from "../../../src/layers/local/LocalFleetControl.ts"
import { FleetControl } from "../../../src/services/FleetControl.ts"
import { PipelineMetrics } from "../../../src/services/PipelineMetrics.ts"
import type { ImdsStandIn } from "../../support/imdsStandIn.ts"
import { startImdsStandIn } from "../../support/imdsStandIn.ts"

// ---------------------------------------------------------------------------------------------
// IMDS stand-in: PUT /latest/api/token (TTL header required) hands out a token; GETs without a
// token it issued are refused with 401, as IMDSv2 does.

const metadata: Record<string, string> = { "instance-id": "i-0abc123def4567890", "placement/region": "eu-west-1" }

/** Accepts connections and never answers: what a metadata address off EC2 looks like. */
const startBlackHole = (): Promise<{ url: string; close: () => Promise<void> }> =>
  new Promise((resolve) => {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      socket.on("error", () => {})
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      }))
  })

/** A loopback port with nothing listening. */
const closedPort = (): Promise<string> =>
  new Promise((resolve) => {
    const server = net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port
      server.close(() => resolve(`http://127.0.0.1:${port}`))
    })
  })

let imds: ImdsStandIn
beforeAll(async () => {
  imds = await startImdsStandIn(metadata)
})
afterAll(() => imds.close())

// ---------------------------------------------------------------------------------------------

const cloudWatch = mockClient(CloudWatchClient)
const autoScaling = mockClient(AutoScalingClient)
afterEach(() => {
  cloudWatch.reset()
  autoScaling.reset()
  imds.seen.length = 0
  imds.acceptTokens = true
})

const quiet = Layer.succeed(References.MinimumLogLevel, "None")

/**
 * One turn of the real event loop, with no timer involved: promise callbacks run, and so do the
 * fibers they resume (Effect schedules fibers with setImmediate). The CloudWatch mock answers at
 * once and nothing here does I/O, so what a turn lets happen does not depend on how busy the
 * machine is; the flush timer itself is on the TestClock.
 */
const turn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * Turns the event loop until `check` holds. A flush woken by the TestClock or by a full batch
 * reaches PutMetricData (which the mock records at the call) and handles its answer within a few
 * turns; 1000 is only there so a check that never holds fails instead of hanging.
 */
const settleUntil = (check: () => boolean, what: string) =>
  Effect.gen(function*() {
    for (let turns = 0; !check(); turns++) {
      if (turns >= 1000) return yield* Effect.die(new Error(`still waiting for ${what} after 1000 event-loop turns`))
      yield* turn
    }
  })

/**
 * For checks that something did *not* happen: 50 turns, far more than the few a flush needs to go
 * from its wake-up to PutMetricData and back to sleep, so a send the code should not make would
 * have been made (and recorded by the mock) by then.
 */
const settle = Effect.gen(function*() {
  for (let turns = 0; turns < 50; turns++) yield* turn
})

const sentBatches = () => cloudWatch.commandCalls(PutMetricDataCommand).map((call) => call.args[0].input)

/** The data points of a request without their timestamps (checked separately), in order. */
const points = (data: ReadonlyArray<MetricDatum> | undefined) =>
  (data ?? []).map((datum) => {
    assert.instanceOf(datum.Timestamp, Date)
    const { Timestamp: _timestamp, ...rest } = datum
    return rest
  })

const base = [{ Name: "AutoScalingGroupName", Value: "vidpipe-workers" }, { Name: "QueueName", Value: "vidpipe-tasks.fifo" }]

const metricsLayer = (options: Partial<CloudWatchMetricsOptions> = {}, logging: Layer.Layer<never> = quiet) =>
  cloudWatchMetricsLayer({
    autoScalingGroupName: "vidpipe-workers",
    queueName: "vidpipe-tasks.fifo",
    clientConfig: { region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } },
    flushEvery: "1 hour",
    ...options
  }).pipe(Layer.provideMerge(logging))

const throttling = () =>
  new CloudWatchServiceException({ name: "Throttling", $fault: "client", $metadata: { httpStatusCode: 400 }, message: "Rate exceeded" })

// The flush timer runs on Effect's Clock: these tests use the TestClock (`it.effect`), so "a flush
// period passed" and "it had not yet" are exact, whatever else the machine is doing.
describe("CloudWatchMetrics", () => {
  it.effect("buffers several records into one PutMetricData, sent when the layer's scope closes", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).resolves({})
      const totals = yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("ScaleOut")
        yield* metrics.record("TasksCompleted", 2)
        yield* metrics.record("TaskSeconds", 12.5, { kind: "Video" })
        yield* metrics.record("ScaleIn", 1, { worker: "i-1", QueueName: "ignored: the layer's own wins" })
        // Just short of the hour flushEvery: nothing goes out before it.
        yield* TestClock.adjust("59 minutes")
        yield* settle
        assert.strictEqual(sentBatches().length, 0, "nothing is sent before the flush")
        return yield* metrics.totals
      }).pipe(Effect.provide(metricsLayer()))

      assert.deepStrictEqual(totals, { ScaleOut: 1, TasksCompleted: 2, TaskSeconds: 12.5, ScaleIn: 1 })
      const batches = sentBatches()
      assert.strictEqual(batches.length, 1)
      assert.strictEqual(batches[0]!.Namespace, "Vidpipe")
      assert.deepStrictEqual(points(batches[0]!.MetricData), [
        { MetricName: "ScaleOut", Dimensions: base, Value: 1, Unit: "Count" },
        { MetricName: "TasksCompleted", Dimensions: base, Value: 2, Unit: "Count" },
        { MetricName: "TaskSeconds", Dimensions: [...base, { Name: "kind", Value: "Video" }], Value: 12.5, Unit: "Seconds" },
        // The roll-up without the call's own dimensions is what the group/queue alarms see.
        { MetricName: "TaskSeconds", Dimensions: base, Value: 12.5, Unit: "Seconds" },
        { MetricName: "ScaleIn", Dimensions: [...base, { Name: "worker", Value: "i-1" }], Value: 1, Unit: "Count" },
        { MetricName: "ScaleIn", Dimensions: base, Value: 1, Unit: "Count" }
      ])
    }))

  it.effect("flushes every flushEvery in the namespace given, and sends nothing when there is nothing new", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).resolves({})
      yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("TasksEnqueued", 5)
        yield* metrics.record("JobsFinalized")
        yield* metrics.record("TasksFailed", 1, { worker: "w1" })
        yield* TestClock.adjust("199 millis")
        yield* settle
        assert.strictEqual(sentBatches().length, 0, "not before flushEvery")
        yield* TestClock.adjust("1 millis")
        yield* settleUntil(() => sentBatches().length === 1, "the periodic flush")
        // Three more periods, each flush back asleep before the next: none sends anything.
        for (let period = 0; period < 3; period++) {
          yield* settle
          yield* TestClock.adjust("200 millis")
        }
        yield* settle
        assert.strictEqual(sentBatches().length, 1, "nothing new, nothing sent")
      }).pipe(Effect.provide(metricsLayer({ namespace: "VidpipeTest", flushEvery: "200 millis", rollup: false })))

      const batches = sentBatches()
      assert.strictEqual(batches.length, 1)
      assert.strictEqual(batches[0]!.Namespace, "VidpipeTest")
      assert.deepStrictEqual(points(batches[0]!.MetricData), [
        { MetricName: "TasksEnqueued", Dimensions: base, Value: 5, Unit: "Count" },
        { MetricName: "JobsFinalized", Dimensions: base, Value: 1, Unit: "Count" },
        { MetricName: "TasksFailed", Dimensions: [...base, { Name: "worker", Value: "w1" }], Value: 1, Unit: "Count" }
      ])
    }))

  it.effect("sends a full batch at once, oldest first, and the rest on close", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).resolves({})
      yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        for (let value = 1; value <= 7; value++) yield* metrics.record("TasksEnqueued", value)
        // No time passes: the full batches go out on their own.
        yield* settleUntil(() => sentBatches().length === 2, "two full batches")
        yield* TestClock.adjust("59 minutes")
        yield* settle
        assert.strictEqual(sentBatches().length, 2, "an incomplete batch waits for the timer or the close")
      }).pipe(Effect.provide(metricsLayer({ maxBatch: 3 })))

      assert.deepStrictEqual(sentBatches().map((batch) => batch.MetricData?.map((datum) => datum.Value)), [[1, 2, 3], [4, 5, 6], [7]])
    }))

  it.effect("a failing PutMetricData does not fail record; its points go out with the next flush", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).rejectsOnce(throttling()).resolves({})
      yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("ScaleOut", 1)
        yield* TestClock.adjust("200 millis")
        yield* settleUntil(() => sentBatches().length === 1, "the first (failing) flush")
        yield* metrics.record("ScaleOut", 2)
        yield* settle
        yield* TestClock.adjust("200 millis")
        yield* settleUntil(() => sentBatches().length === 2, "the next flush")
      }).pipe(Effect.provide(metricsLayer({ flushEvery: "200 millis" })))

      const [failed, retried] = sentBatches()
      assert.deepStrictEqual(failed!.MetricData?.map((datum) => datum.Value), [1])
      assert.deepStrictEqual(retried!.MetricData?.map((datum) => datum.Value), [1, 2])
    }))

  it.effect("a batch CloudWatch refuses as invalid is dropped rather than resent forever", () =>
    Effect.gen(function*() {
      const invalid = new CloudWatchServiceException({ name: "InvalidParameterValue", $fault: "client", $metadata: { httpStatusCode: 400 }, message: "bad" })
      cloudWatch.on(PutMetricDataCommand).rejectsOnce(invalid).resolves({})
      yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("JobsFailed", 1)
        yield* TestClock.adjust("200 millis")
        yield* settleUntil(() => sentBatches().length === 1, "the refused flush")
        yield* metrics.record("JobsFailed", 2)
        yield* settle
        yield* TestClock.adjust("200 millis")
        yield* settleUntil(() => sentBatches().length === 2, "the next flush")
      }).pipe(Effect.provide(metricsLayer({ flushEvery: "200 millis" })))

      assert.deepStrictEqual(sentBatches()[1]!.MetricData?.map((datum) => datum.Value), [2])
    }))

  it.effect("keeps at most maxBuffered points while CloudWatch fails, dropping the oldest", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).rejectsOnce(throttling()).resolves({})
      const warnings: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn") warnings.push(String(message))
      })
      yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("TasksEnqueued", 1)
        yield* metrics.record("TasksEnqueued", 2) // a full batch: sent at once, throttled, kept
        // The layer is backing off once it has put the batch back, which it then logs.
        yield* settleUntil(() => warnings.some((w) => w.includes("kept for the next flush")), "the throttled batch to be kept")
        assert.strictEqual(sentBatches().length, 1)
        for (let value = 3; value <= 10; value++) yield* metrics.record("TasksEnqueued", value)
        yield* settle
        assert.strictEqual(sentBatches().length, 1, "while backing off, full batches wait for the timer")
        assert.deepStrictEqual((yield* metrics.totals)["TasksEnqueued"], 55, "totals count every record")
      }).pipe(Effect.provide(
        metricsLayer({ maxBatch: 2, maxBuffered: 4 }, Layer.mergeAll(Logger.layer([capture]), Layer.succeed(References.MinimumLogLevel, "Warn")))
      ))

      assert.deepStrictEqual(sentBatches().map((batch) => batch.MetricData?.map((datum) => datum.Value)), [[1, 2], [7, 8], [9, 10]])
    }))

  it.effect("a send cut short by the scope closing is sent again by the final flush", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).callsFakeOnce(() => new Promise(() => {})).resolves({})
      yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("TasksCompleted", 3) // a full batch of one: sent at once, never answered
        yield* settleUntil(() => sentBatches().length === 1, "the hanging send")
      }).pipe(Effect.provide(metricsLayer({ maxBatch: 1 })))

      assert.deepStrictEqual(sentBatches().map((batch) => batch.MetricData?.map((datum) => datum.Value)), [[3], [3]])
    }))

  it.effect("closes promptly without failing when CloudWatch keeps failing", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).rejects(
        new CloudWatchServiceException({ name: "ServiceUnavailable", $fault: "server", $metadata: { httpStatusCode: 503 }, message: "down" })
      )
      const closing = yield* Effect.forkChild(Effect.exit(Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("ScaleIn")
        yield* metrics.record("TaskSeconds", Number.NaN) // never sent: CloudWatch refuses a whole request over one NaN
      }).pipe(Effect.provide(metricsLayer()))))
      // "Promptly": the close ends without the TestClock moving at all, so it waited on no timer
      // (not the flush period, not a retry back-off, not the 5 s close timeout).
      yield* settleUntil(() => closing.pollUnsafe() !== undefined, "the layer to close")
      assert.isTrue(Exit.isSuccess(yield* Fiber.join(closing)))
      assert.deepStrictEqual(sentBatches().map((batch) => batch.MetricData?.map((datum) => datum.MetricName)), [["ScaleIn"]])
    }))
})

// The Embedded Metric Format layer (the Lambdas): each record is one EMF document, written before
// `record` returns. The rules checked are the EMF specification's (CloudWatch user guide).
describe("EmbeddedMetrics", () => {
  const emf = (lines: Array<string>, options: { rollup?: boolean } = {}) =>
    embeddedMetricsLayer({ autoScalingGroupName: "vidpipe-workers", queueName: "vidpipe-tasks.fifo", write: (line) => lines.push(line), ...options })

  it.effect("writes one EMF document per record, synchronously, with the alarm dimensions and the roll-up", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* TestClock.setTime(1_700_000_000_123)
        yield* metrics.record("ScaleOut", 3)
        assert.strictEqual(lines.length, 1, "written by record itself, not later")
        yield* metrics.record("TaskSeconds", 12.5, { kind: "Video", QueueName: "ignored: the layer's own wins", TaskSeconds: "ignored: the metric's own key" })
        yield* metrics.record("TasksFailed", Number.NaN) // JSON has no NaN: nothing written
        assert.deepStrictEqual(yield* metrics.totals, { ScaleOut: 3, TaskSeconds: 12.5 })
      }).pipe(Effect.provide(Layer.merge(emf(lines), quiet)))

      assert.strictEqual(lines.length, 2)
      // "The LogEvent message MUST be a valid JSON object with no additional data at the beginning or end."
      const [scaleOut, taskSeconds] = lines.map((line) => JSON.parse(line))
      assert.deepStrictEqual(scaleOut, {
        _aws: {
          Timestamp: 1_700_000_000_123,
          CloudWatchMetrics: [{ Namespace: "Vidpipe", Dimensions: [["AutoScalingGroupName", "QueueName"]], Metrics: [{ Name: "ScaleOut", Unit: "Count" }] }]
        },
        AutoScalingGroupName: "vidpipe-workers",
        QueueName: "vidpipe-tasks.fifo",
        ScaleOut: 3
      })
      assert.deepStrictEqual(taskSeconds._aws.CloudWatchMetrics, [{
        Namespace: "Vidpipe",
        // The second set is the roll-up the group/queue alarms see, as CloudWatchMetrics sends it.
        Dimensions: [["AutoScalingGroupName", "QueueName", "kind"], ["AutoScalingGroupName", "QueueName"]],
        Metrics: [{ Name: "TaskSeconds", Unit: "Seconds" }]
      }])
      assert.deepStrictEqual([taskSeconds.QueueName, taskSeconds.kind, taskSeconds.TaskSeconds], ["vidpipe-tasks.fifo", "Video", 12.5])
    }))

  it.effect("without roll-up, one dimension set", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      yield* Effect.gen(function*() {
        yield* (yield* PipelineMetrics).record("ScaleIn", 1, { worker: "i-1" })
      }).pipe(
        Effect.provide(Layer.merge(emf(lines, { rollup: false }), quiet))
      )
      assert.deepStrictEqual(JSON.parse(lines[0]!)._aws.CloudWatchMetrics[0].Dimensions, [["AutoScalingGroupName", "QueueName", "worker"]])
    }))

  it.effect("VIDPIPE_METRICS=emf chooses it, with the group and the SQS queue's name", () =>
    Effect.gen(function*() {
      const deployment = yield* deploymentConfig.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({
        VIDPIPE_METRICS: "emf",
        VIDPIPE_AUTOSCALING_GROUP: "vidpipe-prod-workers",
        VIDPIPE_QUEUE: "sqs://sqs.eu-west-1.amazonaws.com/123456789012/vidpipe-prod-tasks.fifo"
      }))))
      const logged: Array<unknown> = []
      const log = console.log
      console.log = (line: unknown) => void logged.push(line)
      yield* Effect.gen(function*() {
        yield* (yield* PipelineMetrics).record("ScaleOut")
      }).pipe(
        Effect.provide(Layer.merge(configuredMetricsLayer(deployment), quiet)),
        Effect.ensuring(Effect.sync(() => (console.log = log)))
      )
      assert.strictEqual(logged.length, 1)
      assert.deepStrictEqual(
        [JSON.parse(String(logged[0])).AutoScalingGroupName, JSON.parse(String(logged[0])).QueueName],
        ["vidpipe-prod-workers", "vidpipe-prod-tasks.fifo"]
      )
      assert.strictEqual(cloudWatch.commandCalls(PutMetricDataCommand).length, 0)
    }))
})

// ---------------------------------------------------------------------------------------------

const fleetLayer = (options: { metadataUrl?: string } = {}) =>
  autoScalingFleetControlLayer({
    autoScalingGroupName: "vidpipe-workers",
    metadata: { baseUrl: options.metadataUrl ?? imds.url },
    clientConfig: { region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } }
  })

const protectionCalls = () => autoScaling.commandCalls(SetInstanceProtectionCommand).map((call) => call.args[0].input)

describe("AutoScalingFleetControl", () => {
  it.live("protects this instance, with its id from IMDSv2, and skips calls that change nothing", () =>
    Effect.gen(function*() {
      autoScaling.on(SetInstanceProtectionCommand).resolves({})
      const id = yield* Effect.gen(function*() {
        const fleet = yield* FleetControl
        yield* fleet.setScaleInProtection(true)
        yield* fleet.setScaleInProtection(true)
        yield* fleet.setScaleInProtection(false)
        yield* fleet.setScaleInProtection(false)
        yield* fleet.setScaleInProtection(true)
        return yield* fleet.instanceId
      }).pipe(Effect.provide(fleetLayer()))

      assert.strictEqual(id, "i-0abc123def4567890")
      const forGroup = (ProtectedFromScaleIn: boolean) => ({ AutoScalingGroupName: "vidpipe-workers", InstanceIds: ["i-0abc123def4567890"], ProtectedFromScaleIn })
      assert.deepStrictEqual(protectionCalls(), [forGroup(true), forGroup(false), forGroup(true)])
      // The id was read once, with a session token.
      assert.deepStrictEqual(imds.seen.map((r) => `${r.method} ${r.path}`), ["PUT /latest/api/token", "GET /latest/meta-data/instance-id"])
      assert.strictEqual(imds.seen[0]!.ttl, "60")
      assert.strictEqual(imds.seen[1]!.token, "token-1")
    }))

  it.live("a throttled call fails with FleetControlFailed retryable, and the same call is tried again after it", () =>
    Effect.gen(function*() {
      autoScaling.on(SetInstanceProtectionCommand)
        .rejectsOnce(new AutoScalingServiceException({ name: "Throttling", $fault: "client", $metadata: { httpStatusCode: 400 }, message: "Rate exceeded" }))
        .rejectsOnce(new AutoScalingServiceException({ name: "ValidationError", $fault: "client", $metadata: { httpStatusCode: 400 }, message: "not InService" }))
        .resolves({})
      yield* Effect.gen(function*() {
        const fleet = yield* FleetControl
        const throttled = yield* Effect.flip(fleet.setScaleInProtection(true))
        assert.strictEqual(throttled._tag, "FleetControlFailed")
        assert.strictEqual(throttled.operation, "protect")
        assert.isTrue(throttled.retryable)
        assert.include(throttled.reason, "Throttling")
        const invalid = yield* Effect.flip(fleet.setScaleInProtection(true))
        assert.isFalse(invalid.retryable)
        yield* fleet.setScaleInProtection(true)
        yield* fleet.setScaleInProtection(true)
      }).pipe(Effect.provide(fleetLayer()))
      assert.deepStrictEqual(protectionCalls().map((input) => input.ProtectedFromScaleIn), [true, true, true])
    }))

  it.live("fails to build, quickly and typed, when the metadata service does not answer", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(closedPort)
      const started = Date.now()
      const error = yield* Effect.flip(Effect.provide(Effect.gen(function*() {
        yield* FleetControl
      }), fleetLayer({ metadataUrl: url })))
      assert.strictEqual(error._tag, "FleetControlFailed")
      assert.strictEqual(error.operation, "instanceId")
      // Real time (the refused connections are real I/O between the retries' clock sleeps): two
      // retries 200 ms apart after three refused loopback connects take ~0.5 s even with every core
      // busy; 3 s is the bound a build that kept retrying, or backed off for seconds, would break.
      assert.isBelow(Date.now() - started, 3000)
      assert.strictEqual(protectionCalls().length, 0)
    }))
})

describe("configuration", () => {
  const withEnv = (env: Record<string, string>) => Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env)))
  const configured = Effect.gen(function*() {
    return layerFor(yield* deploymentConfig, yield* pipelineSettingsFromConfig)
  })

  it.live("VIDPIPE_FLEET=autoscaling and VIDPIPE_METRICS=cloudwatch choose the AWS layers, named by VIDPIPE_AUTOSCALING_GROUP", () =>
    Effect.gen(function*() {
      autoScaling.on(SetInstanceProtectionCommand).resolves({})
      cloudWatch.on(PutMetricDataCommand).resolves({})
      const layer = yield* configured.pipe(withEnv({
        VIDPIPE_FLEET: "autoscaling",
        VIDPIPE_METRICS: "cloudwatch",
        VIDPIPE_AUTOSCALING_GROUP: "vidpipe-prod-workers",
        VIDPIPE_QUEUE: "sqs://sqs.eu-west-1.amazonaws.com/123456789012/vidpipe-prod-tasks.fifo",
        AWS_REGION: "eu-west-1",
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url
      }))
      yield* Effect.gen(function*() {
        yield* (yield* FleetControl).setScaleInProtection(true)
        yield* (yield* PipelineMetrics).record("ScaleIn")
      }).pipe(Effect.provide(layer), Effect.scoped)
      assert.deepStrictEqual(protectionCalls(), [{ AutoScalingGroupName: "vidpipe-prod-workers", InstanceIds: ["i-0abc123def4567890"], ProtectedFromScaleIn: true }])
      // Flushed when the layer closed, with the dimensions the alarms select on.
      const sent = cloudWatch.commandCalls(PutMetricDataCommand).flatMap((call) => call.args[0].input.MetricData ?? [])
      assert.deepStrictEqual(sent.map((d) => [d.MetricName, d.Dimensions]), [[
        "ScaleIn",
        [{ Name: "AutoScalingGroupName", Value: "vidpipe-prod-workers" }, { Name: "QueueName", Value: "vidpipe-prod-tasks.fifo" }]
      ]])
    }))

  it.effect("refuses an unknown choice, and the AWS choices without a group name", () =>
    Effect.gen(function*() {
      const unknown = yield* Effect.flip(deploymentConfig.pipe(withEnv({ VIDPIPE_FLEET: "kubernetes" })))
      assert.strictEqual(unknown.message, "VIDPIPE_FLEET=kubernetes is not valid: expected local or autoscaling")
      const noGroup = yield* Effect.flip(deploymentConfig.pipe(withEnv({ VIDPIPE_METRICS: "cloudwatch" })))
      assert.include(noGroup.message, "VIDPIPE_AUTOSCALING_GROUP")
    }))
})

describe("LocalFleetControl", () => {
  it.effect("remembers the protection in memory and counts only real changes", () =>
    Effect.gen(function*() {
      const fleet = yield* makeLocalFleetControl("worker-7")
      assert.strictEqual(yield* fleet.instanceId, "worker-7")
      assert.isFalse(yield* fleet.protectedNow)
      yield* fleet.setScaleInProtection(true)
      yield* fleet.setScaleInProtection(true)
      assert.isTrue(yield* fleet.protectedNow)
      yield* fleet.setScaleInProtection(false)
      assert.isFalse(yield* fleet.protectedNow)
      assert.strictEqual(yield* fleet.changes, 2)
    }))
})

// ---------------------------------------------------------------------------------------------

describe("instance metadata (IMDSv2)", () => {
  it.live("reads values with a session token; the stand-in refuses a GET without one", () =>
    Effect.gen(function*() {
      const bare = yield* Effect.promise(() => fetch(`${imds.url}/latest/meta-data/instance-id`))
      assert.strictEqual(bare.status, 401)
      assert.strictEqual(yield* readInstanceId({ baseUrl: imds.url }), "i-0abc123def4567890")
      assert.strictEqual(yield* readInstanceMetadata("placement/region", { baseUrl: `${imds.url}/`, tokenTtlSeconds: 300 }), "eu-west-1")
      const token = imds.seen.filter((r) => r.method === "PUT").at(-1)
      assert.strictEqual(token?.ttl, "300")
    }))

  it.live("a refused token or an unknown path is a typed failure", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(readInstanceMetadata("no/such/thing", { baseUrl: imds.url }))
      assert.strictEqual(missing._tag, "InstanceMetadataFailed")
      assert.include(missing.reason, "404")
      assert.isFalse(missing.retryable)
      imds.acceptTokens = false
      const refused = yield* Effect.flip(readInstanceId({ baseUrl: imds.url }))
      assert.include(refused.reason, "401")
      assert.isTrue(refused.retryable)
    }))

  // The request timeout is Effect's (timeoutOrElse), so the TestClock decides when it runs out.
  it.effect("gives up after the 1 s timeout when the address accepts but never answers", () =>
    Effect.gen(function*() {
      const hole = yield* Effect.acquireRelease(Effect.promise(startBlackHole), (h) => Effect.promise(h.close))
      const reading = yield* Effect.forkChild(Effect.flip(readInstanceId({ baseUrl: hole.url })))
      yield* settle // the request is under way and its timeout armed
      yield* TestClock.adjust("999 millis")
      yield* settle
      assert.isUndefined(reading.pollUnsafe(), "still waiting 1 ms before the timeout")
      yield* TestClock.adjust("1 millis")
      yield* settleUntil(() => reading.pollUnsafe() !== undefined, "the timeout")
      const error = yield* Fiber.join(reading)
      assert.strictEqual(error._tag, "InstanceMetadataFailed")
      assert.include(error.reason, "no answer")
      assert.isTrue(error.retryable)
    }))

  it.effect("fails at once when nothing listens", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(closedPort)
      const reading = yield* Effect.forkChild(Effect.flip(readInstanceId({ baseUrl: url, timeout: "5 seconds" })))
      // The refused connection is real I/O, so this waits in real time (up to 30 s, only so a hang
      // fails) — but the TestClock never moves: a failure that comes at all did not wait for the
      // 5 s timeout, however long the loaded machine took to refuse the connection.
      const error = yield* Fiber.join(reading).pipe(Effect.timeout("30 seconds"), TestClock.withLive)
      assert.strictEqual(error._tag, "InstanceMetadataFailed")
      assert.notInclude(error.reason, "no answer")
      assert.isTrue(error.retryable)
    }))
})
