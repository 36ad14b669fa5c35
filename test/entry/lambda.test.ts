/**
 * The Lambda entry points over the embedded layers: the API handler fed API Gateway (REST, v1)
 * proxy events, and the ingest handler fed S3 ObjectCreated events. Both share one set of
 * services, so a job created through the API is the one ingest finds. Probing (the plan task a
 * worker runs) is scripted.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { Context } from "effect"
import { Effect, Exit, Layer, Schema, Scope } from "effect"
import { JobStoreFailed } from "../../src/domain/Errors.ts"
import type { ApiGatewayProxyEvent, ApiGatewayProxyResult } from "../../src/entry/lambda/apiGatewayProxy.ts"
import { fromResponse, toRequest } from "../../src/entry/lambda/apiGatewayProxy.ts"
import type { ApiHandler } from "../../src/entry/lambda/apiHandler.ts"
import { handler as configuredApiHandler, makeApiHandler } from "../../src/entry/lambda/apiHandler.ts"
import type { IngestHandler, IngestServices } from "../../src/entry/lambda/ingestHandler.ts"
import { IngestIncomplete, makeIngestHandler } from "../../src/entry/lambda/ingestHandler.ts"
import { ObjectCreatedRecord, S3EventKey } from "../../src/entry/lambda/s3Event.ts"
import { ingest as runIngest } from "../../src/programs/ingest.ts"
import { JobQueue } from "../../src/services/JobQueue.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { Storage } from "../../src/services/Storage.ts"
import { UploadSlots } from "../../src/services/UploadSlots.ts"
import { embeddedServices } from "../support/embeddedServices.ts"
import { unusedMultipart } from "../support/unusedMultipart.ts"

const apiKey = "lambda-key"
const root = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-lambda-"))

const uploadSlotsStandIn = Layer.succeed(UploadSlots, UploadSlots.of({
  ...unusedMultipart,
  create: ({ contentLength, jobId }) =>
    Effect.succeed({ url: `https://uploads.test/${jobId}`, method: "PUT" as const, headers: { "Content-Length": String(contentLength) }, expiresAt: Date.now() + 60_000 })
}))

const servicesLayer = Layer.merge(embeddedServices(root), uploadSlotsStandIn)
type Services = Layer.Success<typeof servicesLayer>

// Built once and handed to both handlers, so they see the same in-memory store and queue.
const scope = Scope.makeUnsafe()
let services: Context.Context<Services>
let api: ApiHandler
let ingest: IngestHandler
const run = <A, E>(effect: Effect.Effect<A, E, Services>) => Effect.runPromise(Effect.provideContext(effect, services))
const getJob = (jobId: string) => run(Effect.gen(function*() {
  return yield* (yield* JobStore).get(jobId)
}))
const putSource = (key: string) => run(Effect.gen(function*() {
  yield* (yield* Storage).put("uploads", key, "video")
}))
const queueDepth = () => run(Effect.gen(function*() {
  return yield* (yield* JobQueue).depth
}))

beforeAll(async () => {
  services = await Effect.runPromise(Layer.buildWithScope(servicesLayer, scope))
  api = makeApiHandler(Layer.succeedContext(services), { deliveryBase: "https://cdn.test", apiKeys: [apiKey], maxUploadBytes: 1_000_000 })
  ingest = makeIngestHandler(Layer.succeedContext(services))
})

afterAll(async () => {
  await api.dispose()
  await ingest.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  fs.rmSync(root, { recursive: true, force: true })
})

const proxyEvent = (event: Partial<ApiGatewayProxyEvent> & { readonly httpMethod: string }): ApiGatewayProxyEvent => ({
  resource: "/{proxy+}",
  headers: { "x-api-key": apiKey, "content-type": "application/json", host: "abc.execute-api.eu-west-1.amazonaws.com" },
  body: null,
  isBase64Encoded: false,
  ...event
})

const json = (result: ApiGatewayProxyResult) => {
  assert.isFalse(result.isBase64Encoded)
  assert.match(result.headers["content-type"] ?? "", /^application\/json/)
  return JSON.parse(result.body)
}

const createJob = async (fileName = "clip.mp4") => {
  const result = await api(proxyEvent({ httpMethod: "POST", path: "/v1/jobs", body: JSON.stringify({ fileName, contentLength: 1234 }) }))
  assert.strictEqual(result.statusCode, 201, result.body)
  return json(result).jobId as string
}

/** An S3 ObjectCreated record as S3 sends it: the key URL-encoded with `+` for spaces. */
const s3Record = (key: string, eventName = "ObjectCreated:Put") => ({
  eventVersion: "2.1",
  eventSource: "aws:s3",
  eventName,
  s3: { bucket: { name: "vidpipe-uploads" }, object: { key: key.split("/").map((p) => encodeURIComponent(p).replace(/%20/g, "+")).join("/"), size: 5 } }
})

