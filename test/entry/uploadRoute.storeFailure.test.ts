/**
 * The signed upload route (`PUT /upload/{jobId}`) over real HTTP when the job store fails: a store
 * that cannot answer is not "no such job". The client gets the API's 503 error shape, nothing is
 * stored, and the same request succeeds once the store answers again; an unknown job is still 404.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, References } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { JobStoreFailed } from "../../src/domain/Errors.ts"
import { uploadRoutes } from "../../src/entry/http/uploadRoute.ts"
import { areaFoldersUnder, folderStorageLayer } from "../../src/layers/local/FolderStorage.ts"
import { logMetricsLayer } from "../../src/layers/local/LogMetrics.ts"
import { memoryCoordinatorLayer } from "../../src/layers/local/MemoryCoordinator.ts"
import { memoryJobQueueLayer } from "../../src/layers/local/MemoryJobQueue.ts"
import { makeMemoryJobStore } from "../../src/layers/local/MemoryJobStore.ts"
import { signUpload } from "../../src/layers/local/uploadSignature.ts"
import { newJob } from "../../src/programs/jobRecords.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { Storage } from "../../src/services/Storage.ts"
import { makeScriptedFfmpeg } from "../support/scriptedFfmpeg.ts"

const secret = "upload-secret"
const roots: Array<string> = []
afterAll(() => roots.forEach((root) => fs.rmSync(root, { recursive: true, force: true })))

/** The memory store, with a switch that makes every read fail as a Redis that went away does. */
const switchableStore = Effect.gen(function*() {
  const store = yield* makeMemoryJobStore
  const state = { failing: false }
  const service = JobStore.of({
    ...store,
    get: (jobId) =>
      Effect.suspend(() =>
        state.failing ? Effect.fail(new JobStoreFailed({ operation: "get", reason: "Connection is closed.", retryable: true })) : store.get(jobId)
      )
  })
  return { service, state }
})

const serve = Effect.gen(function*() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-upload-store-"))
  roots.push(root)
  const { service, state } = yield* switchableStore
  const layer = HttpRouter.serve(uploadRoutes(secret), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(Layer.mergeAll(
      Layer.succeed(JobStore, service),
      memoryJobQueueLayer(),
      memoryCoordinatorLayer,
      logMetricsLayer,
      folderStorageLayer(areaFoldersUnder(root)),
      makeScriptedFfmpeg({}).layer,
      Layer.succeed(References.MinimumLogLevel, "None")
    ))
  )
  return { layer, state }
})

const put = (jobId: string, key: string, body: string) =>
  Effect.gen(function*() {
    const base = yield* HttpServer.addressFormattedWith(Effect.succeed)
    const expires = Date.now() + 60_000
    const signature = signUpload(secret, { method: "PUT", key, contentLength: Buffer.byteLength(body), expires })
    return yield* Effect.promise(async () => {
      const response = await fetch(`${base}/upload/${jobId}?expires=${expires}&signature=${signature}`, { method: "PUT", body })
      const text = await response.text()
      return { status: response.status, json: (text === "" ? undefined : JSON.parse(text)) as { error?: { _tag: string; message: string } } | undefined }
    })
  })

describe("upload route, when the job store fails", () => {
  it.live("answers 503 ServiceUnavailable and stores nothing; the same upload succeeds once the store is back", () =>
    Effect.gen(function*() {
      const { layer, state } = yield* serve
      yield* Effect.gen(function*() {
        const store = yield* JobStore
        const storage = yield* Storage
        const job = newJob({ id: "job1", fileName: "clip.mp4", sourceKey: "job1/clip.mp4", outputPrefix: "job1/", segmentSeconds: 4, now: Date.now(), status: "awaiting-upload" })
        yield* store.create(job)

        state.failing = true
        const refused = yield* put(job.id, job.sourceKey, "source bytes")
        assert.strictEqual(refused.status, 503)
        assert.deepStrictEqual(refused.json, { error: { _tag: "ServiceUnavailable", message: "a backend is unavailable; try again" } })
        assert.isTrue(Option.isNone(yield* storage.head("uploads", job.sourceKey)), "nothing stored")

        state.failing = false
        const accepted = yield* put(job.id, job.sourceKey, "source bytes")
        assert.strictEqual(accepted.status, 200)
        assert.isTrue(Option.isSome(yield* storage.head("uploads", job.sourceKey)))

        // A job that does not exist is still a 404, with the store working.
        const missing = yield* put("nojob", "nojob/clip.mp4", "x")
        assert.strictEqual(missing.status, 404)
        assert.strictEqual(missing.json?.error?._tag, "JobNotFound")
      }).pipe(Effect.provide(layer))
    }))
})
