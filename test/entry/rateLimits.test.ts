/**
 * Limits per key over real HTTP, on `vidpipe serve`'s server (serverLayer on 127.0.0.1, port 0):
 * a burst above the rate is refused with 429, Retry-After and the API's error shape while every
 * accepted job is stored and another key is unaffected; the daily job quota (failed creations
 * give their slot back, admin keys have none); the bound on uploads in flight per key; the
 * configuration's defaults and refusals; and that routes built without limits (the API Lambda's)
 * apply none.
 *
 * Nothing here depends on timing: the rate is 0.01 requests a second, so no token comes back
 * within a test, and held uploads are held until the test lets them finish.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { request as httpRequest } from "node:http"
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { afterAll, assert, describe, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, References } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { keyIdFor } from "../../src/entry/http/api/ApiKeys.ts"
import type { KeyLimits } from "../../src/entry/http/api/RateLimits.ts"
import { rateLimitsConfig } from "../../src/entry/http/api/rateLimitsConfig.ts"
import { apiRoutes } from "../../src/entry/http/api/routes.ts"
import type { ServeOptions } from "../../src/entry/http/serve.ts"
import { serverLayer } from "../../src/entry/http/serve.ts"
import { areaFoldersUnder, folderStorageLayer } from "../../src/layers/local/FolderStorage.ts"
import { memoryCoordinatorLayer } from "../../src/layers/local/MemoryCoordinator.ts"
import { memoryJobQueueLayer } from "../../src/layers/local/MemoryJobQueue.ts"
import { memoryJobStoreLayer } from "../../src/layers/local/MemoryJobStore.ts"
import { noCdnCacheLayer } from "../../src/layers/local/NoCdnCache.ts"
import { signUpload } from "../../src/layers/local/uploadSignature.ts"
import { newJob } from "../../src/programs/jobRecords.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { Storage } from "../../src/services/Storage.ts"
import { UploadSlots } from "../../src/services/UploadSlots.ts"
import { embeddedServices, webhookServices } from "../support/embeddedServices.ts"
import { unusedMultipart } from "../support/unusedMultipart.ts"

const keyA = "limits-key-a"
const keyB = "limits-key-b"
const adminKey = "limits-admin-key"
const uploadSecret = "limits-upload-secret"
const roots: Array<string> = []
afterAll(() => roots.forEach((root) => fs.rmSync(root, { recursive: true, force: true })))

/** `vidpipe serve`'s server with these limits, its backends exposed to the test. */
const serve = (limits: KeyLimits) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-limits-"))
  roots.push(root)
  // The delivery route resolves its folder at start (vidpipe serve makes it first).
  fs.mkdirSync(path.join(root, "outputs"))
  const services = embeddedServices(root)
  const options: ServeOptions = {
    port: 0,
    host: "127.0.0.1",
    workers: 0,
    apiKeys: [keyA, keyB],
    adminApiKeys: [adminKey],
    uploadSecret,
    outputsDir: path.join(root, "outputs"),
    publicUrl: "",
    maxUploadBytes: 1_000_000,
    // Long enough that a refused upload can be sent again with the same URL.
    uploadExpiry: "10 minutes",
    instanceId: "limits-test",
    corsOrigins: [],
    limits
  }
  return serverLayer(options).pipe(Layer.provideMerge(services))
}

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: any
}

