/**
 * Multipart upload slots on S3 (src/layers/aws/S3UploadSlots.ts), all on 127.0.0.1:
 * - against @20minutes/s3rver (which checks SigV4 on every part PUT: signature, presigned expiry,
 *   the signed Content-Length) behind test/support/s3MultipartRules.ts, which keeps S3's rules
 *   s3rver does not (ETags and missing parts at completion, part order, minimum part size,
 *   ListParts, AbortMultipartUpload). The rules proxy pages ListParts 2 parts at a time (S3: 1000)
 *   so the layer's following of NextPartNumberMarker is seen with 3 parts.
 * - parts PUT with plain `fetch` and the headers the slot hands back, as a browser would, and
 *   completed with the ETags of those PUTs' answers.
 * - S3 answers the peer cannot give (an error inside a 200 CompleteMultipartUpload answer,
 *   throttling, access denied) from a scripted HTTP server, through the real SDK.
 */
import { createHash, randomBytes } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Effect } from "effect"
import { makeS3UploadSlots } from "../../../src/layers/aws/S3UploadSlots.ts"
import type { MultipartTarget, PartSlot } from "../../../src/services/UploadSlots.ts"
import type { MultipartRules } from "../../support/s3MultipartRules.ts"
import { startMultipartRules } from "../../support/s3MultipartRules.ts"
import type { S3Peer } from "../../support/s3Peer.ts"
import { createBuckets, peerClientConfig, s3rverCredentials, startS3rver, uniqueBucket } from "../../support/s3Peer.ts"

const MiB = 1024 * 1024

let peer: S3Peer
let rules: MultipartRules

beforeAll(async () => {
  peer = await startS3rver()
  rules = await startMultipartRules(peer.endpoint, { pageLimit: 2 })
})

afterAll(async () => {
  await rules?.close()
  await peer?.stop()
})

const amzDateMillis = (d: string) =>
  Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8)), Number(d.slice(9, 11)), Number(d.slice(11, 13)), Number(d.slice(13, 15)))

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

/**
 * Slots on a fresh bucket, reached through the rules proxy, with the SDK's default checksum
 * settings (the layer must force "WHEN_REQUIRED" itself), and a client straight to s3rver to look
 * at what the bucket holds. Tests that are not about expiry give a long one, so their PUTs never
 * race it on a busy machine.
 */
const setup = Effect.fnUntraced(function*(expiresIn?: Duration.Input) {
  const bucket = uniqueBucket("mp")
  yield* Effect.promise(() => createBuckets(peer.endpoint, bucket))
  const slotsFor = (expiry: Duration.Input | undefined) =>
    makeS3UploadSlots({
      bucket,
      ...(expiry === undefined ? {} : { expiresIn: expiry }),
      clientConfig: { endpoint: rules.endpoint, region: "us-east-1", forcePathStyle: true, credentials: s3rverCredentials, maxAttempts: 1 }
    })
  const slots = yield* slotsFor(expiresIn)
  const client = yield* Effect.acquireRelease(Effect.sync(() => new S3Client(peerClientConfig(peer.endpoint))), (c) => Effect.sync(() => c.destroy()))
  const stored = (key: string) =>
    Effect.promise(() =>
      client.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then(
        async (found) => ({ bytes: (await found.Body?.transformToByteArray()) ?? new Uint8Array(), contentType: found.ContentType }),
        (error: unknown) => {
          if ((error as { name?: string }).name === "NoSuchKey") return undefined
          throw error
        }
      )
    )
  /** HeadObject's HTTP status for the key: 200, or 404 when nothing is there. */
  const headStatus = (key: string) =>
    Effect.promise(() =>
      client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
        () => 200,
        (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode ?? 0
      )
    )
  return { bucket, slots, slotsFor, stored, headStatus }
})

/** A PUT as a browser sends it: the slot's URL and headers, the bytes. */
const putPart = (slot: PartSlot, body: Uint8Array, headers: Readonly<Record<string, string>> = slot.headers) =>
  Effect.promise(async () => {
    const answer = await fetch(slot.url, { method: slot.method, headers, body: new Uint8Array(body) })
    return { status: answer.status, etag: answer.headers.get("etag"), text: await answer.text() }
  })

const tagOf = (error: { readonly _tag: string }) => error._tag

/** The error `effect` fails with; its success fails the test, with that said. */
const refused = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.flip(Effect.andThen(effect, (value) => Effect.die(new Error(`expected a failure; it succeeded with ${JSON.stringify(value)}`))))

