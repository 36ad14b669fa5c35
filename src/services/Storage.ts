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
  /**
   * Joins `sources`, in order, into a new object at `key` (a multipart upload's parts into its
   * source), the bytes never passing through the caller; the sources stay. Nothing appears at
   * `key` unless every source was joined.
   */
  readonly compose: (area: StorageArea, key: string, sources: ReadonlyArray<string>, options?: PutOptions) => Effect.Effect<void, StorageFailed | ObjectExists | ObjectNotFound>
  /** The object's bytes as they are read, never held whole (a source of gigabytes). */
  readonly getStream: (area: StorageArea, key: string) => Stream.Stream<Uint8Array, StorageFailed | ObjectNotFound>
  /**
   * Puts the object's bytes in the local file `path` (replaced if it exists), for a worker that
   * reads its source from local disk rather than through a URL. Folder storage makes a hard link
   * when `path` is on the same file system (no bytes copied, and the file outlives the object's
   * deletion), else a copy; S3 streams a GetObject to the file. `beforeCopy` runs with the
   * object's size only when bytes are about to be written (not for a link), and its failure stops
   * the copy: a caller checks its free disk there. Whatever fails, nothing is left at `path`.
   */
  readonly copyToFile: <E = never>(
    area: StorageArea,
    key: string,
    path: string,
    options?: { readonly beforeCopy?: (bytes: number) => Effect.Effect<void, E> }
  ) => Effect.Effect<void, StorageFailed | ObjectNotFound | E>
  readonly head: (area: StorageArea, key: string) => Effect.Effect<Option.Option<ObjectInfo>, StorageFailed>
  readonly list: (area: StorageArea, prefix: string) => Effect.Effect<ReadonlyArray<ObjectInfo>, StorageFailed>
  readonly delete: (area: StorageArea, key: string) => Effect.Effect<void, StorageFailed>
  readonly deletePrefix: (area: StorageArea, prefix: string) => Effect.Effect<number, StorageFailed>
  /**
   * A path or URL that ffmpeg can read the object from directly (no copy when the backend allows).
   * For short reads (ingest's probe): a presigned URL dies with the credentials that signed it, so
   * an encode reads a local copy instead (`copyToFile`, SourceCopies).
   */
  readonly readableUrl: (area: StorageArea, key: string) => Effect.Effect<string, StorageFailed | ObjectNotFound>
  /**
   * Writes into an object in place, where the backend can (folder storage; absent on S3, whose
   * objects are written whole). A multipart upload on `vidpipe serve` then writes each part at its
   * offset in one file and publishes that file when the upload completes: no copy of the source.
   */
  readonly inPlace?: InPlaceWrites
}

export interface InPlaceWrites {
  /** Creates an empty object at `key`, or empties the one there. */
  readonly create: (area: StorageArea, key: string) => Effect.Effect<void, StorageFailed>
  /**
   * Writes a stream of exactly `contentLength` bytes into the object at `key` from byte `offset`,
   * leaving the rest of the object as it is. Not atomic, unlike every other write: only for an
   * object nobody reads until it is published. ObjectNotFound when the object does not exist
   * (it was published or removed meanwhile); a stream that ends short or runs long fails with
   * `StorageFailed` (not retryable).
   */
  readonly writeAt: <E>(
    area: StorageArea,
    key: string,
    offset: number,
    body: Stream.Stream<Uint8Array, E>,
    options: { readonly contentLength: number }
  ) => Effect.Effect<void, StorageFailed | ObjectNotFound | E>
  /**
   * Moves the object at `from` to `key`, atomically, the bytes not copied; with `ifNoneMatch`
   * it fails with ObjectExists (and `from` stays) when `key` exists.
   */
  readonly publish: (area: StorageArea, from: string, key: string, options?: PutOptions) => Effect.Effect<void, StorageFailed | ObjectExists | ObjectNotFound>
}

export class Storage extends Context.Service<Storage, StorageShape>()("vidpipe/Storage") {}
