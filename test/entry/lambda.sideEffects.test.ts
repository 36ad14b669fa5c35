/**
 * Every Lambda handler has done everything it does by the time its promise resolves: "Lambda
 * freezes the execution environment when the runtime and each extension have completed", and
 * "Background processes or callbacks that were initiated by your Lambda function and did not
 * complete when the function ended resume if Lambda reuses the execution environment" (Lambda
 * developer guide, execution environment lifecycle) — that is, late or never.
 *
 * The handlers run over the layers the deployed configuration chooses (`lambdaLayerConfig`):
 * SQS on fauxqs (in a child process, so its own timers are not counted here), metrics as the
 * configuration picks them, job records in memory, probing scripted. At the moment each promise
 * resolves — synchronously in its `.then` — the test reads what has happened: SQS calls that got
 * their answer (recorded around `SQSClient.send`), metrics delivered (an EMF line written, or a
 * PutMetricData call answered by the mocked CloudWatch client), and the timers this process
 * created since the services were built that are still pending (an Effect sleep, a flush timer).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs"
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch"
import { mockClient } from "aws-sdk-client-mock"
import { ConfigProvider, Context, Effect, Exit, Layer, References, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import type { Job } from "../../src/domain/Job.ts"
import { ingest } from "../../src/programs/ingest.ts"
import { failJob } from "../../src/programs/jobRecords.ts"
import { handlerConfig as apiHandlerConfig, makeApiHandler } from "../../src/entry/lambda/apiHandler.ts"
import type { ApiGatewayProxyEvent } from "../../src/entry/lambda/apiGatewayProxy.ts"
import { handlerConfig as ingestHandlerConfig, makeIngestHandler } from "../../src/entry/lambda/ingestHandler.ts"
import { handlerConfig as sweeperHandlerConfig, makeSweeperHandler } from "../../src/entry/lambda/sweeperHandler.ts"
import { createFifoQueuePair } from "../../src/layers/aws/sqsQueues.ts"
import { lambdaLayerConfig, layerFor } from "../../src/layers/fromConfig.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { Storage } from "../../src/services/Storage.ts"
import { UploadSlots } from "../../src/services/UploadSlots.ts"
import { makeScriptedFfmpeg } from "../support/scriptedFfmpeg.ts"
import { unusedMultipart } from "../support/unusedMultipart.ts"

/** What the deployed Lambdas are configured with for metrics (infra/environment.ts must agree). */
const lambdaMetrics = "emf"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-lambda-side-effects-"))
const apiKey = "side-effects-key"
const maxReceives = 3

// ---------------------------------------------------------------------------------------------
// fauxqs in a child process: its long-poll and visibility timers live there, not here.

let fauxqs: ChildProcess | undefined
let endpoint = ""

const startFauxqs = () =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [
      "--input-type=module",
      "-e",
      `import { buildApp } from "fauxqs"; const app = buildApp({ logger: false }); console.log(await app.listen({ port: 0, host: "127.0.0.1" }))`
    ], { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] })
    fauxqs = child
    child.once("error", reject)
    child.once("exit", (code) => reject(new Error(`fauxqs exited (${code}) before listening`)))
    // Its first output line is the endpoint it listens on.
    let output = ""
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk
      if (output.includes("\n")) resolve(output.slice(0, output.indexOf("\n")).trim())
    })
  })

// ---------------------------------------------------------------------------------------------
// What has happened: completed SQS calls, delivered metrics, pending timers.

interface SqsCall {
  readonly command: string
  readonly input: Record<string, unknown>
}
const sqsCalls: Array<SqsCall> = []
const realSend = SQSClient.prototype.send
const recordSqs = () => {
  // Recorded when SQS has answered: a call still in flight at resolution is not "done".
  SQSClient.prototype.send = async function(this: SQSClient, command: any, ...rest: Array<any>) {
    const output = await (realSend as any).call(this, command, ...rest)
    sqsCalls.push({ command: command.constructor.name.replace(/Command$/, ""), input: command.input })
    return output
  } as typeof realSend
}

const cloudWatch = mockClient(CloudWatchClient)
const emfLines: Array<Record<string, any>> = []

