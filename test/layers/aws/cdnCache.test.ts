/**
 * Deleting a job takes its outputs off the CDN's edges: the CloudFront layer's CreateInvalidation
 * request (SDK mock: CloudFront has no local peer), the API's DELETE calling the CdnCache after
 * the origin lost the files (the API Lambda's handler, fed proxy events), a refused invalidation
 * failing the delete so it can be asked again, and VIDPIPE_CDN choosing the layer.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { CloudFrontClient, CreateInvalidationCommand, TooManyInvalidationsInProgress } from "@aws-sdk/client-cloudfront"
import { afterEach, assert, describe, it } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { ConfigProvider, Context, Effect, Layer, References } from "effect"
import { makeApiHandler } from "../../../src/entry/lambda/apiHandler.ts"
import { makeCloudFrontCdnCache } from "../../../src/layers/aws/CloudFrontCdnCache.ts"
import { deploymentConfig, layerFor } from "../../../src/layers/fromConfig.ts"
import { areaFoldersUnder, folderStorageLayer } from "../../../src/layers/local/FolderStorage.ts"
import { memoryCoordinatorLayer } from "../../../src/layers/local/MemoryCoordinator.ts"
import { memoryJobQueueLayer } from "../../../src/layers/local/MemoryJobQueue.ts"
import { memoryJobStoreLayer } from "../../../src/layers/local/MemoryJobStore.ts"
import { defaultPipelineSettings } from "../../../src/services/PipelineSettings.ts"
import { CdnCache, CdnCacheFailed } from "../../../src/services/CdnCache.ts"
import { JobStore } from "../../../src/services/JobStore.ts"
import { Storage } from "../../../src/services/Storage.ts"
import { UploadSlots } from "../../../src/services/UploadSlots.ts"
import { unusedMultipart } from "../../support/unusedMultipart.ts"
import { webhookServices } from "../../support/embeddedServices.ts"

const cloudFront = mockClient(CloudFrontClient)
afterEach(() => cloudFront.reset())

describe("CloudFront CdnCache", () => {
  it.effect("invalidates /<prefix>* on the distribution, with a fresh caller reference each time", () =>
    Effect.gen(function*() {
      cloudFront.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: "I1", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined } })
      const cache = yield* makeCloudFrontCdnCache({ distributionId: "E2MOCK", client: new CloudFrontClient({ region: "eu-west-1" }) })
      yield* cache.forgetPrefix("job-1/")
      yield* cache.forgetPrefix("job-1/")
      const inputs = cloudFront.commandCalls(CreateInvalidationCommand).map((call) => call.args[0].input)
      assert.strictEqual(inputs.length, 2)
      for (const input of inputs) {
        assert.strictEqual(input.DistributionId, "E2MOCK")
        assert.deepStrictEqual(input.InvalidationBatch?.Paths, { Quantity: 1, Items: ["/job-1/*"] })
      }
      assert.notStrictEqual(inputs[0]?.InvalidationBatch?.CallerReference, inputs[1]?.InvalidationBatch?.CallerReference)
    }))

  it.effect("refuses prefixes CloudFront would need encoded, and reports too many invalidations in progress as retryable", () =>
    Effect.gen(function*() {
      const cache = yield* makeCloudFrontCdnCache({ distributionId: "E2MOCK", client: new CloudFrontClient({ region: "us-east-1" }) })
      for (const prefix of ["/job/", "a b/", "été/"]) {
        const failure = yield* Effect.flip(cache.forgetPrefix(prefix))
        assert.isFalse(failure.retryable, prefix)
      }
      assert.strictEqual(cloudFront.commandCalls(CreateInvalidationCommand).length, 0)
      cloudFront.on(CreateInvalidationCommand).rejects(new TooManyInvalidationsInProgress({ message: "Your request contains too many invalidations.", $metadata: { httpStatusCode: 400 } }))
      const busy = yield* Effect.flip(cache.forgetPrefix("job-2/"))
      assert.isTrue(busy.retryable, busy.reason)
    }))
})

const apiKey = "cdn-key"

/** The API Lambda over local backends and a CdnCache that records what it is told. */
const lambdaWith = (forget: (prefix: string, storage: Storage["Service"]) => Effect.Effect<void, CdnCacheFailed>) =>
  Effect.gen(function*() {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-cdn-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(root, { recursive: true, force: true })))
    const backends = yield* Layer.build(Layer.mergeAll(
      memoryJobQueueLayer(),
      memoryCoordinatorLayer,
      memoryJobStoreLayer,
      webhookServices,
      folderStorageLayer(areaFoldersUnder(root)),
      Layer.succeed(UploadSlots, UploadSlots.of({
  ...unusedMultipart,
        create: ({ jobId }) => Effect.succeed({ url: `https://uploads.test/${jobId}`, method: "PUT" as const, headers: {}, expiresAt: Date.now() + 60_000 })
      })),
      Layer.succeed(References.MinimumLogLevel, "None")
    ))
    const storage = Context.get(backends, Storage)
    const services = Context.add(backends, CdnCache, CdnCache.of({ forgetPrefix: (prefix) => forget(prefix, storage) }))
    const api = makeApiHandler(Layer.succeedContext(services), { deliveryBase: "https://cdn.test", apiKeys: [apiKey], maxUploadBytes: 1_000, corsOrigins: [] })
    yield* Effect.addFinalizer(() => Effect.promise(() => api.dispose()))
    const call = (httpMethod: string, path: string, body?: unknown) =>
      Effect.promise(() =>
        api({
          httpMethod,
          path,
          headers: { "x-api-key": apiKey, ...(body === undefined ? {} : { "content-type": "application/json" }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        })
      )
    const created = yield* call("POST", "/v1/jobs", { fileName: "clip.mp4", contentLength: 10 })
    assert.strictEqual(created.statusCode, 201, created.body)
    const jobId: string = JSON.parse(created.body).jobId
    yield* storage.put("outputs", `${jobId}/manifest.mpd`, "<MPD/>")
    return { call, jobId, store: Context.get(backends, JobStore), storage }
  })

