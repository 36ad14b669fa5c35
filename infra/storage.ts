/**
 * The two buckets (raw `aws.s3.*`: the public-access block, ownership and policies are the
 * properties under test, and SST's Bucket would hide them).
 *
 * - uploads: sources land here through presigned PUTs (CORS allows a browser's PUT), are deleted
 *   `expireSourcesAfterDays` after upload, and each new object notifies ingest (lambdas.ts).
 * - outputs: the presentations; private, read only by CloudFront through origin access control
 *   (its bucket policy is made in cdn.ts, beside the distribution it names).
 * Both: every public access blocked, ACLs disabled, SSE-S3 encryption, TLS-only, and incomplete
 * multipart uploads cleaned up: a lifecycle rule with AbortIncompleteMultipartUpload "Specifies the
 * days since the initiation of an incomplete multipart upload that Amazon S3 will wait before
 * permanently removing all parts of the upload" (S3 API Reference); one day, so the parts of a
 * source a client gave up on (or whose abort was lost) stop costing storage. Uploads in progress
 * are invisible to ListObjects, so nothing else would find them. Kept on removal of a `production`
 * stage.
 */
import * as aws from "@pulumi/aws"
import type * as pulumi from "@pulumi/pulumi"
import { uploadsBucketPolicy } from "./policies.ts"
import type { DeploySettings } from "./settings.ts"

export interface PrivateBucket {
  readonly bucket: aws.s3.Bucket
  readonly publicAccessBlock: aws.s3.BucketPublicAccessBlock
  readonly ownership: aws.s3.BucketOwnershipControls
  readonly encryption: aws.s3.BucketServerSideEncryptionConfiguration
  readonly lifecycle: aws.s3.BucketLifecycleConfiguration
}

const privateBucket = (
  name: string,
  settings: DeploySettings,
  rules: Array<pulumi.Input<aws.types.input.s3.BucketLifecycleConfigurationRule>>
): PrivateBucket => {
  const opts = { retainOnDelete: settings.retainData }
  const bucket = new aws.s3.Bucket(name, {
    bucketPrefix: `${settings.prefix}-${name}-`.toLowerCase(),
    // A stage that is not kept can be removed with its contents.
    forceDestroy: !settings.retainData,
    tags: { App: settings.app, Stage: settings.stage }
  }, opts)
  const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(`${name}PublicAccessBlock`, {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true
  }, opts)
  const ownership = new aws.s3.BucketOwnershipControls(`${name}Ownership`, {
    bucket: bucket.id,
    rule: { objectOwnership: "BucketOwnerEnforced" }
  }, opts)
  const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(`${name}Encryption`, {
    bucket: bucket.id,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }]
  }, opts)
  const lifecycle = new aws.s3.BucketLifecycleConfiguration(`${name}Lifecycle`, {
    bucket: bucket.id,
    rules: [
      { id: "abort-incomplete-multipart-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
      ...rules
    ]
  }, opts)
  return { bucket, publicAccessBlock, ownership, encryption, lifecycle }
}

export const buckets = (settings: DeploySettings) => {
  const uploads = privateBucket("Uploads", settings, [
    { id: "expire-sources", status: "Enabled", filter: {}, expiration: { days: settings.uploads.expireSourcesAfterDays } }
  ])
  // Browsers PUT sources (one presigned PUT, or one per part of a multipart upload) from these
  // origins. A multipart upload is completed with each part's ETag, which the page reads from the
  // part PUT's answer; a cross-origin script sees only the headers the rule exposes. ExposeHeaders:
  // "One or more headers in the response that you want customers to be able to access from their
  // applications (for example, from a JavaScript XMLHttpRequest object)." (S3 API Reference,
  // CORSRule). Without "ETag" there, a browser could upload every part and never complete.
  const uploadsCors = new aws.s3.BucketCorsConfiguration("UploadsCors", {
    bucket: uploads.bucket.id,
    corsRules: [{
      id: "browser-upload",
      allowedMethods: ["PUT"],
      allowedOrigins: [...settings.uploads.corsOrigins],
      // Content-Length is set by the browser itself; these are what an upload page may add.
      allowedHeaders: ["content-type", "content-md5", "x-amz-*"],
      exposeHeaders: ["ETag"],
      maxAgeSeconds: 3000
    }]
  })
  const uploadsPolicy = new aws.s3.BucketPolicy("UploadsPolicy", {
    bucket: uploads.bucket.id,
    policy: uploadsBucketPolicy(uploads.bucket.arn)
  }, { dependsOn: [uploads.publicAccessBlock] })
  const outputs = privateBucket("Outputs", settings, [])
  return { uploads, uploadsCors, uploadsPolicy, outputs }
}

export type Buckets = ReturnType<typeof buckets>
