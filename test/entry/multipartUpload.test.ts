/**
 * Multipart uploads on `vidpipe serve`'s server (serverLayer on 127.0.0.1, port 0) over real HTTP,
 * as a client script would do them: parts sent out of order and resumed, completion joining them
 * byte for byte; and every bad request refused with the status and field it deserves, with nothing
 * stored lost or corrupted.
 */
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, assert, describe, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { MiB, multipartLayoutFor } from "../../src/domain/Multipart.ts"
import type { ServeOptions } from "../../src/entry/http/serve.ts"
import { serverLayer } from "../../src/entry/http/serve.ts"
import { signedUploadSlotsLayer } from "../../src/layers/local/SignedUploadSlots.ts"
import { expireUploadsOnce } from "../../src/programs/expireUploads.ts"
import { JobStore } from "../../src/services/JobStore.ts"
import { Storage } from "../../src/services/Storage.ts"
import { embeddedServices } from "../support/embeddedServices.ts"

const keyA = "multipart-key-a"
const keyB = "multipart-key-b"
const roots: Array<string> = []
afterAll(() => roots.forEach((root) => fs.rmSync(root, { recursive: true, force: true })))

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

/** Three parts: 16 MiB, 16 MiB and what is left. */
const source = randomBytes(32 * MiB + 123_457)
const layout = multipartLayoutFor(source.length)

const serve = (uploadExpiry: Duration.Input) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-multipart-"))
  roots.push(root)
  fs.mkdirSync(path.join(root, "outputs"))
  const options: ServeOptions = {
    port: 0,
    host: "127.0.0.1",
    workers: 0,
    apiKeys: [keyA, keyB],
    uploadSecret: "multipart-secret",
    outputsDir: path.join(root, "outputs"),
    publicUrl: "",
    maxUploadBytes: 64 * MiB,
    multipartThreshold: 1 * MiB,
    uploadExpiry,
    instanceId: "multipart-test"
  }
  return serverLayer(options).pipe(Layer.provideMerge(embeddedServices(root)))
}

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly json: any
}

