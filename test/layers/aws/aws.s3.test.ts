/**
 * The S3 storage and upload-slot layers.
 * - The Storage contract against @20minutes/s3rver (checks SigV4) on 127.0.0.1, with fresh buckets
 *   per layer. s3rver ignores `If-None-Match: *` (it overwrites), so the contract runs through a
 *   test-side shim (test/support/s3Peer.ts) that gives 412 for an existing key, as S3 does.
 * - Presigned upload slots: static URL checks, an independent SigV4 recomputation with node:crypto
 *   (so the proof does not rest on the emulator's checks), and real PUTs through s3rver.
 * - S3 answers the peer cannot produce (412 from S3 itself, 409 ConditionalRequestConflict,
 *   throttling, DeleteObjects partial failures) with aws-sdk-client-mock.
 */
import { createHash, createHmac } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException
} from "@aws-sdk/client-s3"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { AwsClientStub } from "aws-sdk-client-mock"
import { mockClient } from "aws-sdk-client-mock"
import type { Duration } from "effect"
import { Effect, Layer, Option, Stream } from "effect"
import { makeS3Storage } from "../../../src/layers/aws/S3Storage.ts"
import { makeS3UploadSlots } from "../../../src/layers/aws/S3UploadSlots.ts"
import { Storage } from "../../../src/services/Storage.ts"
import { storageContract } from "../../contracts/storageContract.ts"
import type { IfNoneMatchShim, S3Peer } from "../../support/s3Peer.ts"
import { createBuckets, peerClientConfig, s3rverCredentials, startIfNoneMatchShim, startS3rver, uniqueBucket } from "../../support/s3Peer.ts"

let peer: S3Peer
let shim: IfNoneMatchShim

beforeAll(async () => {
  peer = await startS3rver()
  shim = await startIfNoneMatchShim(peer.endpoint)
})

afterAll(async () => {
  await shim?.close()
  await peer?.stop()
})

/** S3 storage on the peer (through the If-None-Match shim) with two fresh buckets. */
const peerStorage = (partSize?: number) =>
  Layer.effect(
    Storage,
    Effect.gen(function*() {
      const buckets = { uploads: uniqueBucket("up"), outputs: uniqueBucket("out") }
      yield* Effect.promise(() => createBuckets(peer.endpoint, buckets.uploads, buckets.outputs))
      return yield* makeS3Storage({ buckets, clientConfig: peerClientConfig(shim.endpoint), ...(partSize === undefined ? {} : { partSize }) })
    })
  )

storageContract("s3 (s3rver)", () => peerStorage())

describe("S3 storage on s3rver", () => {
  it.live("conditional puts reach the peer as If-None-Match: *", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const before = shim.seen.length
      yield* storage.put("outputs", "once/manifest.mpd", "first", { ifNoneMatch: true })
      yield* storage.put("outputs", "once/other.mpd", "x")
      assert.deepStrictEqual(shim.seen.slice(before), ["*"])
    }).pipe(Effect.provide(peerStorage())))

  it.live("streams and files larger than a part go multipart; a short multipart stream stores nothing", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const partSize = 5 * 1024 * 1024
      const size = 2 * partSize + 12_345
      const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 253)
      const chunks = (bytes: number) =>
        Stream.fromIterable(Array.from({ length: Math.ceil(bytes / chunk.length) }, (_, i) => chunk.subarray(0, Math.min(chunk.length, bytes - i * chunk.length))))
      yield* storage.putStream("uploads", "big/stream.bin", chunks(size), { contentLength: size })
      assert.deepStrictEqual(yield* storage.head("uploads", "big/stream.bin"), Option.some({ key: "big/stream.bin", size }))
      const stored = yield* storage.get("uploads", "big/stream.bin")
      assert.strictEqual(stored[size - 1], chunk[(size - 1) % chunk.length])

      const short = yield* Effect.flip(storage.putStream("uploads", "big/short.bin", chunks(size - 1000), { contentLength: size }))
      assert.strictEqual(short._tag, "StorageFailed")
      assert.isFalse(short._tag === "StorageFailed" && short.retryable)
      const long = yield* Effect.flip(storage.putStream("uploads", "big/short.bin", chunks(size + 1000), { contentLength: size }))
      assert.strictEqual(long._tag, "StorageFailed")
      assert.isTrue(Option.isNone(yield* storage.head("uploads", "big/short.bin")))

      const folder = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-s3-")))
      const file = path.join(folder, "big.bin")
      yield* Effect.promise(() => fs.writeFile(file, Buffer.alloc(size, 7)))
      yield* storage.putFile("uploads", "big/file.bin", file)
      assert.deepStrictEqual(yield* storage.head("uploads", "big/file.bin"), Option.some({ key: "big/file.bin", size }))
      yield* Effect.promise(() => fs.rm(folder, { recursive: true, force: true }))
    }).pipe(Effect.provide(peerStorage(5 * 1024 * 1024))))

  it.live("the source stream's own error comes back unchanged and nothing is stored", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const body = Stream.concat(Stream.make(new Uint8Array([1, 2])), Stream.fail("source broke" as const))
      const error = yield* Effect.flip(storage.putStream("uploads", "broken.bin", body, { contentLength: 4 }))
      assert.strictEqual(error, "source broke")
      assert.isTrue(Option.isNone(yield* storage.head("uploads", "broken.bin")))
    }).pipe(Effect.provide(peerStorage())))

  it.live("lists past one ListObjectsV2 page and deletes them all", () =>
    Effect.gen(function*() {
      const storage = yield* Storage
      const keys = Array.from({ length: 1010 }, (_, i) => `many/${String(i).padStart(4, "0")}`)
      yield* Effect.forEach(keys, (key) => storage.put("outputs", key, "x"), { concurrency: 32, discard: true })
      const listed = yield* storage.list("outputs", "many/")
      assert.deepStrictEqual(listed.map((o) => o.key), keys)
      assert.strictEqual(yield* storage.deletePrefix("outputs", "many/"), 1010)
      assert.deepStrictEqual(yield* storage.list("outputs", "many/"), [])
    }).pipe(Effect.provide(peerStorage())))
})

