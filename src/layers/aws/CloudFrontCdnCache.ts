/**
 * CdnCache on a CloudFront distribution: one invalidation of `/<prefix>*` per deleted job.
 *
 * CloudFront's rules this relies on (Developer Guide, "Invalidating files"):
 * - "When you use the CloudFront API directly, invalidation paths must begin with a leading slash."
 * - "The `*`, which replaces 0 or more characters, must be the last character in the invalidation
 *   path." — `/<jobId>/*` is its documented form for all files in a directory.
 * - "A path that includes the `*` wildcard counts as one path even if it causes CloudFront to
 *   invalidate thousands of files." The first 1,000 paths a month are free.
 * - "If the path includes non-ASCII characters or unsafe characters as defined in RFC 1783,
 *   URL-encode those characters. Do not URL-encode any other characters in the path". Job ids
 *   are URL-safe, so prefixes are sent as they are; anything else is refused here.
 * - CallerReference: "If you make a second invalidation request with the same value for
 *   CallerReference, and if the rest of the request is the same, CloudFront doesn't create a new
 *   invalidation request." A fresh reference per call, so a second delete invalidates again.
 */
import { randomUUID } from "node:crypto"
import type { CloudFrontClientConfig } from "@aws-sdk/client-cloudfront"
import { CloudFrontClient, CreateInvalidationCommand } from "@aws-sdk/client-cloudfront"
import type { Duration } from "effect"
import { Effect, Layer } from "effect"
import { CdnCache, CdnCacheFailed } from "../../services/CdnCache.ts"
import { awsCall } from "./errors.ts"

export interface CloudFrontCdnCacheOptions {
  readonly distributionId: string
  /** A client to use as is; otherwise one is made from `clientConfig` and destroyed with the layer. */
  readonly client?: CloudFrontClient
  readonly clientConfig?: CloudFrontClientConfig
  /** Per API call. Default 10 seconds. */
  readonly callTimeout?: Duration.Input
}

// Characters that need no encoding in a path (RFC 3986 unreserved, and "/").
const plainPath = /^[A-Za-z0-9._~/-]+$/

export const makeCloudFrontCdnCache = Effect.fnUntraced(function*(options: CloudFrontCdnCacheOptions) {
  const client = options.client ??
    (yield* Effect.acquireRelease(
      Effect.sync(() => new CloudFrontClient(options.clientConfig ?? {})),
      (made) => Effect.sync(() => made.destroy())
    ))
  const timeout = options.callTimeout ?? "10 seconds"
  return CdnCache.of({
    forgetPrefix: Effect.fn("CdnCache.forgetPrefix")(function*(prefix: string) {
      if (!plainPath.test(prefix) || prefix.startsWith("/")) {
        return yield* new CdnCacheFailed({ prefix, reason: "not a plain relative key prefix", retryable: false })
      }
      yield* awsCall(
        (abortSignal) =>
          client.send(
            new CreateInvalidationCommand({
              DistributionId: options.distributionId,
              InvalidationBatch: { CallerReference: randomUUID(), Paths: { Quantity: 1, Items: [`/${prefix}*`] } }
            }),
            { abortSignal }
          ),
        timeout,
        // "If you're using the * wildcard, you can have requests for up to 15 invalidation paths
        // in progress at one time": the 16th is refused until one completes.
        ({ reason, retryable }) => new CdnCacheFailed({ prefix, reason, retryable: retryable || reason.startsWith("TooManyInvalidationsInProgress") })
      )
    })
  })
})

export const cloudFrontCdnCacheLayer = (options: CloudFrontCdnCacheOptions) => Layer.effect(CdnCache, makeCloudFrontCdnCache(options))