/** Metric names delivered so far: EMF documents written, or PutMetricData calls made. */
const deliveredMetrics = () => [
  ...emfLines.flatMap((doc) => (doc["_aws"]?.CloudWatchMetrics ?? []).flatMap((d: any) => d.Metrics.map((m: any) => m.Name))),
  ...cloudWatch.commandCalls(PutMetricDataCommand).flatMap((call) => (call.args[0].input.MetricData ?? []).map((d) => d.MetricName))
]

/**
 * Timers created through the global timer functions (Effect's sleeps and anything of ours) and
 * neither fired nor cleared. The AWS SDK's own request timers are left out: the calls they guard
 * have completed when they are counted, and they are not ours to leave or clear.
 */
const pendingTimers = new Map<unknown, string>()
const realTimers = { setTimeout, clearTimeout, setInterval, clearInterval }
const trackTimers = () => {
  const ours = (stack: string) => !/@smithy|@aws-sdk/.test(stack)
  globalThis.setTimeout = ((callback: (...args: Array<any>) => void, ms?: number, ...args: Array<any>) => {
    const stack = new Error().stack ?? ""
    const handle: any = realTimers.setTimeout((...a: Array<any>) => {
      pendingTimers.delete(handle)
      callback(...a)
    }, ms, ...args)
    if (ours(stack)) pendingTimers.set(handle, stack)
    return handle
  }) as typeof setTimeout
  globalThis.setInterval = ((callback: (...args: Array<any>) => void, ms?: number, ...args: Array<any>) => {
    const stack = new Error().stack ?? ""
    const handle = realTimers.setInterval(callback, ms, ...args)
    if (ours(stack)) pendingTimers.set(handle, stack)
    return handle
  }) as typeof setInterval
  globalThis.clearTimeout = ((handle: any) => {
    pendingTimers.delete(handle)
    realTimers.clearTimeout(handle)
  }) as typeof clearTimeout
  globalThis.clearInterval = ((handle: any) => {
    pendingTimers.delete(handle)
    realTimers.clearInterval(handle)
  }) as typeof clearInterval
}
const restoreTimers = () => Object.assign(globalThis, realTimers)

/** Everything recorded, read synchronously at the moment the handler's promise resolves. */
const atResolution = <A>(promise: Promise<A>) =>
  promise.then((result) => ({
    result,
    sqs: sqsCalls.splice(0),
    metrics: deliveredMetrics(),
    pendingTimers: [...pendingTimers.values()]
  }))

// ---------------------------------------------------------------------------------------------

let queueUrl = ""
let deadLetterQueueUrl = ""
const scope = Scope.makeUnsafe()
let services: Context.Context<any>

const environment = () => ({
  VIDPIPE_METRICS: lambdaMetrics,
  VIDPIPE_AUTOSCALING_GROUP: "vidpipe-test-workers",
  VIDPIPE_QUEUE: queueUrl.replace(/^https?:\/\//, "sqs://"),
  VIDPIPE_SQS_DLQ: deadLetterQueueUrl,
  VIDPIPE_SQS_ENDPOINT_URL: endpoint,
  VIDPIPE_STORAGE: `file://${root}`,
  VIDPIPE_MAX_RECEIVES: String(maxReceives),
  // Any job idle since the last millisecond is stale: the sweep below re-sends the retried job's tasks.
  VIDPIPE_STALE_SECONDS: "0",
  AWS_REGION: "us-east-1"
})

const uploadSlotsStandIn = Layer.succeed(UploadSlots, UploadSlots.of({
  ...unusedMultipart,
  create: ({ contentLength, jobId }) =>
    Effect.succeed({ url: `https://uploads.test/${jobId}`, method: "PUT" as const, headers: { "Content-Length": String(contentLength) }, expiresAt: Date.now() + 60_000 })
}))

const run = <A, E>(effect: Effect.Effect<A, E, any>) => Effect.runPromise(Effect.provideContext(effect, services) as Effect.Effect<A, E>)

const withStore = <A, E>(use: (store: JobStore["Service"]) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    return yield* use(yield* JobStore)
  })

const emfCapture = vi.spyOn(console, "log")

