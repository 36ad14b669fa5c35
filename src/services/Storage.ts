/**
 * Object storage in two areas, like the two buckets on AWS: `uploads` (sources) and `outputs`
 * (published presentations). Keys are `/`-separated; writes are atomic (a reader never sees half an object).
 */
import type { Effect, Option, Stream } from "effect"
import { Context } from "effect"
import type { ObjectExists, ObjectNotFound, StorageFailed } from "../domain/Errors.ts"

export type StorageArea = "uploads" | "outputs"

export interface PutOptions {
  readonly contentType?: string
  /** Fail with `ObjectExists` instead of overwriting (S3 `If-None-Match: *`). */
  readonly ifNoneMatch?: boolean
}

export interface ObjectInfo {
  readonly key: string
  readonly size: number
}

export interface StorageShape {
  readonly put: (area: StorageArea, key: string, body: Uint8Array | string, options?: PutOptions) => Effect.Effect<void, StorageFailed | ObjectExists>
  /**
   * Stores a local file (streamed, not read into memory). The caller must not change the file
   * afterwards: a folder store may keep it as a hard link rather than a copy.
   */
  readonly putFile: (area: StorageArea, key: string, path: string, options?: PutOptions) => Effect.Effect<void, StorageFailed | ObjectExists>
  /**
   * Stores a stream of exactly `contentLength` bytes without holding it in memory; a stream that
   * ends short or runs long fails with `StorageFailed` (not retryable) and stores nothing.
   */
  readonly putStream: <E>(
    area: StorageArea,
    key: string,
    body: Stream.Stream<Uint8Array, E>,
    options: PutOptions & { readonly contentLength: number }
  ) => Effect.Effect<void, StorageFailed | ObjectExists | E>
  readonly get: (area: StorageArea, key: string) => Effect.Effect<Uint8Array, StorageFailed | ObjectNotFound>
  readonly head: (area: StorageArea, key: string) => Effect.Effect<Option.Option<ObjectInfo>, StorageFailed>
  readonly list: (area: StorageArea, prefix: string) => Effect.Effect<ReadonlyArray<ObjectInfo>, StorageFailed>
  readonly delete: (area: StorageArea, key: string) => Effect.Effect<void, StorageFailed>
  readonly deletePrefix: (area: StorageArea, prefix: string) => Effect.Effect<number, StorageFailed>
  /** A path or URL that ffmpeg can read the object from directly (no copy when the backend allows). */
  readonly readableUrl: (area: StorageArea, key: string) => Effect.Effect<string, StorageFailed | ObjectNotFound>
}

export class Storage extends Context.Service<Storage, StorageShape>()("vidpipe/Storage") {}
