/**
 * Storage on S3: one bucket per area. Small puts are one PutObject; files and streams go through
 * @aws-sdk/lib-storage `Upload` (a single PutObject when they fit in one part, multipart otherwise),
 * read part by part, never whole into memory. S3 objects only appear once a PutObject or
 * CompleteMultipartUpload succeeds, so readers never see half an object.
 *
 * Conditional puts (`ifNoneMatch`) send `If-None-Match: *` (on CompleteMultipartUpload too): S3's
 * 412 PreconditionFailed becomes `ObjectExists`; its 409 ConditionalRequestConflict (a concurrent
 * conditional write to the same key) is a retryable `StorageFailed`.
 */
import type { Readable } from "node:stream"
import { PassThrough } from "node:stream"
import { createReadStream, createWriteStream } from "node:fs"
import { rm } from "node:fs/promises"
import * as NodeSink from "@effect/platform-node/NodeSink"
import type { S3ClientConfig } from "@aws-sdk/client-s3"
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client
} from "@aws-sdk/client-s3"
import { Upload } from "@aws-sdk/lib-storage"
import { getSignedUrl } from "@aws-sdk/s3-request-presigner"
import { Duration, Effect, Layer, Option, Stream } from "effect"
import { retryTransient } from "../../domain/retryTransient.ts"
import { ObjectExists, ObjectNotFound, StorageFailed } from "../../domain/Errors.ts"
import type { ObjectInfo, PutOptions, StorageArea, StorageShape } from "../../services/Storage.ts"
import { Storage } from "../../services/Storage.ts"
import { describeAwsError } from "./errors.ts"

export interface S3StorageOptions {
  readonly buckets: { readonly uploads: string; readonly outputs: string }
  /** A client to use as is; otherwise one is made from `clientConfig` and destroyed with the layer. */
  readonly client?: S3Client
  readonly clientConfig?: S3ClientConfig
  /** How long a `readableUrl` (presigned GET) stays valid. Default 6 hours (ffmpeg may reopen it late in a long encode). */
  readonly readableUrlExpiry?: Duration.Input
  /** Per single-request call (not whole uploads). Default 30 seconds. */
  readonly callTimeout?: Duration.Input
  /** Part size for multipart uploads (at least 5 MiB). Default 8 MiB. */
  readonly partSize?: number
}

interface RawSdkError {
  readonly name?: unknown
  readonly $metadata?: { readonly httpStatusCode?: unknown }
}

const nameOf = (error: unknown) => typeof (error as RawSdkError | null)?.name === "string" ? (error as { name: string }).name : ""
const statusOf = (error: unknown) => {
  const status = (error as RawSdkError | null)?.$metadata?.httpStatusCode
  return typeof status === "number" ? status : undefined
}
const isPreconditionFailed = (error: unknown) => nameOf(error) === "PreconditionFailed" || statusOf(error) === 412
const isNotFound = (error: unknown) => ["NoSuchKey", "NotFound"].includes(nameOf(error)) || statusOf(error) === 404

/** Any SDK failure as a `StorageFailed`; a 409 ConditionalRequestConflict can succeed on a retry. */
export const storageFailure = (operation: string, key: string) => (error: unknown): StorageFailed => {
  const { reason, retryable } = describeAwsError(error)
  const conflict = ["ConditionalRequestConflict", "OperationAborted"].includes(nameOf(error))
  return new StorageFailed({ operation, key, reason, retryable: retryable || conflict })
}

/** Keys as the folder storage accepts them: not empty, not absolute, no `..` segment. */
const validKey = (key: string) => key.length > 0 && !key.startsWith("/") && !key.split("/").includes("..")

const maxDeleteBatch = 1000

