/**
 * The S3 event notification fields ingest needs. The envelope and each record decode separately,
 * so one bad record does not hide the good ones beside it.
 */
import { Effect, Schema, SchemaIssue, SchemaTransformation } from "effect"

/**
 * S3 URL-encodes keys in events, with `+` for a space (a literal `+` arrives as `%2B`). AWS: "The
 * object key name value is URL encoded. For example, "red flower.jpg" becomes "red+flower.jpg""
 * (S3 User Guide, "Event message structure"); AWS's own Node.js tutorial decodes it with
 * `decodeURIComponent(key.replace(/\+/g, ' '))`, as here.
 */
export const S3EventKey = Schema.String.pipe(
  Schema.decodeTo(
    Schema.String,
    SchemaTransformation.transformEffect({
      decode: (raw, options) => {
        try {
          return Effect.succeed(decodeURIComponent(raw.replace(/\+/g, " ")))
        } catch {
          return Effect.fail(new SchemaIssue.InvalidValue({ message: "the key is not validly URL-encoded" }, raw, options))
        }
      },
      encode: (key) => Effect.succeed(key.split("/").map((part) => encodeURIComponent(part).replace(/%20/g, "+")).join("/"))
    })
  )
)

export const ObjectCreatedRecord = Schema.Struct({
  eventName: Schema.String.check(Schema.isStartingWith("ObjectCreated:")),
  s3: Schema.Struct({
    bucket: Schema.Struct({ name: Schema.String }),
    object: Schema.Struct({ key: S3EventKey, size: Schema.Number })
  })
})
export type ObjectCreatedRecord = typeof ObjectCreatedRecord.Type

export const S3EventEnvelope = Schema.Struct({ Records: Schema.Array(Schema.Unknown) })

/** A schema error as one line, for logs and results. */
export const describeSchemaError = (error: Schema.SchemaError) => error.message.replace(/\n\s*/g, " ")

/** The raw key of a record that failed to decode, when there is one to report. */
export const rawKeyOf = (record: unknown): string | undefined => {
  const key = (record as { s3?: { object?: { key?: unknown } } } | null)?.s3?.object?.key
  return typeof key === "string" ? key : undefined
}
