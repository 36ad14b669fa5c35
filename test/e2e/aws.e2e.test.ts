/**
 * The whole pipeline in the deployed combination, chosen from configuration the way a deployment
 * chooses it (VIDPIPE_QUEUE=sqs://…, VIDPIPE_STORAGE=s3://…, VIDPIPE_COORDINATOR=redis://…),
 * against local protocol peers: an SQS FIFO emulator (fauxqs), an S3 server that checks SigV4
 * (s3rver), and Redis as coordinator, job store and idle registry (ElastiCache's part). ingest →
 * worker fibers (real ffmpeg reading the source through a presigned GET) → finalize; the MPD
 * validates.
 *
 * Redis is reached through a TCP proxy that cuts the connection while a worker holds a task: at
 * the worker's write that marks its task running, Redis runs the write and the reply is lost with
 * the connection (ioredis reconnects and resends). The exact moment comes from the traffic itself,
 * not from timing. The task must not be lost: the job is ready, finalized once, manifest written once.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { SQSClient } from "@aws-sdk/client-sqs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Duration, Effect } from "effect"
import { buildApp } from "fauxqs"
import { deploymentConfig, layerFor } from "../../src/layers/fromConfig.ts"
import { createFifoQueuePair } from "../../src/layers/aws/sqsQueues.ts"
import { awaitJob } from "../../src/programs/awaitJob.ts"
import { defaultPipelineSettings } from "../../src/services/PipelineSettings.ts"
import { submitFile } from "../../src/programs/submitFile.ts"
import { runWorker } from "../../src/programs/worker.ts"
import { Storage } from "../../src/services/Storage.ts"
import { checkPresentation } from "../support/dashInspect.ts"
import { makeClip } from "../support/clips.ts"
import { deletePrefix, testRedisUrl, uniquePrefix } from "../support/redis.ts"
import type { IfNoneMatchShim, S3Peer } from "../support/s3Peer.ts"
import { createBuckets, s3rverCredentials, startIfNoneMatchShim, startS3rver, uniqueBucket } from "../support/s3Peer.ts"
import type { ProxiedConnection, TcpProxy } from "../support/tcpProxy.ts"
import { startTcpProxy } from "../support/tcpProxy.ts"

let workdir = ""
let sqs: { readonly close: () => Promise<unknown>; readonly endpoint: string } | undefined
let s3: S3Peer | undefined
let shim: IfNoneMatchShim | undefined
let redisProxy: TcpProxy | undefined
const redisPrefix = uniquePrefix("aws-e2e")
/** Connections cut, each right after Redis ran a write marking a task running. */
const cut: Array<string> = []

/** Arms a cut at the first write of a running task: Redis runs it, the reply is lost with the connection. */
const startCuttingRedisProxy = () => {
  const target = new URL(testRedisUrl)
  const cutting = new WeakSet<ProxiedConnection>()
  return startTcpProxy({ hostname: target.hostname, port: Number(target.port || 6379) }, {
    request: (chunk, connection) => {
      // The job record travels as JSON in the EVALSHA of RedisJobStore's put.
      if (cut.length === 0 && chunk.toString("utf8").includes('"status":"running"')) {
        cut.push("running")
        cutting.add(connection)
      }
    },
    reply: (chunk, connection) => (cutting.has(connection) ? connection.cut() : connection.toClient(chunk))
  })
}

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-aws-e2e-"))
  const app = buildApp({ logger: false })
  sqs = { endpoint: await app.listen({ port: 0, host: "127.0.0.1" }), close: () => app.close() }
  s3 = await startS3rver()
  shim = await startIfNoneMatchShim(s3.endpoint)
  redisProxy = await startCuttingRedisProxy()
}, 60_000)
afterAll(async () => {
  await redisProxy?.close()
  await deletePrefix(testRedisUrl, redisPrefix).catch(() => undefined)
  await shim?.close()
  await s3?.stop()
  await sqs?.close()
  await fs.rm(workdir, { recursive: true, force: true })
})

describe("the AWS layers end to end", () => {
  it("sqs://, s3:// and redis:// from configuration, Redis cut while a worker holds a task: ready once, and the MPD validates", async () => {
    const uploads = uniqueBucket("uploads")
    const outputs = uniqueBucket("outputs")
    await createBuckets(s3!.endpoint, uploads, outputs)
    const client = new SQSClient({ endpoint: sqs!.endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } })
    const queues = await Effect.runPromise(createFifoQueuePair(client, { name: `vidpipe-e2e-${process.pid}`, maxReceiveCount: 3, visibilityTimeoutSeconds: 30 }))
    client.destroy()

    // What a deployment sets; credentials come from the SDK's usual environment chain.
    Object.assign(process.env, {
      VIDPIPE_QUEUE: queues.queueUrl.replace(/^https?:\/\//, "sqs://"),
      VIDPIPE_SQS_DLQ: queues.deadLetterQueueUrl,
      VIDPIPE_SQS_ENDPOINT_URL: sqs!.endpoint,
      VIDPIPE_STORAGE: `s3://${uploads}`,
      VIDPIPE_OUTPUTS_BUCKET: outputs,
      VIDPIPE_S3_ENDPOINT_URL: shim!.endpoint,
      VIDPIPE_COORDINATOR: `redis://127.0.0.1:${redisProxy!.port}${new URL(testRedisUrl).pathname}`,
      VIDPIPE_REDIS_PREFIX: redisPrefix,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: s3rverCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3rverCredentials.secretAccessKey
    })
    const clip = await makeClip({ output: path.join(workdir, "clip.mp4"), durationSeconds: 6, width: 640, height: 360 })
    const local = path.join(workdir, "downloaded")

    const program = Effect.gen(function*() {
      const deployment = yield* deploymentConfig
      expect([deployment.queue.kind, deployment.storage.kind, deployment.coordinator.kind]).toEqual(["sqs", "s3", "redis"])
      const settings = { ...defaultPipelineSettings, pollSeconds: 1, heartbeatEvery: Duration.seconds(5) }
      return yield* Effect.gen(function*() {
        const { jobId } = yield* submitFile({ input: clip, ladder: [360, 240] })
        for (const id of ["aws-w1", "aws-w2"]) yield* Effect.forkScoped(runWorker(id))
        const job = yield* awaitJob(jobId, undefined, 250).pipe(Effect.timeout("120 seconds"))
        // Bring the published presentation down from the outputs bucket to check it.
        const storage = yield* Storage
        for (const object of yield* storage.list("outputs", job.outputPrefix)) {
          const file = path.join(local, object.key.slice(job.outputPrefix.length))
          yield* Effect.promise(() => fs.mkdir(path.dirname(file), { recursive: true }))
          const bytes = yield* storage.get("outputs", object.key)
          yield* Effect.promise(() => fs.writeFile(file, bytes))
        }
        return job
      }).pipe(Effect.scoped, Effect.provide(layerFor(deployment, settings)))
    })
    const job = await Effect.runPromise(program)
    expect(job.status, JSON.stringify(job.error)).toBe("ready")
    expect(cut, "the connection was cut while a worker held a task").toEqual(["running"])
    expect(job.finalizeRuns).toBe(1)
    expect(job.manifestWrites).toBe(1)
    expect(shim!.seen).toContain("*") // the manifest was written create-if-absent
    const report = await checkPresentation(path.join(local, "manifest.mpd"))
    expect(report.problems).toEqual([])
    expect(report.schemaValid).toBe(true)
    expect(report.video.map((r) => `${r.width}x${r.height}`).sort()).toEqual(["426x240", "640x360"])
    expect(report.audio).toBeDefined()
  }, 180_000)
})
