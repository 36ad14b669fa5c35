/**
 * One JobNotFound: the job store's error (domain/Errors.ts) is what the API answers with, as a
 * 404 whose body is exactly `{ "error": { "_tag": "JobNotFound", "message": "no job <id>",
 * "field": "jobId" } }`, the same for a job that does not exist and for another key's; a client
 * decodes the body back into the store's error. And a created job's segment length comes from
 * PipelineSettings, the one place it is set.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { Context } from "effect"
import { Effect, Exit, Layer, Schema, Scope } from "effect"
import { JobNotFound } from "../../src/domain/Errors.ts"
import { JobNotFoundResponse } from "../../src/entry/http/api/ApiErrors.ts"
import type { ApiGatewayProxyEvent } from "../../src/entry/lambda/apiGatewayProxy.ts"
import type { ApiHandler } from "../../src/entry/lambda/apiHandler.ts"
import { makeApiHandler } from "../../src/entry/lambda/apiHandler.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { defaultPipelineSettings, PipelineSettings } from "../../src/services/PipelineSettings.ts"
import { UploadSlots } from "../../src/services/UploadSlots.ts"
import { embeddedServices } from "../support/embeddedServices.ts"
import { unusedMultipart } from "../support/unusedMultipart.ts"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-notfound-"))
const uploadSlotsStandIn = Layer.succeed(UploadSlots, UploadSlots.of({
  ...unusedMultipart,
  create: ({ jobId }) => Effect.succeed({ url: `https://uploads.test/${jobId}`, method: "PUT" as const, headers: {}, expiresAt: Date.now() + 60_000 })
}))
// A segment length other than the default, so a job made with a literal of its own would show.
const segmentSeconds = defaultPipelineSettings.segmentSeconds + 2
const servicesLayer = Layer.mergeAll(embeddedServices(root), uploadSlotsStandIn, Layer.succeed(PipelineSettings, { ...defaultPipelineSettings, segmentSeconds }))

// Built once, so the test reads the store the handler writes.
const scope = Scope.makeUnsafe()
let services: Context.Context<Layer.Success<typeof servicesLayer>>
let api: ApiHandler
beforeAll(async () => {
  services = await Effect.runPromise(Layer.buildWithScope(servicesLayer, scope))
  api = makeApiHandler(Layer.succeedContext(services), { deliveryBase: "https://cdn.test", apiKeys: ["key-a", "key-b"], maxUploadBytes: 1_000_000 })
})
afterAll(async () => {
  await api.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  fs.rmSync(root, { recursive: true, force: true })
})

const call = (key: string, httpMethod: string, urlPath: string, body: unknown = null) => {
  const event: ApiGatewayProxyEvent = {
    resource: "/{proxy+}",
    httpMethod,
    path: urlPath,
    headers: { "x-api-key": key, "content-type": "application/json", host: "api.test" },
    body: body === null ? null : JSON.stringify(body),
    isBase64Encoded: false
  }
  return api(event).then((result) => ({ status: result.statusCode, body: JSON.parse(result.body) }))
}

const notFoundAnswer = (jobId: string) => ({ status: 404, body: { error: { _tag: "JobNotFound", message: `no job ${jobId}`, field: "jobId" } } })

describe("one JobNotFound", () => {
  it("a job that does not exist: 404 with exactly the envelope, on get, delete and retry", async () => {
    assert.deepStrictEqual(await call("key-a", "GET", "/v1/jobs/nosuchjob"), notFoundAnswer("nosuchjob"))
    assert.deepStrictEqual(await call("key-a", "DELETE", "/v1/jobs/nosuchjob"), notFoundAnswer("nosuchjob"))
    assert.deepStrictEqual(await call("key-a", "POST", "/v1/jobs/nosuchjob/retry"), notFoundAnswer("nosuchjob"))
  })

  it("another key's job: the same answer, naming the id asked for; its owner gets it, made with the settings' segment length", async () => {
    const created = await call("key-a", "POST", "/v1/jobs", { fileName: "clip.mp4", contentLength: 10 })
    assert.strictEqual(created.status, 201)
    const jobId: string = created.body.jobId
    assert.deepStrictEqual(await call("key-b", "GET", `/v1/jobs/${jobId}`), notFoundAnswer(jobId))
    assert.deepStrictEqual(await call("key-b", "POST", `/v1/jobs/${jobId}/retry`), notFoundAnswer(jobId))
    assert.strictEqual((await call("key-a", "GET", `/v1/jobs/${jobId}`)).status, 200)
    const job = await Effect.runPromise(Effect.provideContext(Effect.flatMap(JobStore, (store) => store.get(jobId)), services))
    assert.strictEqual(job.segmentSeconds, segmentSeconds)
  })

  it.effect("the body decodes back into the store's JobNotFound, with its jobId", () =>
    Effect.gen(function*() {
      const body = yield* Schema.encodeEffect(JobNotFoundResponse)(new JobNotFound({ jobId: "j-42" }))
      assert.deepStrictEqual<unknown>(body, notFoundAnswer("j-42").body)
      const decoded = yield* Schema.decodeUnknownEffect(JobNotFoundResponse)(body)
      assert.instanceOf(decoded, JobNotFound)
      assert.strictEqual(decoded.jobId, "j-42")
    }))
})