describe("DELETE /v1/jobs/{jobId}", () => {
  it.effect("invalidates the job's outputs prefix once the origin no longer has them", () =>
    Effect.gen(function*() {
      const told: Array<{ prefix: string; filesLeft: number }> = []
      const { call, jobId } = yield* lambdaWith((prefix, storage) =>
        Effect.map(Effect.orDie(storage.list("outputs", prefix)), (files) => void told.push({ prefix, filesLeft: files.length }))
      )
      const deleted = yield* call("DELETE", `/v1/jobs/${jobId}`)
      assert.strictEqual(deleted.statusCode, 204, deleted.body)
      assert.deepStrictEqual(told, [{ prefix: `${jobId}/`, filesLeft: 0 }])
    }).pipe(Effect.scoped))

  it.effect("answers 503 and keeps the job when the CDN refuses, so deleting again asks again", () =>
    Effect.gen(function*() {
      let refuse = true
      const told: Array<string> = []
      const { call, jobId, store } = yield* lambdaWith((prefix) => {
        told.push(prefix)
        return refuse ? Effect.fail(new CdnCacheFailed({ prefix, reason: "TooManyInvalidationsInProgress", retryable: true })) : Effect.void
      })
      const first = yield* call("DELETE", `/v1/jobs/${jobId}`)
      assert.strictEqual(first.statusCode, 503, first.body)
      assert.strictEqual((yield* store.get(jobId)).id, jobId)
      refuse = false
      assert.strictEqual((yield* call("DELETE", `/v1/jobs/${jobId}`)).statusCode, 204)
      assert.deepStrictEqual(told, [`${jobId}/`, `${jobId}/`])
      assert.strictEqual((yield* call("GET", `/v1/jobs/${jobId}`)).statusCode, 404)
    }).pipe(Effect.scoped))
})

describe("VIDPIPE_CDN", () => {
  const deployment = (env: Record<string, string>) =>
    Effect.provideService(deploymentConfig, ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(env))

  it.effect("is none by default, or a CloudFront distribution, and nothing else", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual((yield* deployment({})).cdn, { kind: "none" })
      assert.deepStrictEqual((yield* deployment({ VIDPIPE_CDN: "cloudfront://E2MOCK123" })).cdn, { kind: "cloudfront", distributionId: "E2MOCK123" })
      for (const wrong of ["cloudfront://", "https://d111.cloudfront.net", "E2MOCK"]) {
        assert.strictEqual((yield* Effect.flip(deployment({ VIDPIPE_CDN: wrong })))._tag, "InvalidConfiguration", wrong)
      }
    }))

  it.effect("gives every configured layer a CdnCache: CloudFront's invalidates, none's does nothing", () =>
    Effect.gen(function*() {
      cloudFront.on(CreateInvalidationCommand).resolves({})
      for (const [env, calls] of [[{}, 0], [{ VIDPIPE_CDN: "cloudfront://E2MOCK" }, 1]] as const) {
        const context = yield* Layer.build(layerFor(yield* deployment(env), defaultPipelineSettings))
        yield* Context.get(context, CdnCache).forgetPrefix("job-3/")
        assert.strictEqual(cloudFront.commandCalls(CreateInvalidationCommand).length, calls, JSON.stringify(env))
      }
    }).pipe(Effect.scoped))
})