describe("S3 multipart upload slots through s3rver and the rules proxy", () => {
  it.live("a source in 3 parts PUT through the part URLs is stored byte for byte; ListParts showed exactly those parts", () =>
    Effect.scoped(Effect.gen(function*() {
      const { slots, stored } = yield* setup("1 hour")
      const source = randomBytes(10 * MiB + 12_345)
      const lengths = [5 * MiB, 5 * MiB, 12_345]
      const key = "sources/big"
      const uploadId = yield* slots.startMultipart({ jobId: "j1", key, contentType: "video/mp4" })
      const target: MultipartTarget = { jobId: "j1", key, uploadId }
      const partSlots = yield* slots.signParts(target, lengths.map((contentLength, i) => ({ partNumber: i + 1, contentLength })))
      assert.deepStrictEqual(partSlots.map((s) => s.partNumber), [1, 2, 3])

      const receipts: Array<{ partNumber: number; etag: string }> = []
      let offset = 0
      for (const [i, slot] of partSlots.entries()) {
        const length = lengths[i] ?? 0
        const answer = yield* putPart(slot, source.subarray(offset, offset + length))
        offset += length
        assert.strictEqual(answer.status, 200, answer.text)
        assert.isString(answer.etag)
        receipts.push({ partNumber: slot.partNumber, etag: answer.etag ?? "" })
      }
      // Before completion, nothing is at the key, and ListParts (over two pages of the proxy's 2)
      // gives exactly the parts sent: their numbers, lengths and the ETags the PUTs answered.
      assert.isUndefined(yield* stored(key))
      const listsBefore = rules.listRequests()
      const listed = yield* slots.listParts(target)
      assert.deepStrictEqual(listed, receipts.map((r, i) => ({ partNumber: r.partNumber, size: lengths[i], etag: r.etag })))
      assert.strictEqual(rules.listRequests() - listsBefore, 2)

      yield* slots.completeMultipart(target, receipts)
      const object = yield* stored(key)
      assert.isDefined(object)
      assert.strictEqual(object?.bytes.length, source.length)
      assert.strictEqual(sha256(object?.bytes ?? new Uint8Array()), sha256(source))
      assert.strictEqual(object?.contentType, "video/mp4")
      // Completed: no longer in progress.
      assert.strictEqual(tagOf(yield* refused(slots.listParts(target))), "UploadNotFound")
    })))

  it.live("a part URL refuses another length, a tampered signature and a late PUT, storing nothing; the same URL used right succeeds", () =>
    Effect.scoped(Effect.gen(function*() {
      const { slots, slotsFor } = yield* setup("1 hour")
      const part = randomBytes(5 * MiB)
      const key = "sources/refused"
      const uploadId = yield* slots.startMultipart({ jobId: "j2", key })
      const target: MultipartTarget = { jobId: "j2", key, uploadId }
      const [slot] = yield* slots.signParts(target, [{ partNumber: 1, contentLength: part.length }])
      assert.isDefined(slot)
      if (slot === undefined) return

      // Another length: fetch sends the body's own Content-Length, not the signed one.
      for (const wrong of [Buffer.concat([part, Buffer.from([7])]), part.subarray(0, part.length - 1)]) {
        const refused = yield* putPart(slot, wrong, {})
        assert.strictEqual(refused.status, 403, `${wrong.length} bytes`)
        assert.include(refused.text, "SignatureDoesNotMatch")
      }

      // One hex digit of the signature flipped.
      const tampered = new URL(slot.url)
      const signature = tampered.searchParams.get("X-Amz-Signature") ?? ""
      assert.match(signature, /^[0-9a-f]{64}$/)
      tampered.searchParams.set("X-Amz-Signature", (signature[0] === "0" ? "1" : "0") + signature.slice(1))
      const forged = yield* putPart({ ...slot, url: tampered.toString() }, part)
      assert.strictEqual(forged.status, 403)
      assert.include(forged.text, "SignatureDoesNotMatch")

      // Expired: a 1 s URL used once its signed second plus 1 s has passed (plus a margin). A
      // slow machine only makes it later, never earlier.
      const shortLived = yield* slotsFor("1 second")
      const [late] = yield* shortLived.signParts(target, [{ partNumber: 2, contentLength: 1000 }])
      assert.isDefined(late)
      if (late === undefined) return
      const lateUrl = new URL(late.url)
      assert.strictEqual(lateUrl.searchParams.get("X-Amz-Expires"), "1")
      assert.strictEqual(late.expiresAt, amzDateMillis(lateUrl.searchParams.get("X-Amz-Date") ?? "") + 1000)
      yield* Effect.sleep(Math.max(0, late.expiresAt - Date.now()) + 300)
      assert.isAbove(Date.now(), late.expiresAt)
      const expired = yield* putPart(late, randomBytes(1000))
      assert.strictEqual(expired.status, 403)
      assert.include(expired.text, "Request has expired")

      // Nothing was stored for any of them.
      assert.deepStrictEqual(yield* slots.listParts(target), [])
      assert.deepStrictEqual(rules.partsOf(uploadId), [])

      // The untampered URL with the signed length is accepted: the refusals were for the reasons above.
      const accepted = yield* putPart(slot, part)
      assert.strictEqual(accepted.status, 200, accepted.text)
      assert.deepStrictEqual(yield* slots.listParts(target), [{ partNumber: 1, size: part.length, etag: accepted.etag ?? "" }])
      yield* slots.abortMultipart(target)
    })))

  it.live("completion is refused for a part never uploaded, a wrong ETag, an order or a short middle part; abort ends the upload", () =>
    Effect.scoped(Effect.gen(function*() {
      const { headStatus, slots } = yield* setup("1 hour")
      const key = "sources/incomplete"
      const uploadId = yield* slots.startMultipart({ jobId: "j3", key })
      const target: MultipartTarget = { jobId: "j3", key, uploadId }
      const bodies = [randomBytes(5 * MiB), randomBytes(1000), randomBytes(500)]
      const partSlots = yield* slots.signParts(target, bodies.map((b, i) => ({ partNumber: i + 1, contentLength: b.length })))
      const etags: Array<string> = []
      for (const [i, slot] of partSlots.entries()) {
        const answer = yield* putPart(slot, bodies[i] ?? new Uint8Array())
        assert.strictEqual(answer.status, 200, answer.text)
        etags.push(answer.etag ?? "")
      }
      const [etag1 = "", etag2 = "", etag3 = ""] = etags

      const rejected = (receipts: ReadonlyArray<{ partNumber: number; etag: string }>) =>
        refused(slots.completeMultipart(target, receipts))

      // A part 4 never uploaded (with part 3's ETag).
      const missing = yield* rejected([{ partNumber: 1, etag: etag1 }, { partNumber: 4, etag: etag3 }])
      assert.strictEqual(missing._tag, "PartsRejected")
      assert.include(missing.message, "InvalidPart")
      assert.strictEqual(yield* headStatus(key), 404)

      // Part 2 with part 3's ETag.
      const wrongEtag = yield* rejected([{ partNumber: 1, etag: etag1 }, { partNumber: 2, etag: etag3 }])
      assert.strictEqual(wrongEtag._tag, "PartsRejected")
      assert.include(wrongEtag.message, "InvalidPart")

      const outOfOrder = yield* rejected([{ partNumber: 2, etag: etag2 }, { partNumber: 1, etag: etag1 }])
      assert.strictEqual(outOfOrder._tag, "PartsRejected")
      assert.include(outOfOrder.message, "InvalidPartOrder")

      // Part 2 (1000 bytes) is not the last: under 5 MiB.
      const short = yield* rejected([{ partNumber: 1, etag: etag1 }, { partNumber: 2, etag: etag2 }, { partNumber: 3, etag: etag3 }])
      assert.strictEqual(short._tag, "PartsRejected")
      assert.include(short.message, "EntityTooSmall")

      // Refused completions leave the upload in progress and nothing at the key.
      assert.deepStrictEqual((yield* slots.listParts(target)).map((p) => p.partNumber), [1, 2, 3])
      assert.strictEqual(yield* headStatus(key), 404)

      yield* slots.abortMultipart(target)
      assert.strictEqual(tagOf(yield* refused(slots.listParts(target))), "UploadNotFound")
      assert.strictEqual(tagOf(yield* refused(slots.completeMultipart(target, [{ partNumber: 1, etag: etag1 }]))), "UploadNotFound")
      // A second abort is fine (S3 answers NoSuchUpload: already gone).
      yield* slots.abortMultipart(target)
      // A part URL of the aborted upload, still within its expiry, stores nothing.
      const [again] = yield* slots.signParts(target, [{ partNumber: 1, contentLength: bodies[0]?.length ?? 0 }])
      assert.isDefined(again)
      if (again !== undefined) assert.strictEqual((yield* putPart(again, bodies[0] ?? new Uint8Array())).status, 404)
      assert.strictEqual(yield* headStatus(key), 404)
    })))

  it.live("ListParts and AbortMultipartUpload, answered by the proxy, are still authenticated by s3rver", () =>
    Effect.scoped(Effect.gen(function*() {
      const { bucket, slots } = yield* setup()
      const key = "sources/auth"
      const target: MultipartTarget = { jobId: "j5", key, uploadId: yield* slots.startMultipart({ jobId: "j5", key }) }
      const forger = yield* makeS3UploadSlots({
        bucket,
        clientConfig: { endpoint: rules.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { ...s3rverCredentials, secretAccessKey: "not-the-secret" }, maxAttempts: 1 }
      })
      for (const denied of [yield* refused(forger.listParts(target)), yield* refused(forger.abortMultipart(target))]) {
        assert.strictEqual(denied._tag, "UploadFailed")
        assert.include(denied.message, "SignatureDoesNotMatch")
        assert.isFalse(denied.retryable)
      }
      // The forged abort did not end the upload.
      assert.deepStrictEqual(yield* slots.listParts(target), [])
      yield* slots.abortMultipart(target)
      assert.strictEqual(tagOf(yield* refused(slots.listParts(target))), "UploadNotFound")
    })))

  it.live("part URLs: 5 s expiry by default, Content-Length signed, no checksum parameters, the part and upload named", () =>
    Effect.scoped(Effect.gen(function*() {
      const { bucket, slots } = yield* setup()
      const target: MultipartTarget = { jobId: "j4", key: "sources/static", uploadId: yield* slots.startMultipart({ jobId: "j4", key: "sources/static" }) }
      const partSlots = yield* slots.signParts(target, [{ partNumber: 1, contentLength: 5 * MiB }, { partNumber: 2, contentLength: 77 }])
      assert.deepStrictEqual(partSlots.map((s) => [s.partNumber, s.method, s.headers]), [[1, "PUT", { "Content-Length": String(5 * MiB) }], [2, "PUT", { "Content-Length": "77" }]])
      for (const slot of partSlots) {
        const url = new URL(slot.url)
        const q = url.searchParams
        assert.strictEqual(url.pathname, `/${bucket}/sources/static`)
        assert.strictEqual(q.get("partNumber"), String(slot.partNumber))
        assert.strictEqual(q.get("uploadId"), target.uploadId)
        assert.strictEqual(q.get("X-Amz-Expires"), "5")
        assert.strictEqual(slot.expiresAt, amzDateMillis(q.get("X-Amz-Date") ?? "") + 5000)
        const signed = (q.get("X-Amz-SignedHeaders") ?? "").split(";")
        assert.include(signed, "content-length")
        assert.include(signed, "host")
        assert.isFalse([...q.keys()].some((k) => /^x-amz-checksum-|^x-amz-sdk-checksum-algorithm$/i.test(k)), url.search)
      }
      // Outside S3's part numbers: refused before anything is signed.
      const outside = yield* refused(slots.signParts(target, [{ partNumber: 10_001, contentLength: 1 }]))
      assert.strictEqual(outside._tag, "UploadFailed")
      assert.isFalse(outside.retryable)
      yield* slots.abortMultipart(target)
    })))
})

