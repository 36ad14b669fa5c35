/**
 * Paging through jobs newest first. The cursor names where the last page ended: its creation
 * time, plus the ids already shown from that same millisecond, so jobs created together are
 * neither skipped nor repeated (the store pages by `createdBefore`, which cannot split a tie).
 */
import { Effect, Option, Schema } from "effect"
import type { Job } from "../../../domain/Job.ts"
import { JobStore } from "../../../services/JobStore.ts"

const Cursor = Schema.Struct({ before: Schema.Int, seen: Schema.Array(Schema.String) })
type Cursor = typeof Cursor.Type

const CursorJson = Schema.fromJsonString(Cursor)
const encodeJson = Schema.encodeSync(CursorJson)
const decodeJson = Schema.decodeUnknownOption(CursorJson)

/** Opaque to clients: base64url, so it travels in a query string as it is. */
export const encodeCursor = (cursor: Cursor) => Buffer.from(encodeJson(cursor), "utf8").toString("base64url")
export const decodeCursor = (text: string): Option.Option<Cursor> => decodeJson(Buffer.from(text, "base64url").toString("utf8"))

/** A page of jobs newest first: everyone's, or only `owner`'s. */
export const listJobs = Effect.fnUntraced(function*(limit: number, cursor: Cursor | undefined, owner?: string) {
  const store = yield* JobStore
  const seen = new Set(cursor?.seen ?? [])
  // One more than the page (beyond what is filtered out) tells whether another page exists.
  const fetched = yield* store.list({
    limit: limit + seen.size + 1,
    ...(owner === undefined ? {} : { owner }),
    ...(cursor === undefined ? {} : { createdBefore: cursor.before + 1 })
  })
  const fresh = fetched.filter((job) => !seen.has(job.id))
  const page = fresh.slice(0, limit)
  const last = page.at(-1)
  if (fresh.length <= limit || last === undefined) return { jobs: page, nextCursor: undefined }
  const sameMillisecond = (job: Job) => job.createdAt === last.createdAt
  const carried = cursor !== undefined && cursor.before === last.createdAt ? cursor.seen : []
  const next = { before: last.createdAt, seen: [...carried, ...page.filter(sameMillisecond).map((job) => job.id)] }
  return { jobs: page, nextCursor: encodeCursor(next) }
})
