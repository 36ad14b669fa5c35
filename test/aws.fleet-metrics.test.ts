/**
 * The AWS fleet and metrics layers: the exact CloudWatch and Auto Scaling requests (the SDK
 * clients are mocked with aws-sdk-client-mock, so nothing leaves the machine), and the IMDSv2
 * client against a small IMDS stand-in served over real HTTP on 127.0.0.1.
 */
import * as http from "node:http"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { AutoScalingClient, AutoScalingServiceException, SetInstanceProtectionCommand } from "@aws-sdk/client-auto-scaling"
import type { MetricDatum } from "@aws-sdk/client-cloudwatch"
import { CloudWatchClient, CloudWatchServiceException, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { ConfigProvider, Effect, Exit, Layer, References } from "effect"
import { autoScalingFleetControlLayer } from "../src/layers/aws/AutoScalingFleetControl.ts"
import type { CloudWatchMetricsOptions } from "../src/layers/aws/CloudWatchMetrics.ts"
import { cloudWatchMetricsLayer } from "../src/layers/aws/CloudWatchMetrics.ts"
import { readInstanceId, readInstanceMetadata } from "../src/layers/aws/instanceMetadata.ts"
import { deploymentConfig, layerFor, pipelineSettingsFromConfig } from "../src/layers/fromConfig.ts"
import { makeLocalFleetControl } from "../src/layers/local/LocalFleetControl.ts"
import { FleetControl } from "../src/services/FleetControl.ts"
import { PipelineMetrics } from "../src/services/PipelineMetrics.ts"

// ---------------------------------------------------------------------------------------------
// IMDS stand-in: PUT /latest/api/token (TTL header required) hands out a token; GETs without a
// token it issued are refused with 401, as IMDSv2 does.

interface Imds {
  readonly url: string
  readonly seen: Array<{ method: string; path: string; ttl?: string; token?: string }>
  /** When false, tokens are issued but none is accepted (as if each expired at once). */
  acceptTokens: boolean
  readonly close: () => Promise<void>
}

const metadata: Record<string, string> = { "instance-id": "i-0abc123def4567890", "placement/region": "eu-west-1" }

const startImds = (): Promise<Imds> =>
  new Promise((resolve) => {
    const tokens = new Set<string>()
    const server = http.createServer((req, res) => {
      const ttl = req.headers["x-aws-ec2-metadata-token-ttl-seconds"]
      const token = req.headers["x-aws-ec2-metadata-token"]
      imds.seen.push({ method: req.method ?? "", path: req.url ?? "", ...(typeof ttl === "string" ? { ttl } : {}), ...(typeof token === "string" ? { token } : {}) })
      if (req.method === "PUT" && req.url === "/latest/api/token") {
        if (typeof ttl !== "string" || !(Number(ttl) >= 1 && Number(ttl) <= 21600)) return void res.writeHead(400).end()
        const issued = `token-${tokens.size + 1}`
        tokens.add(issued)
        return void res.writeHead(200, { "content-type": "text/plain" }).end(issued)
      }
      if (req.method !== "GET") return void res.writeHead(405).end()
      if (typeof token !== "string" || !tokens.has(token) || !imds.acceptTokens) return void res.writeHead(401).end()
      const value = metadata[(req.url ?? "").replace("/latest/meta-data/", "")]
      if (value === undefined) return void res.writeHead(404).end("Not Found")
      res.writeHead(200, { "content-type": "text/plain" }).end(value)
    })
    const imds: Imds = {
      url: "",
      seen: [],
      acceptTokens: true,
      close: () =>
        new Promise((done) => {
          server.closeAllConnections()
          server.close(() => done())
        })
    }
    server.listen(0, "127.0.0.1", () => {
      resolve(Object.assign(imds, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }))
    })
  })

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