const call = (method: string, url: string, options: { readonly key?: string; readonly body?: unknown; readonly bytes?: Uint8Array; readonly headers?: Record<string, string> } = {}) =>
  Effect.gen(function*() {
    const base = yield* HttpServer.addressFormattedWith(Effect.succeed)
    return yield* Effect.promise(async (): Promise<Answer> => {
      const response = await fetch(url.startsWith("http") ? url : `${base}${url}`, {
        method,
        headers: {
          ...(options.key === undefined ? {} : { "x-api-key": options.key }),
          ...(options.body === undefined ? {} : { "content-type": "application/json" }),
          ...options.headers
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        ...(options.bytes === undefined ? {} : { body: new Blob([new Uint8Array(options.bytes)]) })
      })
      const text = await response.text()
      return { status: response.status, headers: response.headers, json: text === "" ? undefined : JSON.parse(text) }
    })
  })

const partBytes = (partNumber: number) => source.subarray((partNumber - 1) * layout.partSize, Math.min(partNumber * layout.partSize, source.length))

const createJob = (key = keyA, contentLength = source.length) => call("POST", "/v1/jobs", { key, body: { fileName: "big.mp4", contentLength } })

const partUrls = (jobId: string, partNumbers: ReadonlyArray<number>, key = keyA) =>
  call("POST", `/v1/jobs/${jobId}/upload/parts`, { key, body: { partNumbers } })

/** Asks for a part's URL and sends the part; the answer of the PUT. */
const sendPart = (jobId: string, partNumber: number, bytes = partBytes(partNumber)) =>
  Effect.gen(function*() {
    const urls = yield* partUrls(jobId, [partNumber])
    assert.strictEqual(urls.status, 200, JSON.stringify(urls.json))
    const slot = urls.json.parts[0]
    return yield* call("PUT", slot.url, { bytes, headers: slot.headers })
  })

const storedSource = (jobId: string) =>
  Effect.gen(function*() {
    const job = yield* (yield* JobStore).get(jobId)
    return yield* Effect.option((yield* Storage).get("uploads", job.sourceKey))
  })

describe("multipart uploads on vidpipe serve", () => {
  layer(serve("1 minute"), { excludeTestServices: true })("", (it) => {
    it.effect("parts sent out of order, some after a lost connection, join into the exact source", () =>
      Effect.gen(function*() {
        const created = yield* createJob()
        assert.strictEqual(created.status, 201)
        assert.deepStrictEqual(created.json.upload, { kind: "multipart", contentLength: source.length, partSize: 16 * MiB, partCount: 3 })
        const jobId: string = created.json.jobId

        // Part 3 first, then the connection is "lost": the client asks what is stored and sends the rest.
        const third = yield* sendPart(jobId, 3)
        assert.strictEqual(third.status, 200)
        const progress = yield* call("GET", `/v1/jobs/${jobId}/upload`, { key: keyA })
        assert.deepStrictEqual(progress.json.parts.map((p: { partNumber: number; size: number }) => [p.partNumber, p.size]), [[3, partBytes(3).length]])
        const rest = yield* Effect.forEach([2, 1], (n) => sendPart(jobId, n), { concurrency: 2 })
        const etags = [rest[1]!.headers.get("etag"), rest[0]!.headers.get("etag"), third.headers.get("etag")]
        // ETags are quoted, as S3 answers UploadPart, and differ from part to part.
        assert.match(etags[0] ?? "", /^"[0-9a-f]{32}"$/)
        assert.strictEqual(new Set(etags).size, 3)

        const completed = yield* call("POST", `/v1/jobs/${jobId}/upload/complete`, {
          key: keyA,
          body: { parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) }
        })
        assert.strictEqual(completed.status, 200, JSON.stringify(completed.json))
        assert.strictEqual(completed.json.status, "queued")
        const stored = yield* storedSource(jobId)
        assert.strictEqual(stored._tag, "Some")
        if (stored._tag === "Some") assert.strictEqual(sha256(stored.value), sha256(source))
        // The parts are gone once joined.
        const leftovers = yield* (yield* Storage).list("uploads", `${jobId}/.parts/`)
        assert.deepStrictEqual(leftovers, [])
        // Completing again is a conflict, and the source stays as it is.
        const again = yield* call("POST", `/v1/jobs/${jobId}/upload/complete`, { key: keyA, body: { parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) } })
        assert.strictEqual(again.status, 409)
      }))

    it.effect("a part of another length, a tampered signature or a part out of range is refused and stores nothing", () =>
      Effect.gen(function*() {
        const jobId: string = (yield* createJob()).json.jobId
        const urls = yield* partUrls(jobId, [1])
        const slot = urls.json.parts[0]
        assert.strictEqual(slot.headers["Content-Length"], String(16 * MiB))

        const shorter = yield* call("PUT", slot.url, { bytes: partBytes(1).subarray(1) })
        assert.strictEqual(shorter.status, 403)
        assert.strictEqual(shorter.json.error._tag, "SignatureDoesNotMatch")
        const signature = new URL(slot.url).searchParams.get("signature")!
        const flipped = signature.slice(0, -1) + (signature.endsWith("0") ? "1" : "0")
        const tampered = yield* call("PUT", slot.url.replace(signature, flipped), { bytes: partBytes(1) })
        assert.strictEqual(tampered.status, 403)
        // Another part number on the same signature.
        const moved = yield* call("PUT", slot.url.replace("/parts/1?", "/parts/2?"), { bytes: partBytes(1) })
        assert.strictEqual(moved.status, 403)

        const outOfRange = yield* partUrls(jobId, [1, layout.partCount + 1])
        assert.strictEqual(outOfRange.status, 400)
        assert.strictEqual(outOfRange.json.error.field, "partNumbers[1]")
        const zero = yield* partUrls(jobId, [0])
        assert.strictEqual(zero.status, 400)
        assert.strictEqual(zero.json.error.field, "partNumbers[0]")

        const progress = yield* call("GET", `/v1/jobs/${jobId}/upload`, { key: keyA })
        assert.deepStrictEqual(progress.json.parts, [])
      }))

    it.effect("completing with a part missing or a stale ETag is a 400 naming it; the parts stay and a right list then completes", () =>
      Effect.gen(function*() {
        const jobId: string = (yield* createJob()).json.jobId
        const sent = yield* Effect.forEach([1, 2], (n) => sendPart(jobId, n))
        const etags = sent.map((answer) => answer.headers.get("etag")!)
        const missing = yield* call("POST", `/v1/jobs/${jobId}/upload/complete`, { key: keyA, body: { parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) } })
        assert.strictEqual(missing.status, 400)
        assert.strictEqual(missing.json.error.field, "parts")

        const third = yield* sendPart(jobId, 3)
        const stale = yield* call("POST", `/v1/jobs/${jobId}/upload/complete`, {
          key: keyA,
          body: { parts: [...etags, "\"00000000000000000000000000000000\""].map((etag, i) => ({ partNumber: i + 1, etag })) }
        })
        assert.strictEqual(stale.status, 400)
        assert.strictEqual(stale.json.error.field, "parts[2].etag")
        const unordered = yield* call("POST", `/v1/jobs/${jobId}/upload/complete`, {
          key: keyA,
          body: { parts: [{ partNumber: 2, etag: etags[1] }, { partNumber: 1, etag: etags[0] }, { partNumber: 3, etag: third.headers.get("etag") }] }
        })
        assert.strictEqual(unordered.status, 400)
        assert.strictEqual((yield* storedSource(jobId))._tag, "None")

        const completed = yield* call("POST", `/v1/jobs/${jobId}/upload/complete`, {
          key: keyA,
          body: { parts: [...etags, third.headers.get("etag")].map((etag, i) => ({ partNumber: i + 1, etag })) }
        })
        assert.strictEqual(completed.status, 200)
        const stored = yield* storedSource(jobId)
        if (stored._tag === "Some") assert.strictEqual(sha256(stored.value), sha256(source))
        else assert.fail("the source was not stored")
      }))

    it.effect("another key sees none of it; a declared length over the limit is a 400; a single-PUT job has no parts", () =>
      Effect.gen(function*() {
        const jobId: string = (yield* createJob()).json.jobId
        assert.strictEqual((yield* partUrls(jobId, [1], keyB)).status, 404)
        assert.strictEqual((yield* call("GET", `/v1/jobs/${jobId}/upload`, { key: keyB })).status, 404)
        assert.strictEqual((yield* call("POST", `/v1/jobs/${jobId}/upload/complete`, { key: keyB, body: { parts: [{ partNumber: 1, etag: "x" }] } })).status, 404)

        const tooLarge = yield* createJob(keyA, 64 * MiB + 1)
        assert.strictEqual(tooLarge.status, 400)
        assert.strictEqual(tooLarge.json.error.field, "contentLength")

        const small = yield* createJob(keyA, 1000)
        assert.strictEqual(small.json.upload.kind, "single")
        const noParts = yield* partUrls(small.json.jobId, [1])
        assert.strictEqual(noParts.status, 409)
      }))

    it.effect("a job whose upload never completed fails after the upload lifetime, its parts dropped", () =>
      Effect.gen(function*() {
        const jobId: string = (yield* createJob()).json.jobId
        assert.strictEqual((yield* sendPart(jobId, 1)).status, 200)
        const storage = yield* Storage
        assert.isAbove((yield* storage.list("uploads", `${jobId}/.parts/`)).length, 0)
        yield* Effect.sleep("5 millis")
        yield* expireUploadsOnce(Duration.millis(1)).pipe(
          Effect.provide(signedUploadSlotsLayer({ publicBase: "http://unused", secret: "unused", expiresIn: "1 second" }))
        )
        const job = yield* (yield* JobStore).get(jobId)
        assert.strictEqual(job.status, "failed")
        assert.strictEqual(job.error?._tag, "UploadExpired")
        assert.deepStrictEqual(yield* storage.list("uploads", `${jobId}/.parts/`), [])
      }))
  })

  layer(serve("1 second"), { excludeTestServices: true })("with 1 s upload URLs", (it) => {
    it.effect("a part URL used after its expiry is refused and stores nothing", () =>
      Effect.gen(function*() {
        const jobId: string = (yield* createJob()).json.jobId
        const slot = (yield* partUrls(jobId, [3])).json.parts[0]
        // Past the expiry by the server's own clock (it compares with its current time), with a margin.
        const expiresAt = Date.parse(slot.expiresAt)
        yield* Effect.sleep(Duration.millis(Math.max(0, expiresAt - Date.now()) + 50))
        const late = yield* call("PUT", slot.url, { bytes: partBytes(3), headers: slot.headers })
        assert.strictEqual(late.status, 403)
        assert.strictEqual(late.json.error._tag, "RequestExpired")
        assert.deepStrictEqual((yield* call("GET", `/v1/jobs/${jobId}/upload`, { key: keyA })).json.parts, [])
      }))
  })
})