// ---------------------------------------------------------------------------------------------
// An independent SigV4 query-signature check (node:crypto only, no SDK code), as S3 does it.

const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data, "utf8").digest()
const amzDateMillis = (d: string) =>
  Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8)), Number(d.slice(9, 11)), Number(d.slice(11, 13)), Number(d.slice(13, 15)))

const verifyPresigned = (input: {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly secret: string
  readonly now: number
}): { readonly ok: true } | { readonly ok: false; readonly reason: string } => {
  const url = new URL(input.url)
  const q = url.searchParams
  for (const name of ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"]) {
    if (!q.has(name)) return { ok: false, reason: `missing ${name}` }
  }
  if (q.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256") return { ok: false, reason: "algorithm" }
  const amzDate = q.get("X-Amz-Date") ?? ""
  if (input.now > amzDateMillis(amzDate) + Number(q.get("X-Amz-Expires")) * 1000) return { ok: false, reason: "expired" }
  const signed = (q.get("X-Amz-SignedHeaders") ?? "").split(";")
  const lower = Object.fromEntries(Object.entries(input.headers).map(([k, v]) => [k.toLowerCase(), v]))
  const canonicalQuery = [...q.entries()]
    .filter(([k]) => k !== "X-Amz-Signature")
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&")
  const canonicalHeaders = signed.map((h) => `${h}:${(lower[h] ?? "").trim().replace(/\s+/g, " ")}\n`).join("")
  const canonicalRequest = [input.method, url.pathname, canonicalQuery, canonicalHeaders, signed.join(";"), q.get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD"].join("\n")
  const [, date = "", region = "", service = ""] = (q.get("X-Amz-Credential") ?? "").split("/")
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, `${date}/${region}/${service}/aws4_request`, createHash("sha256").update(canonicalRequest).digest("hex")].join("\n")
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${input.secret}`, date), region), service), "aws4_request")
  const signature = createHmac("sha256", signingKey).update(stringToSign).digest("hex")
  return signature === q.get("X-Amz-Signature") ? { ok: true } : { ok: false, reason: "signature mismatch" }
}

describe("S3 upload slots (presigned PUT)", () => {
  const body = new TextEncoder().encode("0123456789abcdef")

  /**
   * Slots for a fresh bucket on s3rver (direct, no shim), and a client to look at it. `expiresIn`
   * is the layer's (default 5 s); tests that are not about expiry give a long one, so their PUTs
   * never race it on a busy machine.
   */
  const withSlots = <A, E>(use: (tools: {
    readonly slots: Effect.Success<ReturnType<typeof makeS3UploadSlots>>
    readonly stored: (key: string) => Promise<Uint8Array | undefined>
  }) => Effect.Effect<A, E>, expiresIn?: Duration.Input) =>
    Effect.scoped(Effect.gen(function*() {
      const bucket = uniqueBucket("slots")
      yield* Effect.promise(() => createBuckets(peer.endpoint, bucket))
      // Default checksum settings on purpose: the layer must force "WHEN_REQUIRED" itself.
      const slots = yield* makeS3UploadSlots({
        bucket,
        ...(expiresIn === undefined ? {} : { expiresIn }),
        clientConfig: { endpoint: peer.endpoint, region: "us-east-1", forcePathStyle: true, credentials: s3rverCredentials }
      })
      const client = yield* Effect.acquireRelease(Effect.sync(() => new S3Client(peerClientConfig(peer.endpoint))), (c) => Effect.sync(() => c.destroy()))
      const stored = (key: string) =>
        client.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then(
          (found) => found.Body?.transformToByteArray(),
          (error: unknown) => {
            if ((error as { name?: string }).name === "NoSuchKey") return undefined
            throw error
          }
        )
      return yield* use({ slots, stored })
    }))

  it.live("the URL expires in 5 s, signs the Content-Length, and carries no checksum", () =>
    withSlots(({ slots }) =>
      Effect.gen(function*() {
        const slot = yield* slots.create({ jobId: "j1", key: "sources/j1", contentLength: body.length })
        const url = new URL(slot.url)
        assert.strictEqual(slot.method, "PUT")
        assert.deepStrictEqual(slot.headers, { "Content-Length": "16" })
        assert.strictEqual(url.searchParams.get("X-Amz-Expires"), "5")
        assert.include((url.searchParams.get("X-Amz-SignedHeaders") ?? "").split(";"), "content-length")
        assert.isFalse([...url.searchParams.keys()].some((k) => /^x-amz-checksum-|^x-amz-sdk-checksum-algorithm$/i.test(k)), url.search)
        assert.strictEqual(slot.expiresAt, amzDateMillis(url.searchParams.get("X-Amz-Date") ?? "") + 5000)

        // Recomputed independently: the right size verifies; another size or a later time does not.
        // The checks are at given times (the last valid millisecond, the first expired one), not
        // at whatever time it is now.
        const headers = { host: url.host, "content-length": "16" }
        const check = (h: Record<string, string>, now = slot.expiresAt) => verifyPresigned({ method: "PUT", url: slot.url, headers: h, secret: s3rverCredentials.secretAccessKey, now })
        assert.deepStrictEqual(check(headers), { ok: true })
        assert.deepStrictEqual(check({ ...headers, "content-length": "17" }), { ok: false, reason: "signature mismatch" })
        assert.deepStrictEqual(check({ ...headers, "content-length": "15" }), { ok: false, reason: "signature mismatch" })
        assert.deepStrictEqual(check(headers, slot.expiresAt + 1), { ok: false, reason: "expired" })
        const stretched = new URL(slot.url)
        stretched.searchParams.set("X-Amz-Expires", "3600")
        assert.deepStrictEqual(verifyPresigned({ method: "PUT", url: stretched.toString(), headers, secret: s3rverCredentials.secretAccessKey, now: slot.expiresAt }), {
          ok: false,
          reason: "signature mismatch"
        })

        // With a content type, it is signed too and handed back as a header to send.
        const typed = yield* slots.create({ jobId: "j2", key: "sources/j2", contentLength: 16, contentType: "video/mp4" })
        assert.deepStrictEqual(typed.headers, { "Content-Length": "16", "Content-Type": "video/mp4" })
        const typedUrl = new URL(typed.url)
        assert.include((typedUrl.searchParams.get("X-Amz-SignedHeaders") ?? "").split(";"), "content-type")
        const typedCheck = (contentType: string) =>
          verifyPresigned({ method: "PUT", url: typed.url, headers: { host: typedUrl.host, "content-length": "16", "content-type": contentType }, secret: s3rverCredentials.secretAccessKey, now: typed.expiresAt })
        assert.deepStrictEqual(typedCheck("video/mp4"), { ok: true })
        assert.deepStrictEqual(typedCheck("text/html"), { ok: false, reason: "signature mismatch" })
      })
    ))

  it.live("through s3rver: the exact size is stored, another size is refused and stores nothing", () =>
    withSlots(({ slots, stored }) =>
      Effect.gen(function*() {
        const good = yield* slots.create({ jobId: "j1", key: "sources/good", contentLength: body.length })
        const accepted = yield* Effect.promise(() => fetch(good.url, { method: "PUT", headers: good.headers, body }))
        assert.strictEqual(accepted.status, 200)
        assert.deepStrictEqual(yield* Effect.promise(() => stored("sources/good")), body)

        const bad = yield* slots.create({ jobId: "j2", key: "sources/bad", contentLength: body.length })
        for (const wrong of [new Uint8Array([...body, 33]), body.subarray(0, 15)]) {
          const refused = yield* Effect.promise(() => fetch(bad.url, { method: "PUT", body: wrong }))
          assert.strictEqual(refused.status, 403, `${wrong.length} bytes`)
          assert.include(yield* Effect.promise(() => refused.text()), "SignatureDoesNotMatch")
        }
        assert.isUndefined(yield* Effect.promise(() => stored("sources/bad")))

        const typed = yield* slots.create({ jobId: "j3", key: "sources/typed", contentLength: body.length, contentType: "video/mp4" })
        const wrongType = yield* Effect.promise(() => fetch(typed.url, { method: "PUT", headers: { "Content-Type": "text/html" }, body }))
        assert.strictEqual(wrongType.status, 403)
        assert.include(yield* Effect.promise(() => wrongType.text()), "SignatureDoesNotMatch")
        const rightType = yield* Effect.promise(() => fetch(typed.url, { method: "PUT", headers: typed.headers, body }))
        assert.strictEqual(rightType.status, 200)
      }), "1 hour"))

  // The expiry set short (1 s) rather than sleeping past 5 s; s3rver refuses once its clock is past
  // X-Amz-Date + X-Amz-Expires, which is the slot's expiresAt. Waiting until then is a lower bound
  // only: a slow machine makes the URL more expired, never less.
  it.live("through s3rver: after the expiry the PUT is refused", () =>
    withSlots(({ slots, stored }) =>
      Effect.gen(function*() {
        const slot = yield* slots.create({ jobId: "j1", key: "sources/late", contentLength: body.length })
        assert.strictEqual(new URL(slot.url).searchParams.get("X-Amz-Expires"), "1")
        yield* Effect.sleep(Math.max(0, slot.expiresAt - Date.now()) + 50)
        const refused = yield* Effect.promise(() => fetch(slot.url, { method: "PUT", headers: slot.headers, body }))
        assert.strictEqual(refused.status, 403)
        assert.include(yield* Effect.promise(() => refused.text()), "Request has expired")
        assert.isUndefined(yield* Effect.promise(() => stored("sources/late")))
      }), "1 second"))
})

// ---------------------------------------------------------------------------------------------
// What S3 answers and the peer cannot: mocked at the client.

describe("S3 storage error mapping (aws-sdk-client-mock)", () => {
  const s3Error = (name: string, status: number, fault: "client" | "server" = status >= 500 ? "server" : "client") =>
    new S3ServiceException({ name, $fault: fault, $metadata: { httpStatusCode: status }, message: `${name} from S3` })

  const withMock = <A, E>(use: (mock: AwsClientStub<S3Client>) => Effect.Effect<A, E, Storage>) =>
    Effect.suspend(() => {
      const client = new S3Client({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "y" }, maxAttempts: 1 })
      const mock = mockClient(client)
      return use(mock).pipe(
        Effect.provide(Layer.effect(Storage, makeS3Storage({ buckets: { uploads: "u-bucket", outputs: "o-bucket" }, client }))),
        Effect.ensuring(Effect.sync(() => {
          mock.restore()
          client.destroy()
        }))
      )
    })

  it.effect("a conditional put sends If-None-Match: * and maps 412 PreconditionFailed to ObjectExists", () =>
    withMock((mock) =>
      Effect.gen(function*() {
        mock.on(PutObjectCommand).rejects(s3Error("PreconditionFailed", 412))
        const storage = yield* Storage
        const error = yield* Effect.flip(storage.put("outputs", "a/manifest.mpd", "x", { ifNoneMatch: true, contentType: "application/dash+xml" }))
        assert.strictEqual(error._tag, "ObjectExists")
        const input = mock.commandCalls(PutObjectCommand)[0]?.args[0].input
        assert.strictEqual(input?.IfNoneMatch, "*")
        assert.strictEqual(input?.ContentType, "application/dash+xml")
        assert.strictEqual(input?.Bucket, "o-bucket")
      })
    ))

  it.effect("409 ConditionalRequestConflict is a retryable StorageFailed", () =>
    withMock((mock) =>
      Effect.gen(function*() {
        mock.on(PutObjectCommand).rejects(s3Error("ConditionalRequestConflict", 409))
        const error = yield* Effect.flip((yield* Storage).put("outputs", "a/manifest.mpd", "x", { ifNoneMatch: true }))
        assert.strictEqual(error._tag, "StorageFailed")
        assert.isTrue(error._tag === "StorageFailed" && error.retryable)
      })
    ))

  it.live("deletePrefix tries a batch again after InternalError, for the whole request or for single keys", () =>
    withMock((mock) =>
      Effect.gen(function*() {
        mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: "j/a.m4s", Size: 1 }, { Key: "j/b.m4s", Size: 1 }], IsTruncated: false })
        mock.on(DeleteObjectsCommand)
          .rejectsOnce(s3Error("InternalError", 500))
          .resolvesOnce({ Errors: [{ Key: "j/b.m4s", Code: "InternalError", Message: "We encountered an internal error. Please try again." }] })
          .resolves({})
        assert.strictEqual(yield* (yield* Storage).deletePrefix("outputs", "j/"), 2)
        assert.strictEqual(mock.commandCalls(DeleteObjectsCommand).length, 3)
        // AccessDenied for a key is not worth another request.
        mock.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: "j/a.m4s", Code: "AccessDenied", Message: "no" }] })
        const denied = yield* Effect.flip((yield* Storage).deletePrefix("outputs", "j/"))
        assert.isFalse(denied.retryable)
        assert.strictEqual(mock.commandCalls(DeleteObjectsCommand).length, 4)
      })
    ))

  it.effect("throttling is retryable, access denied is not", () =>
    withMock((mock) =>
      Effect.gen(function*() {
        const storage = yield* Storage
        mock.on(GetObjectCommand).rejects(s3Error("SlowDown", 503))
        const slow = yield* Effect.flip(storage.get("uploads", "k"))
        assert.isTrue(slow._tag === "StorageFailed" && slow.retryable)
        mock.on(HeadObjectCommand).rejects(s3Error("AccessDenied", 403))
        const denied = yield* Effect.flip(storage.head("uploads", "k"))
        assert.isFalse(denied.retryable)
      })
    ))

  it.effect("head of a missing key is none, get is ObjectNotFound, readableUrl is ObjectNotFound", () =>
    withMock((mock) =>
      Effect.gen(function*() {
        const storage = yield* Storage
        mock.on(HeadObjectCommand).rejects(s3Error("NotFound", 404))
        mock.on(GetObjectCommand).rejects(s3Error("NoSuchKey", 404))
        assert.isTrue(Option.isNone(yield* storage.head("uploads", "k")))
        assert.strictEqual((yield* Effect.flip(storage.get("uploads", "k")))._tag, "ObjectNotFound")
        assert.strictEqual((yield* Effect.flip(storage.readableUrl("uploads", "k")))._tag, "ObjectNotFound")
      })
    ))

  it.effect("deletePrefix follows continuation tokens and deletes in batches of at most 1000", () =>
    withMock((mock) =>
      Effect.gen(function*() {
        const keys = Array.from({ length: 2500 }, (_, i) => ({ Key: `p/${i}`, Size: 1 }))
        mock.on(ListObjectsV2Command, { ContinuationToken: undefined }).resolves({ Contents: keys.slice(0, 1000), IsTruncated: true, NextContinuationToken: "t1" })
        mock.on(ListObjectsV2Command, { ContinuationToken: "t1" }).resolves({ Contents: keys.slice(1000, 2000), IsTruncated: true, NextContinuationToken: "t2" })
        mock.on(ListObjectsV2Command, { ContinuationToken: "t2" }).resolves({ Contents: keys.slice(2000), IsTruncated: false })
        mock.on(DeleteObjectsCommand).resolves({})
        assert.strictEqual(yield* (yield* Storage).deletePrefix("outputs", "p/"), 2500)
        assert.deepStrictEqual(mock.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete?.Objects?.length), [1000, 1000, 500])
      })
    ))

  it.effect("objects DeleteObjects could not delete fail deletePrefix", () =>
    withMock((mock) =>
      Effect.gen(function*() {
        mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: "p/a", Size: 1 }, { Key: "p/b", Size: 1 }], IsTruncated: false })
        mock.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: "p/b", Code: "AccessDenied", Message: "Access Denied" }] })
        const error = yield* Effect.flip((yield* Storage).deletePrefix("outputs", "p/"))
        assert.strictEqual(error._tag, "StorageFailed")
        assert.isFalse(error.retryable)
        assert.include(error.message, "p/b")
      })
    ))
})