const parse = (text: string) => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Several requests sent at once (a burst); answers in the order given. */
const burst = (requests: ReadonlyArray<{ readonly method: string; readonly url: string; readonly key: string; readonly body?: unknown }>) =>
  Effect.gen(function*() {
    const base = yield* HttpServer.addressFormattedWith(Effect.succeed)
    return yield* Effect.promise(() =>
      Promise.all(requests.map(async ({ method, url, key, body }): Promise<Answer> => {
        const headers: Record<string, string> = { "x-api-key": key }
        if (body !== undefined) headers["content-type"] = "application/json"
        const response = await fetch(`${base}${url}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
        const text = await response.text()
        return { status: response.status, headers: response.headers, text, json: parse(text) }
      }))
    )
  })

const call = (method: string, url: string, key: string, body?: unknown) =>
  Effect.map(burst([{ method, url, key, ...(body === undefined ? {} : { body }) }]), (answers) => answers[0]!)

const createJob = (key: string, contentLength = 1234) =>
  ({ method: "POST", url: "/v1/jobs", key, body: { fileName: "clip.mp4", contentLength } }) as const

const creations = (key: string, count: number) => Array.from({ length: count }, () => createJob(key))

/** A 429 in the API's error shape with a whole, positive Retry-After; returns its seconds. */
const assertTooManyRequests = (answer: Answer, maxSeconds: number) => {
  assert.strictEqual(answer.status, 429, answer.text)
  assert.include(answer.headers.get("content-type") ?? "", "application/json")
  assert.strictEqual(answer.json?.error?._tag, "TooManyRequests", answer.text)
  assert.isString(answer.json.error.message)
  assert.isNotEmpty(answer.json.error.message)
  const retryAfter = answer.headers.get("retry-after")
  assert.match(retryAfter ?? "", /^[1-9]\d*$/, `Retry-After: ${retryAfter}`)
  assert.isAtMost(Number(retryAfter), maxSeconds)
  return Number(retryAfter)
}

/** The jobs the store holds for `key`, by id. */
const storedJobsOf = (key: string) =>
  Effect.gen(function*() {
    const jobs = yield* (yield* JobStore).list({ owner: keyIdFor(key), limit: 1000 })
    return new Set(jobs.map((job) => job.id))
  })

describe("rate limit per key", () => {
  // No token comes back within a test: a refill takes 100 s.
  layer(serve({ rate: 0.01, burst: 3, dailyJobs: 0, uploadsPerKey: 0 }), { excludeTestServices: true })("", (it) => {
    it.effect("refuses a burst above the limit with 429 and Retry-After, stores every accepted job and nothing refused, and leaves another key alone", () =>
      Effect.gen(function*() {
        // Key A sends 8 at once, key B 3 (its whole bucket) at the same moment.
        const answers = yield* burst([...creations(keyA, 8), ...creations(keyB, 3)])
        const fromA = answers.slice(0, 8)
        const fromB = answers.slice(8)

        const acceptedA = fromA.filter((a) => a.status === 201)
        const refusedA = fromA.filter((a) => a.status !== 201)
        assert.strictEqual(acceptedA.length, 3, fromA.map((a) => a.status).join(","))
        assert.strictEqual(refusedA.length, 5)
        // A token comes back in 100 s; nothing sooner is promised.
        for (const refused of refusedA) assertTooManyRequests(refused, 100)

        assert.deepStrictEqual(fromB.map((a) => a.status), [201, 201, 201], fromB.map((a) => a.text).join("\n"))

        // Nothing accepted is lost, nothing refused was stored.
        const accepted = (of: ReadonlyArray<Answer>) => new Set(of.filter((a) => a.status === 201).map((a) => a.json.jobId as string))
        assert.deepStrictEqual(yield* storedJobsOf(keyA), accepted(fromA))
        assert.deepStrictEqual(yield* storedJobsOf(keyB), accepted(fromB))
        const store = yield* JobStore
        for (const jobId of accepted(fromA)) assert.strictEqual((yield* store.get(jobId)).status, "awaiting-upload")

        // The rate covers every endpoint, not only creations; an admin key has a bucket of its own.
        assertTooManyRequests(yield* call("GET", "/v1/jobs", keyA), 100)
        const listed = yield* call("GET", "/v1/jobs?limit=100", adminKey)
        assert.strictEqual(listed.status, 200, listed.text)
        assert.strictEqual(listed.json.jobs.length, 6)
      }))

    it.effect("lists the 429 and its Retry-After in the OpenAPI document", () =>
      Effect.gen(function*() {
        const base = yield* HttpServer.addressFormattedWith(Effect.succeed)
        const document = yield* Effect.promise(() => fetch(`${base}/v1/openapi.json`).then((r) => r.json() as Promise<any>))
        const tooMany = document.paths["/v1/jobs"].post.responses["429"]
        assert.isDefined(tooMany, JSON.stringify(Object.keys(document.paths["/v1/jobs"].post.responses)))
        assert.containsAllKeys(Object.fromEntries(Object.keys(tooMany.headers ?? {}).map((h) => [h.toLowerCase(), true])), ["retry-after"])
      }))
  })
})

describe("daily job quota per key", () => {
  layer(serve({ rate: 0, burst: 1, dailyJobs: 2, uploadsPerKey: 0 }), { excludeTestServices: true })("", (it) => {
    it.effect("refuses the creation past the quota with 429 and Retry-After, counts only jobs created, and leaves other keys and admin keys alone", () =>
      Effect.gen(function*() {
        assert.strictEqual((yield* call("POST", "/v1/jobs", keyA, createJob(keyA).body)).status, 201)
        // Refused creations (a 400 from the schema, one from the handler) do not use the quota.
        assert.strictEqual((yield* call("POST", "/v1/jobs", keyA, { contentLength: 1234 })).status, 400)
        assert.strictEqual((yield* call("POST", "/v1/jobs", keyA, createJob(keyA, 2_000_000).body)).status, 400)
        assert.strictEqual((yield* call("POST", "/v1/jobs", keyA, createJob(keyA).body)).status, 201)

        const [past, again] = yield* burst(creations(keyA, 2))
        // At most a day away: the quota is per UTC day.
        assertTooManyRequests(past!, 86_400)
        assertTooManyRequests(again!, 86_400)
        assert.strictEqual((yield* storedJobsOf(keyA)).size, 2)

        // Reading is not creating: the key still works for everything else.
        assert.strictEqual((yield* call("GET", "/v1/jobs", keyA)).status, 200)
        // Another key has its own quota; an admin key has none.
        assert.deepStrictEqual((yield* burst(creations(keyB, 2))).map((a) => a.status), [201, 201])
        assert.deepStrictEqual((yield* burst(creations(adminKey, 4))).map((a) => a.status), [201, 201, 201, 201])
      }))
  })
})

/** A PUT whose body is held after its first half until `finish`, so the upload stays in flight. */
const heldPut = (url: string, body: Uint8Array) => {
  const req = httpRequest(url, { method: "PUT", headers: { "content-length": String(body.length) } })
  let answered = false
  const answer = new Promise<{ status: number; retryAfter: string | undefined; json: any }>((resolve, reject) => {
    req.on("response", (res) => {
      answered = true
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (text += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined, json: parse(text) }))
    })
    req.on("error", reject)
  })
  const half = Math.floor(body.length / 2)
  req.write(body.subarray(0, half))
  return {
    answer,
    answered: () => answered,
    finish: () => {
      req.end(body.subarray(half))
      return answer
    },
    abort: () => req.destroy()
  }
}

const putWhole = (url: string, body: Uint8Array) => {
  const held = heldPut(url, body)
  return held.finish()
}

describe("uploads in flight per key", () => {
  layer(serve({ rate: 0, burst: 1, dailyJobs: 0, uploadsPerKey: 2 }), { excludeTestServices: true })("", (it) => {
    it.effect("refuses one upload more than the bound with 429 and Retry-After, storing nothing, and accepts it once the others finished", () => {
      // Held requests left open by a failing assertion are closed at the end.
      const opened: Array<{ readonly abort: () => void }> = []
      return Effect.gen(function*() {
        const body = new Uint8Array(64 * 1024).fill(7)
        const created = yield* burst([...Array.from({ length: 3 }, () => createJob(keyA, body.length)), createJob(keyB, body.length)])
        for (const answer of created) assert.strictEqual(answer.status, 201, answer.text)
        const [a1, a2, a3, b1] = created.map((a) => a.json as { jobId: string; upload: { url: string } })

        // Three of key A's uploads at once, each held after half its body: two take the key's two
        // places (and hold them until finished), the third is refused, whichever it is.
        const held = [a1!, a2!, a3!].map((job) => ({ job, put: heldPut(job.upload.url, body) }))
        opened.push(...held.map(({ put }) => put))
        const refused = yield* Effect.promise(() =>
          Promise.race(held.map(({ job, put }) => put.answer.then((answer) => ({ job, answer }))))
        ).pipe(Effect.timeoutOrElse({ duration: "60 seconds", orElse: () => Effect.die(new Error("no upload was refused")) }))
        assert.strictEqual(refused.answer.status, 429, JSON.stringify(refused.answer.json))
        assert.strictEqual(refused.answer.retryAfter, "1")
        assert.strictEqual(refused.answer.json?.error?._tag, "TooManyRequests")
        assert.isString(refused.answer.json.error.message)
        const inFlight = held.filter(({ job }) => job !== refused.job)
        assert.strictEqual(inFlight.length, 2)
        for (const { put } of inFlight) assert.isFalse(put.answered(), "a held upload cannot have finished")

        const store = yield* JobStore
        const storage = yield* Storage
        const refusedJob = yield* store.get(refused.job.jobId)
        assert.strictEqual(refusedJob.status, "awaiting-upload")
        assert.isTrue(Option.isNone(yield* storage.head("uploads", refusedJob.sourceKey)), "a refused upload stores nothing")

        // Meanwhile another key's upload goes through, and so does one for a job without an owner
        // (made by the CLI): those are not bounded.
        assert.strictEqual((yield* Effect.promise(() => putWhole(b1!.upload.url, body))).status, 200)
        yield* store.create(newJob({ id: "unowned", fileName: "cli.mp4", sourceKey: "unowned/cli.mp4", outputPrefix: "unowned/", segmentSeconds: 4, now: Date.now(), status: "awaiting-upload" }))
        const expires = Date.now() + 600_000
        const signature = signUpload(uploadSecret, { method: "PUT", key: "unowned/cli.mp4", contentLength: body.length, expires })
        const base = yield* HttpServer.addressFormattedWith(Effect.succeed)
        assert.strictEqual((yield* Effect.promise(() => putWhole(`${base}/upload/unowned?expires=${expires}&signature=${signature}`, body))).status, 200)

        // The held uploads finish; their places are free again, and the refused one succeeds.
        for (const { put } of inFlight) assert.strictEqual((yield* Effect.promise(() => put.finish())).status, 200)
        assert.strictEqual((yield* Effect.promise(() => putWhole(refused.job.upload.url, body))).status, 200)
        for (const job of [a1!, a2!, a3!]) {
          const stored = yield* storage.head("uploads", (yield* store.get(job.jobId)).sourceKey)
          assert.isTrue(Option.isSome(stored), `upload of ${job.jobId} stored`)
        }
      }).pipe(Effect.ensuring(Effect.sync(() => opened.forEach((put) => put.abort()))))
    })
  })
})

describe("limits configuration", () => {
  const read = (env: Record<string, string>) => rateLimitsConfig.pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(env)))

  it.effect("defaults to the AWS usage plan's rate and burst, 10000 jobs a day and 4 uploads at once", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* read({}), { rate: 10, burst: 20, dailyJobs: 10_000, uploadsPerKey: 4 })
      assert.deepStrictEqual(
        yield* read({ VIDPIPE_API_RATE: "0.5", VIDPIPE_API_BURST: "3", VIDPIPE_API_DAILY_JOBS: "0", VIDPIPE_API_UPLOADS_PER_KEY: " 0 " }),
        { rate: 0.5, burst: 3, dailyJobs: 0, uploadsPerKey: 0 }
      )
    }))

  it.effect("refuses a value out of range or not a number, naming the variable", () =>
    Effect.gen(function*() {
      const wrong: ReadonlyArray<readonly [string, string]> = [
        ["VIDPIPE_API_RATE", "fast"],
        ["VIDPIPE_API_RATE", "-1"],
        ["VIDPIPE_API_BURST", "0"],
        ["VIDPIPE_API_BURST", "2.5"],
        ["VIDPIPE_API_DAILY_JOBS", "1e3"],
        ["VIDPIPE_API_UPLOADS_PER_KEY", "-2"]
      ]
      for (const [variable, value] of wrong) {
        const failure = yield* Effect.flip(read({ [variable]: value }))
        assert.strictEqual(failure._tag, "InvalidConfiguration", `${variable}=${value}`)
        assert.include(failure.message, variable)
      }
    }))
})

describe("routes built without limits (the API Lambda's)", () => {
  const uploadSlots = Layer.succeed(UploadSlots, UploadSlots.of({
  ...unusedMultipart,
    create: ({ jobId, contentLength }) =>
      Effect.succeed({ url: `http://127.0.0.1/upload/${jobId}`, method: "PUT" as const, headers: { "Content-Length": String(contentLength) }, expiresAt: Date.now() + 60_000 })
  }))
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-nolimits-"))
  roots.push(root)
  const server = HttpRouter.serve(apiRoutes({ deliveryBase: "http://cdn.test", apiKeys: [keyA], maxUploadBytes: 1_000_000 }), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(Layer.mergeAll(memoryJobQueueLayer(), memoryCoordinatorLayer, memoryJobStoreLayer, webhookServices, folderStorageLayer(areaFoldersUnder(root)), uploadSlots, noCdnCacheLayer, Layer.succeed(References.MinimumLogLevel, "None")))
  )
  layer(server, { excludeTestServices: true })("", (it) => {
    it.effect("answers a burst well above the default limits without a 429", () =>
      Effect.gen(function*() {
        const answers = yield* burst(creations(keyA, 30))
        assert.deepStrictEqual(new Set(answers.map((a) => a.status)), new Set([201]))
      }))
  })
})