export const makeS3Storage = Effect.fnUntraced(function*(options: S3StorageOptions) {
  const client = options.client ??
    (yield* Effect.acquireRelease(
      Effect.sync(() => new S3Client(options.clientConfig ?? {})),
      (made) => Effect.sync(() => made.destroy())
    ))
  const callTimeout = options.callTimeout ?? "30 seconds"
  const readableSeconds = Math.max(1, Math.floor(Duration.toSeconds(Duration.fromInputUnsafe(options.readableUrlExpiry ?? "6 hours"))))
  const partSize = Math.max(5 * 1024 * 1024, options.partSize ?? 8 * 1024 * 1024)
  const bucketOf = (area: StorageArea) => options.buckets[area]

  const checkKey = (operation: string, key: string) =>
    validKey(key) ? Effect.void : Effect.fail(new StorageFailed({ operation, key, reason: "invalid key", retryable: false }))

  /** One SDK request with our timeout; `special` may claim an error before the generic mapping. */
  const call = <A, E = never>(
    operation: string,
    key: string,
    run: (abortSignal: AbortSignal) => Promise<A>,
    special?: (error: unknown) => E | undefined
  ): Effect.Effect<A, StorageFailed | E> =>
    Effect.tryPromise({
      try: (signal) => run(signal),
      catch: (error): StorageFailed | E => special?.(error) ?? storageFailure(operation, key)(error)
    }).pipe(
      Effect.timeoutOrElse({
        duration: callTimeout,
        orElse: () =>
          Effect.fail(new StorageFailed({ operation, key, reason: `no answer within ${Duration.format(Duration.fromInputUnsafe(callTimeout))}`, retryable: true }))
      })
    )

  const conditional = (key: string, options: PutOptions | undefined) => (error: unknown) =>
    options?.ifNoneMatch && isPreconditionFailed(error) ? new ObjectExists({ key }) : undefined

  const uploadParams = (area: StorageArea, key: string, body: Readable, options: PutOptions | undefined) => ({
    Bucket: bucketOf(area),
    Key: key,
    Body: body,
    ...(options?.contentType === undefined ? {} : { ContentType: options.contentType }),
    ...(options?.ifNoneMatch ? { IfNoneMatch: "*" } : {})
  })

  /**
   * Runs a lib-storage Upload of `body`. Interrupted (or failed from the producing side), it
   * destroys the body so the Upload stops reading, lets it abort its multipart upload (no parts
   * left behind), and aborts outright if that takes too long.
   */
  const upload = (operation: string, area: StorageArea, key: string, body: Readable, options: PutOptions | undefined) =>
    Effect.suspend(() => {
      const running = new Upload({ client, params: uploadParams(area, key, body, options), partSize, queueSize: 4, leavePartsOnError: false })
      const done = running.done()
      done.catch(() => undefined)
      return Effect.tryPromise({
        try: () => done,
        catch: (error) => conditional(key, options)(error) ?? storageFailure(operation, key)(error)
      }).pipe(
        Effect.asVoid,
        Effect.onInterrupt(() =>
          Effect.promise(async () => {
            body.destroy(new Error("upload cancelled"))
            const settled = await Promise.race([
              done.then(() => true, () => true),
              new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000).unref())
            ])
            if (!settled) await running.abort()
          })
        )
      )
    })

  const list = Effect.fn("Storage.list")(function*(area: StorageArea, prefix: string) {
    const objects: Array<ObjectInfo> = []
    let token: string | undefined
    do {
      const page = yield* call("list", prefix, (abortSignal) =>
        client.send(
          new ListObjectsV2Command({ Bucket: bucketOf(area), Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }),
          { abortSignal }
        ))
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) objects.push({ key: object.Key, size: object.Size ?? 0 })
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token !== undefined)
    return objects
  })

  const head = Effect.fn("Storage.head")(function*(area: StorageArea, key: string) {
    yield* checkKey("head", key)
    return yield* call(
      "head",
      key,
      (abortSignal) =>
        client.send(new HeadObjectCommand({ Bucket: bucketOf(area), Key: key }), { abortSignal }).then(
          (found) => Option.some<ObjectInfo>({ key, size: found.ContentLength ?? 0 }),
          (error) => {
            if (isNotFound(error)) return Option.none<ObjectInfo>()
            throw error
          }
        )
    )
  })

  /** One DeleteObjects request (at most 1000 keys); keys S3 reports as not deleted fail it. */
  const deleteBatch = Effect.fnUntraced(function*(area: StorageArea, prefix: string, batch: ReadonlyArray<{ readonly key: string }>) {
    const result = yield* call("deletePrefix", prefix, (abortSignal) =>
      client.send(
        new DeleteObjectsCommand({ Bucket: bucketOf(area), Delete: { Objects: batch.map((o) => ({ Key: o.key })), Quiet: true } }),
        { abortSignal }
      ))
    const errors = result.Errors ?? []
    if (errors.length === 0) return
    const first = errors[0]
    return yield* new StorageFailed({
      operation: "deletePrefix",
      key: prefix,
      reason: `${errors.length} of ${batch.length} objects not deleted, first ${first?.Key ?? "?"}: ${first?.Code ?? "?"} ${first?.Message ?? ""}`.trim(),
      retryable: errors.some((e) => e.Code === "InternalError" || e.Code === "SlowDown" || e.Code === "ServiceUnavailable")
    })
  })

  /**
   * A GetObject whose request (up to its headers) is bounded like every call; its body is left to
   * the caller to read as it flows.
   */
  const requestObject = (operation: string, area: StorageArea, key: string) =>
    Effect.flatMap(checkKey(operation, key), () =>
      call(
        operation,
        key,
        (abortSignal) => client.send(new GetObjectCommand({ Bucket: bucketOf(area), Key: key }), { abortSignal }),
        (error) => (isNotFound(error) ? new ObjectNotFound({ key }) : undefined)
      ))

  const storage: StorageShape = Storage.of({
    put: Effect.fn("Storage.put")(function*(area, key, body, options) {
      yield* checkKey("put", key)
      yield* call(
        "put",
        key,
        (abortSignal) =>
          client.send(
            new PutObjectCommand({
              Bucket: bucketOf(area),
              Key: key,
              Body: body,
              ...(options?.contentType === undefined ? {} : { ContentType: options.contentType }),
              ...(options?.ifNoneMatch ? { IfNoneMatch: "*" } : {})
            }),
            { abortSignal }
          ),
        conditional(key, options)
      )
    }),
    putFile: Effect.fn("Storage.putFile")(function*(area, key, path, options) {
      yield* checkKey("putFile", key)
      yield* upload("putFile", area, key, createReadStream(path), options)
    }),
    putStream: <E>(area: StorageArea, key: string, body: Stream.Stream<Uint8Array, E>, options: PutOptions & { readonly contentLength: number }) =>
      Effect.gen(function*() {
        yield* checkKey("putStream", key)
        const mismatch = (reason: string) => new StorageFailed({ operation: "putStream", key, reason, retryable: false })
        const pipe = new PassThrough()
        let total = 0
        const write = (chunk: Uint8Array) =>
          Effect.callback<void, StorageFailed>((resume) => {
            pipe.write(chunk, (error) => resume(error ? Effect.fail(storageFailure("putStream", key)(error)) : Effect.void))
          })
        // Feeds the pipe; it is only ended once exactly `contentLength` bytes went through, so an
        // Upload never completes (nor sends its single PutObject) for a short or long stream.
        const produce = Stream.runForEach(body, (chunk) => {
          total += chunk.length
          return total > options.contentLength ? Effect.fail(mismatch(`more than the declared ${options.contentLength} bytes`)) : write(chunk)
        }).pipe(
          Effect.flatMap(() =>
            total === options.contentLength
              ? Effect.sync(() => void pipe.end())
              : Effect.fail(mismatch(`got ${total} of the declared ${options.contentLength} bytes`))
          )
        )
        yield* Effect.all([produce, upload("putStream", area, key, pipe, options)], { concurrency: 2, discard: true })
      }),
    get: Effect.fn("Storage.get")(function*(area, key) {
      yield* checkKey("get", key)
      return yield* call(
        "get",
        key,
        async (abortSignal) => {
          const found = await client.send(new GetObjectCommand({ Bucket: bucketOf(area), Key: key }), { abortSignal })
          return found.Body === undefined ? new Uint8Array() : await found.Body.transformToByteArray()
        },
        (error) => (isNotFound(error) ? new ObjectNotFound({ key }) : undefined)
      )
    }),
    getStream: (area, key) =>
      Stream.unwrap(Effect.gen(function*() {
        const found = yield* requestObject("getStream", area, key)
        const body = found.Body
        return body === undefined
          ? Stream.empty
          : Stream.fromReadableStream({ evaluate: () => body.transformToWebStream(), onError: storageFailure("getStream", key) })
      })),
    copyToFile: <E>(area: StorageArea, key: string, target: string, options?: { readonly beforeCopy?: (bytes: number) => Effect.Effect<void, E> }) =>
      Effect.gen(function*() {
        // The body flows to the file as it is read (a source of gigabytes is never held in memory).
        const found = yield* requestObject("copyToFile", area, key)
        const body = found.Body
        const web = body?.transformToWebStream()
        if (options?.beforeCopy !== undefined) {
          // A refused copy lets go of the response it will not read.
          yield* options.beforeCopy(found.ContentLength ?? 0).pipe(Effect.onError(() => Effect.promise(() => web?.cancel().catch(() => undefined) ?? Promise.resolve())))
        }
        const bytes = web === undefined ? Stream.empty : Stream.fromReadableStream({ evaluate: () => web, onError: storageFailure("copyToFile", key) })
        yield* Stream.run(bytes, NodeSink.fromWritable({ evaluate: () => createWriteStream(target), onError: storageFailure("copyToFile", key) }))
      }).pipe(Effect.onError(() => Effect.promise(() => rm(target, { force: true }).catch(() => undefined)))),
    head,
    list,
    delete: Effect.fn("Storage.delete")(function*(area, key) {
      yield* checkKey("delete", key)
      yield* call("delete", key, (abortSignal) => client.send(new DeleteObjectCommand({ Bucket: bucketOf(area), Key: key }), { abortSignal }))
    }),
    deletePrefix: Effect.fn("Storage.deletePrefix")(function*(area, prefix) {
      const objects = yield* list(area, prefix)
      for (let start = 0; start < objects.length; start += maxDeleteBatch) {
        const batch = objects.slice(start, start + maxDeleteBatch)
        yield* deleteBatch(area, prefix, batch).pipe(
          // Deleting is idempotent, and S3 asks for a retry on InternalError/SlowDown, for the whole
          // request or for single keys in its Errors list.
          Effect.retry(retryTransient(3, "200 millis"))
        )
      }
      return objects.length
    }),
    readableUrl: Effect.fn("Storage.readableUrl")(function*(area, key) {
      const found = yield* head(area, key)
      if (Option.isNone(found)) return yield* new ObjectNotFound({ key })
      return yield* call("readableUrl", key, () =>
        getSignedUrl(client, new GetObjectCommand({ Bucket: bucketOf(area), Key: key }), { expiresIn: readableSeconds }))
    }),
    /**
     * Through this process: each source read in turn into one streamed upload. (S3 could join them
     * server-side with UploadPartCopy, every part but the last at least 5 MiB; not needed while
     * only `vidpipe serve`'s own multipart uploads compose, and those go to S3 as S3's own.)
     */
    compose: Effect.fn("Storage.compose")(function*(area, key, sources, options) {
      const sizes = yield* Effect.forEach(sources, (source) =>
        Effect.flatMap(head(area, source), (found) => (Option.isSome(found) ? Effect.succeed(found.value.size) : Effect.fail(new ObjectNotFound({ key: source })))))
      const joined = Stream.flatMap(Stream.fromIterable(sources), (source) => storage.getStream(area, source))
      yield* storage.putStream(area, key, joined, { ...options, contentLength: sizes.reduce((a, b) => a + b, 0) })
    })
  })
  return storage
})

export const s3StorageLayer = (options: S3StorageOptions) => Layer.effect(Storage, makeS3Storage(options))