describe("API handler (API Gateway REST proxy)", () => {
  it("creates a job with a valid key: 201 JSON with a jobId", async () => {
    const result = await api(proxyEvent({ httpMethod: "POST", path: "/v1/jobs", body: JSON.stringify({ fileName: "a.mp4", contentLength: 10 }) }))
    assert.strictEqual(result.statusCode, 201, result.body)
    const body = json(result)
    assert.isString(body.jobId)
    assert.strictEqual(body.upload.url, `https://uploads.test/${body.jobId}`)
    assert.strictEqual((await getJob(body.jobId)).status, "awaiting-upload")
  })

  it("refuses a missing key with 401 JSON and an unknown one with 403", async () => {
    const missing = await api(proxyEvent({ httpMethod: "GET", path: "/v1/jobs", headers: { host: "h" } }))
    assert.strictEqual(missing.statusCode, 401)
    assert.strictEqual(json(missing).error._tag, "MissingApiKey")
    const wrong = await api(proxyEvent({ httpMethod: "GET", path: "/v1/jobs", headers: { "x-api-key": "nope" } }))
    assert.strictEqual(wrong.statusCode, 403)
  })

  it("answers GET /v1/jobs/{jobId} with the job view, from path or from resource + pathParameters", async () => {
    const jobId = await createJob()
    const byPath = await api(proxyEvent({ httpMethod: "GET", path: `/v1/jobs/${jobId}` }))
    assert.strictEqual(byPath.statusCode, 200, byPath.body)
    const view = json(byPath)
    assert.strictEqual(view.jobId, jobId)
    assert.strictEqual(view.status, "awaiting-upload")
    assert.deepStrictEqual(view.tasks, [])
    const byResource = await api(proxyEvent({ httpMethod: "GET", path: null, resource: "/v1/jobs/{jobId}", pathParameters: { jobId } }))
    assert.deepStrictEqual(json(byResource), view)
  })

  it("answers 404 JSON for an unknown job", async () => {
    const result = await api(proxyEvent({ httpMethod: "GET", path: "/v1/jobs/nosuchjob" }))
    assert.strictEqual(result.statusCode, 404)
    assert.strictEqual(json(result).error._tag, "JobNotFound")
  })

  it("accepts a base64-encoded body", async () => {
    const body = Buffer.from(JSON.stringify({ fileName: "b64.mp4", contentLength: 99 })).toString("base64")
    const result = await api(proxyEvent({ httpMethod: "POST", path: "/v1/jobs", body, isBase64Encoded: true }))
    assert.strictEqual(result.statusCode, 201, result.body)
    assert.isString(json(result).jobId)
  })

  it("reads multi-value headers and query parameters", async () => {
    await createJob()
    await createJob()
    const result = await api({
      httpMethod: "GET",
      path: "/v1/jobs",
      multiValueHeaders: { "x-api-key": [apiKey], accept: ["application/json", "*/*"] },
      multiValueQueryStringParameters: { limit: ["1"] }
    })
    assert.strictEqual(result.statusCode, 200, result.body)
    const page = json(result)
    assert.lengthOf(page.jobs, 1)
    assert.isString(page.nextCursor)

    const request = toRequest({
      httpMethod: "GET",
      path: "/v1/jobs",
      headers: { accept: "*/*" },
      multiValueHeaders: { accept: ["application/json", "*/*"] },
      queryStringParameters: { tag: "b" },
      multiValueQueryStringParameters: { tag: ["a", "b"], q: ["x y"] }
    })
    assert.strictEqual(request.headers.get("accept"), "application/json, */*")
    assert.deepStrictEqual(new URL(request.url).searchParams.getAll("tag"), ["a", "b"])
    assert.strictEqual(new URL(request.url).searchParams.get("q"), "x y")
  })

  it("returns binary bodies as base64 and several cookies as multi-value headers", async () => {
    const headers = new Headers([["content-type", "video/mp4"], ["set-cookie", "a=1"], ["set-cookie", "b=2"], ["connection", "close"]])
    const result = await fromResponse(new Response(new Uint8Array([0, 1, 2, 255]), { status: 206, headers }))
    assert.deepStrictEqual(result, {
      statusCode: 206,
      headers: { "content-type": "video/mp4" },
      multiValueHeaders: { "set-cookie": ["a=1", "b=2"] },
      body: Buffer.from([0, 1, 2, 255]).toString("base64"),
      isBase64Encoded: true
    })
  })
})

