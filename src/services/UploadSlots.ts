/**
 * Upload slots: a URL a client PUTs a source to, straight into storage, bound to the exact byte
 * size and a short expiry. On AWS an S3 presigned PUT; on one machine a URL signed by `vidpipe serve`.
 */
import type { Effect } from "effect"
import { Context } from "effect"

export interface UploadSlot {
  readonly url: string
  readonly method: "PUT"
  /** Headers the client must send as they are (the size is part of the signature). */
  readonly headers: Readonly<Record<string, string>>
  /** Epoch milliseconds after which an upload may no longer start. */
  readonly expiresAt: number
}

export interface UploadSlotsShape {
  readonly create: (input: {
    readonly jobId: string
    readonly key: string
    readonly contentLength: number
    readonly contentType?: string | undefined
  }) => Effect.Effect<UploadSlot>
}

export class UploadSlots extends Context.Service<UploadSlots, UploadSlotsShape>()("vidpipe/UploadSlots") {}