beforeAll(async () => {
  endpoint = await startFauxqs()
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" })
  const admin = new SQSClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } })
  const pair = await Effect.runPromise(createFifoQueuePair(admin, { name: `vidpipe-side-effects-${process.pid}`, maxReceiveCount: maxReceives }))
  admin.destroy()
  queueUrl = pair.queueUrl
  deadLetterQueueUrl = pair.deadLetterQueueUrl
  cloudWatch.on(PutMetricDataCommand).resolves({})
  emfCapture.mockImplementation((...args: Array<unknown>) => {
    if (typeof args[0] !== "string") return
    try {
      const doc = JSON.parse(args[0])
      if (doc !== null && typeof doc === "object" && "_aws" in doc) emfLines.push(doc)
    } catch {
      // not a document
    }
  })
  recordSqs()
  trackTimers()
  // Built as `handler` builds them (the configuration a Lambda accepts), once for all three
  // handlers so they share the job records; only probing (no ffprobe here) and upload URLs differ.
  const configured = Effect.provide(lambdaLayerConfig, ConfigProvider.layer(ConfigProvider.fromEnvRecord(environment())))
  const { deployment, settings } = await Effect.runPromise(configured)
  expect([deployment.queue.kind, deployment.metrics]).toEqual(["sqs", lambdaMetrics])
  const layer = Layer.mergeAll(
    layerFor(deployment, settings),
    makeScriptedFfmpeg().layer,
    uploadSlotsStandIn,
    Layer.succeed(References.MinimumLogLevel, "None")
  )
  services = await Effect.runPromise(Layer.buildWithScope(layer, scope))
}, 60_000)

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  restoreTimers()
  SQSClient.prototype.send = realSend
  cloudWatch.restore()
  emfCapture.mockRestore()
  fauxqs?.kill()
  fs.rmSync(root, { recursive: true, force: true })
})

const proxyEvent = (event: Partial<ApiGatewayProxyEvent> & { readonly httpMethod: string }): ApiGatewayProxyEvent => ({
  resource: "/{proxy+}",
  headers: { "x-api-key": apiKey, "content-type": "application/json", host: "abc.execute-api.us-east-1.amazonaws.com" },
  body: null,
  isBase64Encoded: false,
  ...event
})

/** The calls of `command` on the queue `url` names (compared by name: configuration turns sqs:// into https://). */
const sent = (calls: ReadonlyArray<SqsCall>, url: string, command: string) =>
  calls.filter((c) => c.command === command && String(c.input["QueueUrl"]).split("/").at(-1) === url.split("/").at(-1))