describe("API handler: a key sees only its own jobs (owner = API Gateway's usage plan key id)", () => {
  const keyA = "lambda-key-a"
  const keyB = "lambda-key-b"
  const admin = "lambda-admin"
  let tenants: ApiHandler
  beforeAll(() => {
    tenants = makeApiHandler(Layer.succeedContext(services), {
      deliveryBase: "https://cdn.test",
      apiKeys: [keyA, keyB],
      adminApiKeys: [admin],
      gatewayKeyIds: true,
      maxUploadBytes: 1_000_000
    })
  })
  afterAll(() => tenants.dispose())

  /** An event as API Gateway sends it after checking the key: `requestContext.identity.apiKeyId` names it. */
  const as = (key: string, apiKeyId: string, httpMethod: string, path: string, extraHeaders: Record<string, string> = {}) =>
    tenants(proxyEvent({
      httpMethod,
      path,
      headers: { "x-api-key": key, "content-type": "application/json", host: "abc.execute-api.eu-west-1.amazonaws.com", ...extraHeaders },
      requestContext: { domainName: "abc.execute-api.eu-west-1.amazonaws.com", identity: { apiKeyId } },
      ...(httpMethod === "POST" && path === "/v1/jobs" ? { body: JSON.stringify({ fileName: "t.mp4", contentLength: 10 }) } : {})
    }))

  it("answers another key 404 for read, retry and delete, lists only the caller's jobs, and an admin key sees all", async () => {
    const created = await as(keyA, "idA", "POST", "/v1/jobs")
    assert.strictEqual(created.statusCode, 201, created.body)
    const jobA = json(created).jobId as string
    assert.strictEqual((await getJob(jobA)).owner, "apigw_idA")
    const jobB = json(await as(keyB, "idB", "POST", "/v1/jobs")).jobId as string

    for (const [method, path] of [["GET", `/v1/jobs/${jobA}`], ["POST", `/v1/jobs/${jobA}/retry`], ["DELETE", `/v1/jobs/${jobA}`]] as const) {
      const answer = await as(keyB, "idB", method, path)
      assert.strictEqual(answer.statusCode, 404, `${method} ${path}: ${answer.body}`)
      assert.strictEqual(json(answer).error._tag, "JobNotFound")
    }
    // A client cannot claim another usage plan key's id: API Gateway's requestContext decides.
    const forged = await as(keyB, "idB", "GET", `/v1/jobs/${jobA}`, { "x-vidpipe-gateway-key-id": "idA" })
    assert.strictEqual(forged.statusCode, 404, forged.body)

    const ids = async (key: string, apiKeyId: string) => (json(await as(key, apiKeyId, "GET", "/v1/jobs?limit=100")).jobs as Array<{ jobId: string }>).map((j) => j.jobId)
    assert.deepStrictEqual(await ids(keyB, "idB"), [jobB])
    assert.deepStrictEqual(await ids(keyA, "idA"), [jobA])
    assert.strictEqual((await getJob(jobA)).status, "awaiting-upload", "untouched")
    const all = await ids(admin, "idAdmin")
    assert.includeMembers(all, [jobA, jobB])
    assert.strictEqual((await as(admin, "idAdmin", "GET", `/v1/jobs/${jobA}`)).statusCode, 200)
  })
})

describe("default API handler", () => {
  it("takes its backends, keys and interim upload slots from VIDPIPE_* variables", async () => {
    const saved = { ...process.env }
    Object.assign(process.env, {
      VIDPIPE_STORAGE: `file://${path.join(root, "configured")}`,
      VIDPIPE_API_KEYS: " k1, k2 ",
      VIDPIPE_PUBLIC_URL: "https://serve.test/",
      VIDPIPE_UPLOAD_SECRET: "shared-secret"
    })
    try {
      const event = proxyEvent({ httpMethod: "POST", path: "/v1/jobs", body: JSON.stringify({ fileName: "c.mp4", contentLength: 10 }) })
      const created = await configuredApiHandler({ ...event, headers: { ...event.headers, "x-api-key": "k2" } })
      assert.strictEqual(created.statusCode, 201, created.body)
      assert.match(json(created).upload.url, /^https:\/\/serve\.test\/upload\/\w+\?expires=\d+&signature=/)
      assert.strictEqual((await configuredApiHandler(event)).statusCode, 403)
    } finally {
      process.env = saved
    }
  })
})

