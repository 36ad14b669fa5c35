/**
 * The delivery network's caches in front of the outputs area. Deleting a job deletes its files at
 * the origin; edges that cached them (segments for a year) would keep serving them until told to
 * forget. `forgetPrefix` tells them (CloudFront on AWS; nothing to do where outputs are served
 * straight from storage, as `vidpipe serve` does).
 */
import type { Effect } from "effect"
import { Context, Schema } from "effect"

export class CdnCacheFailed extends Schema.TaggedError<CdnCacheFailed>()("CdnCacheFailed", {
  prefix: Schema.String,
  reason: Schema.String,
  /** Asking again later can help (throttling, too many invalidations in progress, 5xx). */
  retryable: Schema.Boolean
}) {
  override get message() {
    return `forgetting ${this.prefix}* in the CDN: ${this.reason}`
  }
}

export interface CdnCacheShape {
  /**
   * Every cached object whose key starts with `prefix` (a job's `outputPrefix`, e.g. "abc123/")
   * stops being served from the edges. Resolves once the request is accepted; the edges may take
   * minutes to act on it.
   */
  readonly forgetPrefix: (prefix: string) => Effect.Effect<void, CdnCacheFailed>
}

export class CdnCache extends Context.Service<CdnCache, CdnCacheShape>()("vidpipe/CdnCache") {}