// One story, in order: a job is created and ingested, fails and is retried, then sits idle while
// the sweeper runs (which re-sends its tasks), so each handler has real work to finish.
describe("each Lambda handler has done its work when its promise resolves", () => {
  let jobId = ""

  it("ingest: the plan task is sent and ScaleOut is delivered, with no timer of ours left", async () => {
    const api = makeApiHandler(Layer.succeedContext(services), { deliveryBase: "https://cdn.test", apiKeys: [apiKey], maxUploadBytes: 1_000_000 })
    const created = await api(proxyEvent({ httpMethod: "POST", path: "/v1/jobs", body: JSON.stringify({ fileName: "clip.mp4", contentLength: 5 }) }))
    expect(created.statusCode, created.body).toBe(201)
    jobId = JSON.parse(created.body).jobId
    await run(Effect.gen(function*() {
      yield* (yield* Storage).put("uploads", `${jobId}/clip.mp4`, "video")
    }))

    const ingestHandler = makeIngestHandler(Layer.succeedContext(services))
    const event = { Records: [{ eventName: "ObjectCreated:Put", s3: { bucket: { name: "uploads" }, object: { key: `${jobId}/clip.mp4`, size: 5 } } }] }
    const seen = await atResolution(ingestHandler(event))

    expect(seen.result.accepted.map((a) => a.jobId)).toEqual([jobId])
    const job = await run(withStore((store) => store.get(jobId)))
    // A worker plans it (probes with its own ffprobe): the Lambda only sends the plan task.
    expect([job.status, job.tasks.length]).toEqual(["queued", 0])
    const bodies = sent(seen.sqs, queueUrl, "SendMessage").map((c) => JSON.parse(String(c.input["MessageBody"])))
    expect(bodies).toEqual([{ _tag: "plan", jobId, taskId: `${jobId}.plan`, attempt: 1, sourceKey: `${jobId}/clip.mp4` }])
    expect(seen.metrics).toContain("ScaleOut")
    expect(seen.metrics).toContain("TasksEnqueued")
    expect(seen.pendingTimers).toEqual([])
    await ingestHandler.dispose()
  })

  it("api: a retry's tasks are sent, with no timer of ours left", async () => {
    // The plan task done as a worker does it; then the job fails and is retried.
    await run(ingest(jobId))
    sqsCalls.length = 0 // the plan's tasks, sent above
    await run(withStore((store) =>
      store.update(jobId, (job) => failJob(job, { _tag: "TaskFailed", message: "scripted" }, Date.now()))))
    const api = makeApiHandler(Layer.succeedContext(services), { deliveryBase: "https://cdn.test", apiKeys: [apiKey], maxUploadBytes: 1_000_000 })
    const seen = await atResolution(api(proxyEvent({ httpMethod: "POST", path: `/v1/jobs/${jobId}/retry` })))

    expect(seen.result.statusCode, seen.result.body).toBe(202)
    const job = await run(withStore((store) => store.get(jobId)))
    expect(sent(seen.sqs, queueUrl, "SendMessage")).toHaveLength(job.tasks.length)
    expect(seen.pendingTimers).toEqual([])
    await api.dispose()
  })

  it("sweeper: 25 dead letters are recorded on their jobs and deleted, stale tasks re-sent, no timer of ours left", async () => {
    const now = Date.now()
    const count = 25
    const jobs: Array<Job> = Array.from({ length: count }, (_, i) => ({
      id: `dead${i}`,
      status: "processing",
      createdAt: now - 3_600_000,
      updatedAt: now - 3_600_000,
      fileName: "clip.mp4",
      sourceKey: `dead${i}/clip.mp4`,
      outputPrefix: `dead${i}/`,
      segmentSeconds: 4,
      tasks: [{ taskId: `dead${i}.audio`, kind: "audio", label: "audio", status: "running", progress: 0.4, attempts: maxReceives }]
    }))
    await run(withStore((store) => Effect.forEach(jobs, (job) => store.create(job), { discard: true })))
    // What the redrive leaves in the DLQ: each task's message body, in its own group.
    const admin = new SQSClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } })
    for (const job of jobs) {
      const body = JSON.stringify({
        _tag: "audio", jobId: job.id, taskId: `${job.id}.audio`, attempt: 0, sourceKey: job.sourceKey, outputPrefix: job.outputPrefix,
        segmentSeconds: 4, durationSeconds: 4, totalTasks: 1, channels: 2, sampleRate: 48000, bitrate: 128000
      })
      await admin.send(new SendMessageCommand({ QueueUrl: deadLetterQueueUrl, MessageBody: body, MessageGroupId: `${job.id}.audio`, MessageDeduplicationId: `${job.id}.audio.0` }))
    }

    expect(jobId, "runs after the ingest and api cases").not.toBe("")
    sqsCalls.length = 0 // the seeding above
    const sweeper = makeSweeperHandler(Layer.succeedContext(services), "sweeper-test")
    const seen = await atResolution(sweeper({ source: "aws.events", "detail-type": "Scheduled Event" }))

    expect(sent(seen.sqs, deadLetterQueueUrl, "DeleteMessage")).toHaveLength(count)
    expect(sent(seen.sqs, queueUrl, "SendMessage").length, "the retried job's tasks, re-sent as stale").toBeGreaterThan(0)
    expect(seen.pendingTimers).toEqual([])
    const failed = await run(withStore((store) => Effect.forEach(jobs, (job) => store.get(job.id))))
    expect(failed.map((job) => [job.status, job.error?._tag])).toEqual(jobs.map(() => ["failed", "TaskDeadLettered"]))
    const dlq = await admin.send(new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }))
    expect(dlq.Attributes).toMatchObject({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" })
    admin.destroy()
    await sweeper.dispose()
  })
})

describe("a Lambda refuses metrics that would outlive its invocation", () => {
  it("VIDPIPE_METRICS=cloudwatch fails the API's, ingest's and the sweeper's configuration", async () => {
    const provider = ConfigProvider.layer(ConfigProvider.fromEnvRecord({ ...environment(), VIDPIPE_METRICS: "cloudwatch", VIDPIPE_API_KEYS: apiKey }))
    for (const config of [apiHandlerConfig, ingestHandlerConfig, sweeperHandlerConfig] as Array<Effect.Effect<unknown, unknown>>) {
      const exit = await Effect.runPromise(Effect.exit(Effect.provide(config, provider)))
      expect(Exit.isFailure(exit) ? String(exit.cause) : "accepted").toMatch(/VIDPIPE_METRICS=cloudwatch is not valid/)
    }
  })
})