let imds: Imds
beforeAll(async () => {
  imds = await startImds()
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

/** Polls a condition on the mocks' call history (the flush fiber sends in the background). */
const waitUntil = (check: () => boolean, what: string, withinMs = 5000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + withinMs
    while (!check()) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep("20 millis")
    }
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

const metricsLayer = (options: Partial<CloudWatchMetricsOptions> = {}) =>
  cloudWatchMetricsLayer({
    autoScalingGroupName: "vidpipe-workers",
    queueName: "vidpipe-tasks.fifo",
    clientConfig: { region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } },
    flushEvery: "1 hour",
    ...options
  }).pipe(Layer.provideMerge(quiet))

const throttling = () =>
  new CloudWatchServiceException({ name: "Throttling", $fault: "client", $metadata: { httpStatusCode: 400 }, message: "Rate exceeded" })

describe("CloudWatchMetrics", () => {
  it.live("buffers several records into one PutMetricData, sent when the layer's scope closes", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).resolves({})
      const totals = yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("ScaleOut")
        yield* metrics.record("TasksCompleted", 2)
        yield* metrics.record("TaskSeconds", 12.5, { kind: "Video" })
        yield* metrics.record("ScaleIn", 1, { worker: "i-1", QueueName: "ignored: the layer's own wins" })
        yield* Effect.sleep("100 millis")
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

  it.live("flushes every flushEvery in the namespace given, and sends nothing when there is nothing new", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).resolves({})
      yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("TasksEnqueued", 5)
        yield* metrics.record("JobsFinalized")
        yield* metrics.record("TasksFailed", 1, { worker: "w1" })
        yield* waitUntil(() => sentBatches().length === 1, "the periodic flush")
        yield* Effect.sleep("700 millis")
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

  it.live("sends a full batch at once, oldest first, and the rest on close", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).resolves({})
      yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        for (let value = 1; value <= 7; value++) yield* metrics.record("TasksEnqueued", value)
        yield* waitUntil(() => sentBatches().length === 2, "two full batches")
        yield* Effect.sleep("200 millis")
        assert.strictEqual(sentBatches().length, 2, "an incomplete batch waits for the timer or the close")
      }).pipe(Effect.provide(metricsLayer({ maxBatch: 3 })))

      assert.deepStrictEqual(sentBatches().map((batch) => batch.MetricData?.map((datum) => datum.Value)), [[1, 2, 3], [4, 5, 6], [7]])
    }))

  it.live("a failing PutMetricData does not fail record; its points go out with the next flush", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).rejectsOnce(throttling()).resolves({})
      yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("ScaleOut", 1)
        yield* waitUntil(() => sentBatches().length === 1, "the first (failing) flush")
        yield* metrics.record("ScaleOut", 2)
        yield* waitUntil(() => sentBatches().length === 2, "the next flush")
      }).pipe(Effect.provide(metricsLayer({ flushEvery: "200 millis" })))

      const [failed, retried] = sentBatches()
      assert.deepStrictEqual(failed!.MetricData?.map((datum) => datum.Value), [1])
      assert.deepStrictEqual(retried!.MetricData?.map((datum) => datum.Value), [1, 2])
    }))

  it.live("a batch CloudWatch refuses as invalid is dropped rather than resent forever", () =>
    Effect.gen(function*() {
      const invalid = new CloudWatchServiceException({ name: "InvalidParameterValue", $fault: "client", $metadata: { httpStatusCode: 400 }, message: "bad" })
      cloudWatch.on(PutMetricDataCommand).rejectsOnce(invalid).resolves({})
      yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("JobsFailed", 1)
        yield* waitUntil(() => sentBatches().length === 1, "the refused flush")
        yield* metrics.record("JobsFailed", 2)
        yield* waitUntil(() => sentBatches().length === 2, "the next flush")
      }).pipe(Effect.provide(metricsLayer({ flushEvery: "200 millis" })))

      assert.deepStrictEqual(sentBatches()[1]!.MetricData?.map((datum) => datum.Value), [2])
    }))

  it.live("keeps at most maxBuffered points while CloudWatch fails, dropping the oldest", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).rejectsOnce(throttling()).resolves({})
      yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("TasksEnqueued", 1)
        yield* metrics.record("TasksEnqueued", 2) // a full batch: sent at once, throttled, kept
        yield* waitUntil(() => sentBatches().length === 1, "the throttled batch")
        yield* Effect.sleep("50 millis")
        for (let value = 3; value <= 10; value++) yield* metrics.record("TasksEnqueued", value)
        yield* Effect.sleep("100 millis")
        assert.strictEqual(sentBatches().length, 1, "while backing off, full batches wait for the timer")
        assert.deepStrictEqual((yield* metrics.totals)["TasksEnqueued"], 55, "totals count every record")
      }).pipe(Effect.provide(metricsLayer({ maxBatch: 2, maxBuffered: 4 })))

      assert.deepStrictEqual(sentBatches().map((batch) => batch.MetricData?.map((datum) => datum.Value)), [[1, 2], [7, 8], [9, 10]])
    }))

  it.live("a send cut short by the scope closing is sent again by the final flush", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).callsFakeOnce(() => new Promise(() => {})).resolves({})
      yield* Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("TasksCompleted", 3) // a full batch of one: sent at once, never answered
        yield* waitUntil(() => sentBatches().length === 1, "the hanging send")
      }).pipe(Effect.provide(metricsLayer({ maxBatch: 1 })))

      assert.deepStrictEqual(sentBatches().map((batch) => batch.MetricData?.map((datum) => datum.Value)), [[3], [3]])
    }))

  it.live("closes promptly without failing when CloudWatch keeps failing", () =>
    Effect.gen(function*() {
      cloudWatch.on(PutMetricDataCommand).rejects(
        new CloudWatchServiceException({ name: "ServiceUnavailable", $fault: "server", $metadata: { httpStatusCode: 503 }, message: "down" })
      )
      const started = Date.now()
      const exit = yield* Effect.exit(Effect.gen(function*() {
        const metrics = yield* PipelineMetrics
        yield* metrics.record("ScaleIn")
        yield* metrics.record("TaskSeconds", Number.NaN) // never sent: CloudWatch refuses a whole request over one NaN
      }).pipe(Effect.provide(metricsLayer())))
      assert.isTrue(Exit.isSuccess(exit))
      assert.isBelow(Date.now() - started, 2000)
      assert.deepStrictEqual(sentBatches().map((batch) => batch.MetricData?.map((datum) => datum.MetricName)), [["ScaleIn"]])
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

  it.live("gives up after the 1 s timeout when the address accepts but never answers", () =>
    Effect.gen(function*() {
      const hole = yield* Effect.acquireRelease(Effect.promise(startBlackHole), (h) => Effect.promise(h.close))
      const started = Date.now()
      const error = yield* Effect.flip(readInstanceId({ baseUrl: hole.url }))
      const elapsed = Date.now() - started
      assert.strictEqual(error._tag, "InstanceMetadataFailed")
      assert.include(error.reason, "no answer")
      assert.isTrue(error.retryable)
      assert.isAtLeast(elapsed, 900)
      assert.isBelow(elapsed, 2000)
    }))

  it.live("fails at once when nothing listens", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(closedPort)
      const started = Date.now()
      const error = yield* Effect.flip(readInstanceId({ baseUrl: url, timeout: "5 seconds" }))
      assert.strictEqual(error._tag, "InstanceMetadataFailed")
      assert.isBelow(Date.now() - started, 1000)
    }))
})