describe("ingest handler (S3 ObjectCreated)", () => {
  it("accepts an uploaded source (URL-encoded key with a space): the job's plan task goes on the queue", async () => {
    const jobId = await createJob("My Clip.mp4")
    const job = await getJob(jobId)
    assert.strictEqual(job.sourceKey, `${jobId}/My Clip.mp4`)
    await putSource(job.sourceKey)

    const record = s3Record(job.sourceKey)
    assert.strictEqual(record.s3.object.key, `${jobId}/My+Clip.mp4`)
    const before = (await queueDepth()).visible
    const result = await ingest({ Records: [record] })
    assert.deepStrictEqual(result, { accepted: [{ bucket: "vidpipe-uploads", key: job.sourceKey, jobId, size: 5 }], rejected: [] })

    // A worker plans it, with its own ffprobe: the Lambda only sends the plan task.
    const after = await getJob(jobId)
    assert.strictEqual(after.status, "queued")
    assert.lengthOf(after.tasks, 0)
    assert.strictEqual((await queueDepth()).visible, before + 1)

    // S3 may deliver an event twice. Before the plan ran, the plan is sent again (that also
    // covers an invocation that recorded the upload but failed to send), and the queue drops it.
    const again = await ingest({ Records: [record] })
    assert.lengthOf(again.accepted, 1)
    assert.strictEqual((await queueDepth()).visible, before + 1)

    // Once planned, a duplicate is reported, not accepted.
    await run(runIngest(jobId))
    const late = await ingest({ Records: [record] })
    assert.lengthOf(late.accepted, 0)
    assert.match(late.rejected[0]?.reason ?? "", /duplicate/)
  })

  it("reports a malformed event instead of throwing", async () => {
    for (const event of [undefined, "garbage", {}, { Records: "x" }]) {
      const result = await ingest(event)
      assert.lengthOf(result.accepted, 0)
      assert.lengthOf(result.rejected, 1)
      assert.match(result.rejected[0]?.reason ?? "", /not an S3 event/)
    }
  })

  it("rejects unknown keys, other events and broken records, each on its own", async () => {
    const jobId = await createJob("solo.mp4")
    await putSource(`${jobId}/solo.mp4`)
    const result = await ingest({
      Records: [
        s3Record("nosuchjob/clip.mp4"),
        s3Record(`${jobId}/other.mp4`),
        s3Record("no-folder.mp4"),
        s3Record(`${jobId}/solo.mp4`, "ObjectRemoved:Delete"),
        { eventName: "ObjectCreated:Put", s3: { bucket: { name: "b" }, object: { key: "bad%zzkey", size: 1 } } },
        { eventName: "ObjectCreated:Put" },
        s3Record(`${jobId}/solo.mp4`)
      ]
    })
    assert.deepStrictEqual(result.accepted.map((a) => a.jobId), [jobId])
    const reasons = result.rejected.map((r) => `${r.key ?? "-"} => ${r.reason}`)
    assert.lengthOf(reasons, 6, reasons.join("\n"))
    assert.match(reasons[0] ?? "", /^nosuchjob\/clip\.mp4 => no job nosuchjob/)
    assert.match(reasons[1] ?? "", /expects its source at/)
    assert.match(reasons[2] ?? "", /not a job's upload key/)
    assert.match(reasons[3] ?? "", /ObjectCreated:/)
    assert.match(reasons[4] ?? "", /^bad%zzkey => .*URL-encoded/)
    assert.match(reasons[5] ?? "", /^- => .*s3/)
    assert.isTrue(result.rejected.every((r) => !r.retryable))
  })

  it("throws when a backend fails, so Lambda retries the event", async () => {
    const failing = new JobStoreFailed({ operation: "get", reason: "connection refused", retryable: true })
    const brokenStore = Layer.succeed(JobStore, JobStore.of({
      create: () => Effect.fail(failing),
      get: () => Effect.fail(failing),
      update: () => Effect.fail(failing),
      list: () => Effect.fail(failing),
      delete: () => Effect.fail(failing)
    }))
    const broken = makeIngestHandler(Layer.merge(Layer.succeedContext(services as Context.Context<IngestServices>), brokenStore))
    try {
      const error = await broken({ Records: [s3Record("somejob/clip.mp4")] }).then(() => undefined, (e: unknown) => e)
      assert.instanceOf(error, IngestIncomplete)
      assert.isTrue((error as IngestIncomplete).result.rejected[0]?.retryable)
    } finally {
      await broken.dispose()
    }
  })
})

/** AWS's documented sample events, read from disk and passed unmodified (test/fixtures/aws/README.md). */
const awsSample = (file: string): any => JSON.parse(fs.readFileSync(new URL(`../fixtures/aws/${file}`, import.meta.url), "utf8"))

describe("documented AWS sample events", () => {
  /** file, then what its one record decodes to: bucket, key as S3 sent it, key decoded, size. */
  const s3Samples = [
    ["s3-object-created.json", "mybucket", "HappyFace.jpg", "HappyFace.jpg", 1024],
    ["s3-object-created-plus-for-space.json", "mybucket", "red+flower.jpg", "red flower.jpg", 1024],
    ["s3-object-created-lambda-guide.json", "DOC-EXAMPLE-BUCKET", "b21b84d653bb07b05b1e6b33684dc11b", "b21b84d653bb07b05b1e6b33684dc11b", 1305107],
    ["s3-object-created-percent-encoded.json", "sourcebucket", "Happy%20Face.jpg", "Happy Face.jpg", 1024]
  ] as const

  it.each(s3Samples)("S3 %s: the record decodes, its URL-encoded key decoded", (file, bucket, rawKey, key, size) => {
    const event = awsSample(file)
    assert.strictEqual(event.Records[0].s3.object.key, rawKey)
    const record = Schema.decodeUnknownSync(ObjectCreatedRecord)(event.Records[0])
    assert.deepStrictEqual({ bucket: record.s3.bucket.name, key: record.s3.object.key, size: record.s3.object.size }, { bucket, key, size })
  })

  it.each(s3Samples)("S3 %s: ingest reads it and refuses its key, which is no job's upload (<jobId>/<fileName>)", async (file, _bucket, rawKey, key) => {
    const result = await ingest(awsSample(file))
    assert.deepStrictEqual(result.accepted, [])
    assert.deepStrictEqual(result.rejected, [{ key: rawKey, reason: `${key} is not a job's upload key (<jobId>/<fileName>)`, retryable: false }])
  })

  it("S3 keys: '+' is a space and percent escapes are decoded, as AWS's own examples decode them", () => {
    // AWS: "The object key name value is URL encoded. For example, "red flower.jpg" becomes
    // "red+flower.jpg""; its Node.js tutorial decodes with decodeURIComponent(key.replace(/\+/g, ' ')).
    const decode = Schema.decodeUnknownSync(S3EventKey)
    assert.strictEqual(decode("red+flower.jpg"), "red flower.jpg")
    assert.strictEqual(decode("Happy%20Face.jpg"), "Happy Face.jpg")
    assert.strictEqual(decode("job1/a%2Bb+c.mp4"), "job1/a+b c.mp4")
    assert.strictEqual(decode("job1/caf%C3%A9+%281%29+100%25.mp4"), "job1/café (1) 100%.mp4")
    assert.throws(() => decode("bad%zzkey"))
  })

  it("API Gateway's documented proxy input (no API key): the request it becomes, and our answer", async () => {
    const event = awsSample("apigateway-proxy-input-format.json")
    const request = toRequest(event)
    assert.strictEqual(request.method, "GET")
    assert.strictEqual(request.url, "https://id.execute-api.us-east-1.amazonaws.com/my/path?parameter1=value1&parameter1=value2&parameter2=value")
    assert.strictEqual(request.headers.get("header2"), "value1, value2")
    assert.isNull(request.body)
    // No route of ours is /my/path: the router's 404, not the 500 of an event that could not be read.
    const result = await api(event)
    assert.strictEqual(result.statusCode, 404, result.body)
  })

  it("an API Gateway proxy event with requestContext.identity.apiKey and apiKeyId: the request it becomes, and our answer", async () => {
    const event = awsSample("apigateway-proxy-api-key.json")
    assert.strictEqual(event.requestContext.identity.apiKey, "theApiKey")
    assert.strictEqual(event.requestContext.identity.apiKeyId, "theApiKeyId")
    const request = toRequest(event)
    assert.strictEqual(request.method, "POST")
    assert.strictEqual(request.url, "https://gy415nuibc.execute-api.us-east-1.amazonaws.com/hello/world?name=me")
    assert.strictEqual(request.headers.get("content-type"), "application/json")
    assert.strictEqual(await request.text(), "{\r\n\t\"a\": 1\r\n}")
    // No route of ours is /hello/world: the router's 404, not the 500 of an event that could not be read.
    const result = await api(event)
    assert.strictEqual(result.statusCode, 404, result.body)
  })
})