// ---------------------------------------------------------------------------------------------
// S3 answers the peer cannot give, from a scripted server, through the real SDK.

describe("S3 multipart error mapping (scripted S3 answers)", () => {
  interface Scripted {
    readonly status: number
    readonly body: string
  }
  let server: http.Server
  let answer: Scripted = { status: 200, body: "" }
  const seen: Array<string> = []

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume()
      req.once("end", () => {
        seen.push(`${req.method} ${req.url}`)
        res.writeHead(answer.status, { "content-type": "application/xml", "content-length": Buffer.byteLength(answer.body) }).end(answer.body)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  })
  afterAll(async () => {
    server?.closeAllConnections()
    await new Promise<void>((resolve) => server?.close(() => resolve()))
  })

  const error = (code: string, message: string) =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>r</RequestId></Error>`
  const target: MultipartTarget = { jobId: "j", key: "sources/j", uploadId: "u-1" }

  const scripted = <A, E>(use: (slots: Effect.Success<ReturnType<typeof makeS3UploadSlots>>) => Effect.Effect<A, E>) =>
    Effect.scoped(Effect.gen(function*() {
      const { port } = server.address() as AddressInfo
      const slots = yield* makeS3UploadSlots({
        bucket: "uploads",
        clientConfig: { endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", forcePathStyle: true, credentials: s3rverCredentials, maxAttempts: 1 }
      })
      return yield* use(slots)
    }))

  const complete = (slots: Effect.Success<ReturnType<typeof makeS3UploadSlots>>, script: Scripted) =>
    Effect.suspend(() => {
      answer = script
      return slots.completeMultipart(target, [{ partNumber: 1, etag: "\"abc\"" }])
    })

  it.live("CompleteMultipartUpload: an error inside a 200 answer, or an empty 200, is a retryable UploadFailed; a result is success", () =>
    scripted((slots) =>
      Effect.gen(function*() {
        const result = `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult><Bucket>uploads</Bucket><Key>sources/j</Key><ETag>"x-1"</ETag></CompleteMultipartUploadResult>`
        yield* complete(slots, { status: 200, body: result })
        assert.strictEqual(seen.at(-1), "POST /uploads/sources/j?uploadId=u-1")

        // S3 sends 200, keeps the connection alive with white space, then the error.
        const embedded = yield* refused(complete(slots, { status: 200, body: `<?xml version="1.0" encoding="UTF-8"?>\n\n   ${error("InternalError", "We encountered an internal error. Please try again.").replace(/^<\?xml[^>]*>\n/, "")}` }))
        assert.strictEqual(embedded._tag, "UploadFailed")
        assert.isTrue(embedded._tag === "UploadFailed" && embedded.retryable, embedded.message)
        assert.include(embedded.message, "InternalError")

        const empty = yield* refused(complete(slots, { status: 200, body: "" }))
        assert.isTrue(empty._tag === "UploadFailed" && empty.retryable, empty.message)
      })
    ))

  it.live("CompleteMultipartUpload: S3's part errors are PartsRejected, NoSuchUpload is UploadNotFound, throttling retryable, access denied not", () =>
    scripted((slots) =>
      Effect.gen(function*() {
        for (const code of ["InvalidPart", "InvalidPartOrder", "EntityTooSmall"]) {
          const rejected = yield* refused(complete(slots, { status: 400, body: error(code, `${code} from S3`) }))
          assert.strictEqual(rejected._tag, "PartsRejected", code)
          assert.isTrue(rejected._tag === "PartsRejected" && rejected.field === "parts")
          assert.include(rejected.message, `${code} from S3`)
          assert.isFalse(rejected.retryable)
        }
        const gone = yield* refused(complete(slots, { status: 404, body: error("NoSuchUpload", "The specified upload does not exist.") }))
        assert.strictEqual(gone._tag, "UploadNotFound")
        const slow = yield* refused(complete(slots, { status: 503, body: error("SlowDown", "Please reduce your request rate.") }))
        assert.isTrue(slow._tag === "UploadFailed" && slow.retryable, slow.message)
        const internal = yield* refused(complete(slots, { status: 500, body: error("InternalError", "We encountered an internal error.") }))
        assert.isTrue(internal._tag === "UploadFailed" && internal.retryable, internal.message)
        const denied = yield* refused(complete(slots, { status: 403, body: error("AccessDenied", "Access Denied") }))
        assert.isTrue(denied._tag === "UploadFailed" && !denied.retryable, denied.message)
      })
    ))

  it.live("ListParts and AbortMultipartUpload: NoSuchUpload is UploadNotFound for a listing and success for an abort; others are UploadFailed", () =>
    scripted((slots) =>
      Effect.gen(function*() {
        answer = { status: 404, body: error("NoSuchUpload", "The specified upload does not exist.") }
        assert.strictEqual(tagOf(yield* refused(slots.listParts(target))), "UploadNotFound")
        yield* slots.abortMultipart(target)
        assert.match(seen.at(-1) ?? "", /^DELETE \/uploads\/sources\/j\?uploadId=u-1(&|$)/)
        answer = { status: 403, body: error("AccessDenied", "Access Denied") }
        const denied = yield* refused(slots.abortMultipart(target))
        assert.isFalse(denied.retryable)
        answer = { status: 503, body: error("SlowDown", "Please reduce your request rate.") }
        const slow = yield* refused(slots.listParts(target))
        assert.isTrue(slow._tag === "UploadFailed" && slow.retryable)
        answer = { status: 200, body: `<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult><Bucket>uploads</Bucket><Key>sources/j</Key></InitiateMultipartUploadResult>` }
        const noId = yield* refused(slots.startMultipart({ jobId: "j", key: "sources/j" }))
        assert.strictEqual(noId._tag, "UploadFailed")
      })
    ))
})
