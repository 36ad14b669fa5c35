/**
 * The HTTP API over real HTTP: the routes served by NodeHttpServer on 127.0.0.1 (port 0) over the
 * embedded layers, called with fetch. Checks the error shape and statuses clients rely on, the
 * job endpoints' effects on the store, queue, storage and coordinator, and the OpenAPI document.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { afterAll, assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Option, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { keyIdFor } from "../../src/entry/http/api/ApiKeys.ts"
import { apiRoutes } from "../../src/entry/http/api/routes.ts"
import type { Job } from "../../src/domain/Job.ts"
import { planLadder } from "../../src/domain/Ladder.ts"
import type { MediaProbe } from "../../src/domain/Probe.ts"
import { QueuedTaskJson } from "../../src/domain/Task.ts"
import { initialTaskState, newJob } from "../../src/programs/jobRecords.ts"
import { planTasks } from "../../src/programs/ingest.ts"
import { Coordinator } from "../../src/services/Coordinator.ts"
import { JobQueue } from "../../src/services/JobQueue.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { Storage } from "../../src/services/Storage.ts"
import { UploadSlots } from "../../src/services/UploadSlots.ts"
import { embeddedServices } from "../support/embeddedServices.ts"
import { unusedMultipart } from "../support/unusedMultipart.ts"

const apiKey = "test-key-1"
const maxUploadBytes = 10_000_000
const roots: Array<string> = []
afterAll(() => roots.forEach((root) => fs.rmSync(root, { recursive: true, force: true })))

const uploadSlotsStandIn = Layer.succeed(UploadSlots, UploadSlots.of({
  ...unusedMultipart,
  create: ({ contentLength, jobId }) =>
    Effect.succeed({
      url: `http://127.0.0.1/upload/${jobId}`,
      method: "PUT" as const,
      headers: { "Content-Length": String(contentLength) },
      expiresAt: Date.now() + 15 * 60_000
    })
}))

/** A fresh server and fresh backends, exposed so tests can look behind the API. */
const environment = () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-api-"))
  roots.push(root)
  const services = Layer.merge(embeddedServices(root), uploadSlotsStandIn)
  const routes = apiRoutes({ deliveryBase: "http://cdn.test", apiKeys: ["other-key", apiKey], maxUploadBytes })
  return HttpRouter.serve(routes, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(services)
  )
}

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: any
}

/** One request; `key: null` sends no key. Bodies that are not strings are sent as JSON. */
const call = (method: string, url: string, options: { readonly key?: string | null; readonly body?: unknown; readonly init?: RequestInit } = {}) =>
  Effect.gen(function*() {
    const base = yield* HttpServer.addressFormattedWith(Effect.succeed)
    const headers: Record<string, string> = {}
    if (options.key !== null) headers["x-api-key"] = options.key ?? apiKey
    const body = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body)
    if (body !== undefined) headers["content-type"] = "application/json"
    return yield* Effect.promise(async (): Promise<Answer> => {
      const response = await fetch(`${base}${url}`, { method, headers, ...(body === undefined ? {} : { body }), ...options.init })
      const text = await response.text()
      let json: unknown = undefined
      try {
        json = JSON.parse(text)
      } catch {
        // not JSON: tests that care look at `text`
      }
      return { status: response.status, headers: response.headers, text, json }
    })
  })

const assertError = (answer: Answer, status: number, tag: string, field?: string) => {
  assert.strictEqual(answer.status, status, answer.text)
  assert.strictEqual(answer.json?.error?._tag, tag, answer.text)
  assert.isString(answer.json.error.message)
  if (field !== undefined) assert.strictEqual(answer.json.error.field, field, answer.text)
}

interface Created {
  readonly jobId: string
  readonly upload: { readonly kind: string; readonly url: string; readonly method: string; readonly headers: Record<string, string>; readonly expiresAt: string }
}

const createJob = (body: Record<string, unknown> = { fileName: "clip.mp4", contentLength: 1234 }) =>
  Effect.map(call("POST", "/v1/jobs", { body }), (answer): Created => {
    assert.strictEqual(answer.status, 201, answer.text)
    return answer.json
  })

const probe: MediaProbe = {
  container: "mov,mp4,m4a,3gp,3g2,mj2",
  durationSeconds: 10,
  video: { codec: "h264", width: 1280, height: 720, displayWidth: 1280, displayHeight: 720, rotation: 0, frameRate: "30/1", pixelFormat: "yuv420p", interlaced: false },
  audio: { codec: "aac", channels: 2, sampleRate: 48000 }
}

