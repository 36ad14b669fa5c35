/**
 * Delivery: a CloudFront distribution over the private outputs bucket, reading it through origin
 * access control (SigV4-signed requests; the bucket policy admits only this distribution).
 *
 * Caching mirrors `vidpipe serve`'s delivery route: segments and init files are immutable (cached
 * a year), manifests and playlists (`*.mpd`, `*.m3u8`) for 5 s, as are the WebVTT files (captions,
 * storyboard) and JPEGs (poster, sheets), which a presentation processed again rewrites. CORS lets players on any origin
 * fetch (GET/HEAD, `Range`), and 403/404 (a manifest not written yet) are cached only briefly.
 * HTTPS only (HTTP is redirected), on the default `*.cloudfront.net` certificate (a custom domain
 * with its own certificate and TLS policy is left to the operator).
 *
 * With signed playback (VIDPIPE_DEPLOY_PLAYBACK=signed) every behavior runs the playback check
 * (playbackFunction.ts) on viewer requests: only a path with a valid token is served.
 */
import * as aws from "@pulumi/aws"
import { playbackFunctionCode, playbackFunctionRuntime } from "./playbackFunction.ts"
import { outputsBucketPolicy } from "./policies.ts"
import type { DeploySettings } from "./settings.ts"
import type { Buckets } from "./storage.ts"

const originId = "outputs"

const cachePolicy = (name: string, comment: string, ttlSeconds: number) =>
  new aws.cloudfront.CachePolicy(name, {
    comment,
    minTtl: 0,
    defaultTtl: ttlSeconds,
    maxTtl: ttlSeconds,
    parametersInCacheKeyAndForwardedToOrigin: {
      cookiesConfig: { cookieBehavior: "none" },
      headersConfig: { headerBehavior: "none" },
      queryStringsConfig: { queryStringBehavior: "none" },
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true
    }
  })

export const delivery = (settings: DeploySettings, buckets: Buckets) => {
  const outputs = buckets.outputs.bucket
  const originAccess = new aws.cloudfront.OriginAccessControl("OutputsOriginAccess", {
    name: `${settings.prefix}-outputs`,
    description: "CloudFront reads the vidpipe outputs bucket",
    originAccessControlOriginType: "s3",
    signingBehavior: "always",
    signingProtocol: "sigv4"
  })
  const segmentsCache = cachePolicy("SegmentsCache", "vidpipe segments: immutable", 365 * 24 * 3600)
  const manifestsCache = cachePolicy("ManifestsCache", "vidpipe manifests: 5 s", 5)
  const cors = new aws.cloudfront.ResponseHeadersPolicy("DeliveryCors", {
    comment: "Players on any origin may fetch vidpipe outputs",
    corsConfig: {
      accessControlAllowCredentials: false,
      accessControlAllowOrigins: { items: ["*"] },
      accessControlAllowMethods: { items: ["GET", "HEAD", "OPTIONS"] },
      accessControlAllowHeaders: { items: ["Range", "Content-Type"] },
      accessControlExposeHeaders: { items: ["Content-Length", "Content-Range", "Accept-Ranges", "ETag"] },
      accessControlMaxAgeSec: 86400,
      originOverride: true
    }
  })
  const playbackCheck = settings.playback.mode === "signed"
    ? new aws.cloudfront.Function("PlaybackCheck", {
      name: `${settings.prefix}-playback-check`,
      comment: "vidpipe signed playback: a valid token in the path, or 403",
      runtime: playbackFunctionRuntime,
      code: playbackFunctionCode(settings.playback.secret),
      publish: true
    })
    : undefined
  const behavior = (cachePolicyId: typeof segmentsCache.id) => ({
    targetOriginId: originId,
    viewerProtocolPolicy: "redirect-to-https",
    allowedMethods: ["GET", "HEAD", "OPTIONS"],
    cachedMethods: ["GET", "HEAD"],
    compress: true,
    cachePolicyId,
    responseHeadersPolicyId: cors.id,
    ...(playbackCheck === undefined ? {} : { functionAssociations: [{ eventType: "viewer-request", functionArn: playbackCheck.arn }] })
  })
  const distribution = new aws.cloudfront.Distribution("Delivery", {
    enabled: true,
    comment: `${settings.prefix} outputs`,
    isIpv6Enabled: true,
    httpVersion: "http2and3",
    priceClass: "PriceClass_100",
    origins: [{ originId, domainName: outputs.bucketRegionalDomainName, originAccessControlId: originAccess.id }],
    defaultCacheBehavior: behavior(segmentsCache.id),
    orderedCacheBehaviors: ["*.mpd", "*.m3u8", "*.vtt", "*.jpg"].map((pathPattern) => ({ ...behavior(manifestsCache.id), pathPattern })),
    customErrorResponses: [403, 404].map((errorCode) => ({ errorCode, errorCachingMinTtl: 5 })),
    restrictions: { geoRestriction: { restrictionType: "none" } },
    viewerCertificate: { cloudfrontDefaultCertificate: true },
    tags: { App: settings.app, Stage: settings.stage }
  })
  const outputsPolicy = new aws.s3.BucketPolicy("OutputsPolicy", {
    bucket: outputs.id,
    policy: outputsBucketPolicy(outputs.arn, distribution.arn)
  }, { dependsOn: [buckets.outputs.publicAccessBlock], retainOnDelete: settings.retainData })
  return {
    originAccess,
    segmentsCache,
    manifestsCache,
    cors,
    distribution,
    outputsPolicy,
    playbackCheck,
    /** Where the API says outputs are (VIDPIPE_DELIVERY_URL): `${url}/${manifestKey}`. */
    url: distribution.domainName.apply((domain) => `https://${domain}`)
  }
}