/** A planned job with an audio task and 720p/480p/360p tasks, in the given state. */
const plannedJob = (id: string, status: Job["status"]): Job => {
  const base = newJob({ id, fileName: "clip.mp4", sourceKey: `${id}/clip.mp4`, outputPrefix: `${id}/`, segmentSeconds: 4, now: Date.now(), owner: keyIdFor(apiKey) })
  const rungs = planLadder(probe)
  const tasks = planTasks(base, probe, rungs).map(initialTaskState)
  return { ...base, status, probe, plan: { segmentSeconds: 4, rungs, audio: true }, tasks }
}

describe("api", () => {
  layer(environment(), { excludeTestServices: true })("requests", (it) => {
    it.effect("refuses a missing key with 401 and an unknown key with 403, as JSON", () =>
      Effect.gen(function*() {
        assertError(yield* call("GET", "/v1/jobs", { key: null }), 401, "MissingApiKey")
        assertError(yield* call("GET", "/v1/jobs", { key: "nope" }), 403, "InvalidApiKey")
        assertError(yield* call("POST", "/v1/jobs", { key: null, body: "{oops" }), 401, "MissingApiKey")
        assert.strictEqual((yield* call("GET", "/v1/jobs", { key: "other-key" })).status, 200)
      }))

    it.effect("answers a malformed or invalid request with 400 naming the field", () =>
      Effect.gen(function*() {
        assertError(yield* call("POST", "/v1/jobs", { body: "{\"fileName\": " }), 400, "BadRequest", "body")
        assertError(yield* call("POST", "/v1/jobs", { body: { fileName: 42, contentLength: 10 } }), 400, "BadRequest", "fileName")
        assertError(yield* call("POST", "/v1/jobs", { body: { fileName: "a.mp4" } }), 400, "BadRequest", "contentLength")
        assertError(yield* call("POST", "/v1/jobs", { body: { fileName: "a.mp4", contentLength: 1.5 } }), 400, "BadRequest", "contentLength")
        assertError(yield* call("POST", "/v1/jobs", { body: { fileName: "a.mp4", contentLength: maxUploadBytes + 1 } }), 400, "BadRequest", "contentLength")
        assertError(yield* call("POST", "/v1/jobs", { body: { fileName: "", contentLength: 10 } }), 400, "BadRequest", "fileName")
        assertError(yield* call("POST", "/v1/jobs", { body: { fileName: "a.mp4", contentLength: 10, ladder: [720, 8] } }), 400, "BadRequest", "ladder[1]")
        assertError(yield* call("POST", "/v1/jobs", { body: { fileName: "a.mp4", contentLength: 10, ladder: [] } }), 400, "BadRequest", "ladder")
        assertError(yield* call("GET", "/v1/jobs?limit=0"), 400, "BadRequest", "limit")
        assertError(yield* call("GET", "/v1/jobs?limit=abc"), 400, "BadRequest", "limit")
        assertError(yield* call("GET", "/v1/jobs?cursor=garbage"), 400, "BadRequest", "cursor")
      }))

    it.effect("refuses a body that is not JSON with 415", () =>
      Effect.gen(function*() {
        const answer = yield* call("POST", "/v1/jobs", { init: { body: "fileName=a", headers: { "x-api-key": apiKey, "content-type": "application/x-www-form-urlencoded" } } })
        assertError(answer, 415, "UnsupportedMediaType")
      }))

    it.effect("refuses bodies over 64 KiB with 413, by declared length or while streaming", () =>
      Effect.gen(function*() {
        const big = JSON.stringify({ fileName: "a.mp4", contentLength: 10, padding: "x".repeat(70 * 1024) })
        assertError(yield* call("POST", "/v1/jobs", { body: big }), 413, "PayloadTooLarge")
        // No Content-Length: the body is streamed in chunks and cut off once past the limit.
        const chunks = new ReadableStream<Uint8Array>({
          start(controller) {
            for (let i = 0; i < 40; i++) controller.enqueue(new TextEncoder().encode("x".repeat(4096)))
            controller.close()
          }
        })
        const streamed = yield* call("POST", "/v1/jobs", {
          init: { body: chunks, duplex: "half", headers: { "x-api-key": apiKey, "content-type": "application/json" } } as RequestInit
        })
        assertError(streamed, 413, "PayloadTooLarge")
        // The server is still fine afterwards.
        assert.strictEqual((yield* call("GET", "/v1/jobs")).status, 200)
      }))

    it.effect("answers 404 for an unknown job on get, delete and retry", () =>
      Effect.gen(function*() {
        assertError(yield* call("GET", "/v1/jobs/nosuchjob"), 404, "JobNotFound")
        assertError(yield* call("DELETE", "/v1/jobs/nosuchjob"), 404, "JobNotFound")
        assertError(yield* call("POST", "/v1/jobs/nosuchjob/retry"), 404, "JobNotFound")
      }))

    it.effect("creates a job awaiting its upload and returns the upload slot", () =>
      Effect.gen(function*() {
        const created = yield* createJob({ fileName: "My Clip.mp4", contentLength: 1234, contentType: "video/mp4", ladder: [720, 360] })
        assert.isString(created.jobId)
        assert.deepStrictEqual(created.upload, {
          kind: "single",
          url: `http://127.0.0.1/upload/${created.jobId}`,
          method: "PUT",
          headers: { "Content-Length": "1234" },
          expiresAt: created.upload.expiresAt
        })
        assert.strictEqual(new Date(created.upload.expiresAt).toISOString(), created.upload.expiresAt)
        const job = yield* (yield* JobStore).get(created.jobId)
        assert.strictEqual(job.status, "awaiting-upload")
        assert.strictEqual(job.sourceKey, `${created.jobId}/My Clip.mp4`)
        assert.strictEqual(job.outputPrefix, `${created.jobId}/`)
        assert.deepStrictEqual(job.requestedLadder, [720, 360])
      }))

    it.effect("takes sidecar captions with the job (stored as WebVTT) and refuses a malformed one naming the file and line", () =>
      Effect.gen(function*() {
        const srt = "1\n00:00:01,000 --> 00:00:02,000\nHello\n"
        const created = yield* createJob({ fileName: "a.mp4", contentLength: 10, storyboard: false, captions: [{ fileName: "a.en.srt", language: "eng", text: srt }] })
        const job = yield* (yield* JobStore).get(created.jobId)
        assert.deepStrictEqual(job.sidecarCaptions, [{ file: "captions/sidecar-1.vtt", language: "en", label: "en" }])
        assert.strictEqual(job.storyboard, false)
        const stored = yield* (yield* Storage).get("outputs", `${created.jobId}/captions/sidecar-1.vtt`)
        assert.strictEqual(new TextDecoder().decode(stored), "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello\n")

        const before = (yield* call("GET", "/v1/jobs")).json.jobs.length
        const bad = yield* call("POST", "/v1/jobs", {
          body: JSON.stringify({ fileName: "b.mp4", contentLength: 10, captions: [{ fileName: "b.srt", language: "en", text: "1\n00:00:01 --> 00:00:02\nx\n" }] })
        })
        assertError(bad, 400, "BadRequest", "captions[0].text")
        assert.include(bad.json.error.message, "b.srt, line 2")
        assertError(yield* call("POST", "/v1/jobs", {
          body: JSON.stringify({ fileName: "b.mp4", contentLength: 10, captions: [{ fileName: "b.srt", language: "e_n", text: srt }] })
        }), 400, "BadRequest", "captions[0].language")
        // Nothing was recorded for the refused requests.
        assert.strictEqual((yield* call("GET", "/v1/jobs")).json.jobs.length, before)
      }))

    it.effect("gets a job as its JobView", () =>
      Effect.gen(function*() {
        const created = yield* createJob()
        const answer = yield* call("GET", `/v1/jobs/${created.jobId}`)
        assert.strictEqual(answer.status, 200, answer.text)
        assert.strictEqual(answer.json.jobId, created.jobId)
        assert.strictEqual(answer.json.status, "awaiting-upload")
        assert.strictEqual(answer.json.fileName, "clip.mp4")
        assert.strictEqual(answer.json.progress, 0)
        assert.strictEqual(answer.json.strategy, "auto", "the default, until ingest plans it")
        assert.deepStrictEqual(answer.json.tasks, [])
        assert.isString(answer.json.createdAt)
      }))

    it.effect("retries a failed job: unfinished tasks are queued again, done ones kept", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        const queue = yield* JobQueue
        const planned = plannedJob("failedjob1", "failed")
        const [audio, v720, v480, v360] = planned.tasks
        const error = { _tag: "FfmpegFailed", message: "encode failed" }
        yield* store.create({
          ...planned,
          error,
          finishedAt: Date.now(),
          tasks: [
            { ...audio!, status: "done", progress: 1, attempts: 1 },
            { ...v720!, status: "failed", progress: 0.4, attempts: 3, error, worker: "w1" },
            { ...v480!, status: "done", progress: 1, attempts: 1 },
            { ...v360!, status: "queued", progress: 0, attempts: 0 }
          ]
        })
        const before = yield* queue.depth
        const answer = yield* call("POST", "/v1/jobs/failedjob1/retry")
        assert.strictEqual(answer.status, 202, answer.text)
        assert.strictEqual(answer.json.status, "queued")
        assert.isUndefined(answer.json.error)
        assert.deepStrictEqual(answer.json.tasks.map((t: { status: string }) => t.status), ["done", "queued", "done", "queued"])
        assert.isUndefined(answer.json.tasks[1].error)
        const after = yield* queue.depth
        assert.strictEqual(after.visible - before.visible, 2)
        const received = yield* queue.receive({ maxMessages: 10 })
        const sent = received.map((m) => Schema.decodeUnknownSync(QueuedTaskJson)(m.body)).filter((t) => t.jobId === "failedjob1")
        assert.deepStrictEqual(sent.map((t) => t.taskId).sort(), [v720!.taskId, v360!.taskId].sort())
        assert.isTrue(sent.every((t) => t.attempt > 1))
        const stored = yield* store.get("failedjob1")
        assert.strictEqual(stored.status, "queued")
        assert.isUndefined(stored.error)
        assert.isUndefined(stored.finishedAt)
        // It is queued now, so a second retry conflicts.
        assertError(yield* call("POST", "/v1/jobs/failedjob1/retry"), 409, "JobConflict")
      }))

    it.effect("refuses to retry a job that has not failed with 409", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        yield* store.create(plannedJob("readyjob1", "ready"))
        yield* store.create(plannedJob("queuedjob1", "queued"))
        assertError(yield* call("POST", "/v1/jobs/readyjob1/retry"), 409, "JobConflict")
        assertError(yield* call("POST", "/v1/jobs/queuedjob1/retry"), 409, "JobConflict")
      }))

    it.effect("deletes a job: outputs, source, coordination records, then the record", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const coordinator = yield* Coordinator
        const created = yield* createJob()
        const jobId = created.jobId
        const job = yield* (yield* JobStore).get(jobId)
        yield* storage.put("uploads", job.sourceKey, "source bytes")
        yield* storage.put("outputs", `${jobId}/manifest.mpd`, "<MPD/>")
        yield* storage.put("outputs", `${jobId}/video/720p/init.mp4`, "init")
        yield* coordinator.complete({ jobId, taskId: `${jobId}.audio`, total: 2, owner: "w1", leaseFor: "1 minute" })
        const answer = yield* call("DELETE", `/v1/jobs/${jobId}`)
        assert.strictEqual(answer.status, 204, answer.text)
        assert.strictEqual(answer.text, "")
        assert.isTrue(Option.isNone(yield* storage.head("uploads", job.sourceKey)))
        assert.deepStrictEqual(yield* storage.list("outputs", `${jobId}/`), [])
        assert.deepStrictEqual((yield* coordinator.state(jobId)).completed, [])
        assertError(yield* call("GET", `/v1/jobs/${jobId}`), 404, "JobNotFound")
      }))

    it.effect("serves the OpenAPI document and the docs page without a key", () =>
      Effect.gen(function*() {
        const openapi = yield* call("GET", "/v1/openapi.json", { key: null })
        assert.strictEqual(openapi.status, 200, openapi.text)
        const paths = openapi.json.paths as Record<string, Record<string, unknown>>
        assert.hasAllKeys(paths["/v1/jobs"]!, ["get", "post"])
        assert.hasAllKeys(paths["/v1/jobs/{jobId}"]!, ["get", "delete"])
        assert.hasAllKeys(paths["/v1/jobs/{jobId}/retry"]!, ["post"])
        const docs = yield* call("GET", "/v1/docs", { key: null })
        assert.strictEqual(docs.status, 200)
        assert.include(docs.headers.get("content-type") ?? "", "text/html")
      }))
  })

  layer(environment(), { excludeTestServices: true })("paging", (it) => {
    it.effect("lists jobs newest first, page by page, without losing jobs created in the same millisecond", () =>
      Effect.gen(function*() {
        const store = yield* JobStore
        // Three jobs share one creation time, so a page boundary falls inside the tie.
        const times = [5000, 4000, 4000, 4000, 3000, 2000, 1000]
        for (const [i, now] of times.entries()) {
          yield* store.create(newJob({ id: `job${i}`, fileName: `f${i}.mp4`, sourceKey: `job${i}/f.mp4`, outputPrefix: `job${i}/`, segmentSeconds: 4, now, owner: keyIdFor(apiKey) }))
        }
        const first = yield* call("GET", "/v1/jobs")
        assert.strictEqual(first.status, 200, first.text)
        assert.strictEqual(first.json.jobs.length, 7)
        assert.isUndefined(first.json.nextCursor)

        const seen: Array<{ jobId: string; createdAt: string }> = []
        let cursor: string | undefined
        let pages = 0
        do {
          const answer = yield* call("GET", `/v1/jobs?limit=2${cursor === undefined ? "" : `&cursor=${cursor}`}`)
          assert.strictEqual(answer.status, 200, answer.text)
          assert.isAtMost(answer.json.jobs.length, 2)
          seen.push(...answer.json.jobs)
          cursor = answer.json.nextCursor
          pages++
        } while (cursor !== undefined && pages < 10)
        assert.strictEqual(pages, 4)
        assert.strictEqual(new Set(seen.map((j) => j.jobId)).size, 7)
        assert.deepStrictEqual(seen.map((j) => Date.parse(j.createdAt)), times)
      }))
  })
})
