/**
 * Who may do what, as data: the IAM statements of the worker instances and of each Lambda, and
 * the bucket policies. Every data action (S3, SQS, SSM) names the exact bucket, object prefix,
 * queue or parameter; the one `*` resource is CloudWatch's PutMetricData, which has no resource
 * ARNs, and it is limited to the pipeline's metric namespace by a condition.
 *
 * The builders take ARNs as Pulumi inputs (plain strings in unit tests) and return statements;
 * `policyJson` turns statements into an IAM policy document once the ARNs are known.
 */
import * as pulumi from "@pulumi/pulumi"

export interface Condition {
  readonly test: string
  readonly variable: string
  readonly values: ReadonlyArray<string>
}

export interface Grant {
  readonly sid: string
  readonly effect?: "Allow" | "Deny"
  readonly actions: ReadonlyArray<string>
  readonly resources: ReadonlyArray<pulumi.Input<string>>
  readonly conditions?: ReadonlyArray<Condition>
}

/** The CloudWatch namespace of the pipeline's metrics (CloudWatchMetrics' default). */
export const metricNamespace = "Vidpipe"

export interface DataResources {
  readonly uploadsBucketArn: pulumi.Input<string>
  readonly outputsBucketArn: pulumi.Input<string>
  readonly queueArn: pulumi.Input<string>
  readonly deadLetterQueueArn: pulumi.Input<string>
  /** The CloudFront distribution delivering the outputs (the API invalidates a deleted job's paths). */
  readonly distributionArn: pulumi.Input<string>
}

const objects = (bucketArn: pulumi.Input<string>) => pulumi.interpolate`${bucketArn}/*`

const putMetrics: Grant = {
  sid: "PipelineMetrics",
  actions: ["cloudwatch:PutMetricData"],
  // PutMetricData has no resource-level permissions; the namespace condition narrows it.
  resources: ["*"],
  conditions: [{ test: "StringEquals", variable: "cloudwatch:namespace", values: [metricNamespace] }]
}

/** Storing outputs: workers (encodes) and finalizers (manifests; the finalizer lists the job's files first). */
const writeOutputs = (r: DataResources): ReadonlyArray<Grant> => [
  { sid: "OutputObjects", actions: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], resources: [objects(r.outputsBucketArn)] },
  { sid: "OutputListing", actions: ["s3:ListBucket"], resources: [r.outputsBucketArn] }
]

/**
 * The task queue as a worker and a sweeper use it, and the dead-letter queue they drain (every
 * worker sweeps too): each dead letter is recorded on its job, then deleted, so the next receive
 * reaches the ones behind it (SQS returns at most 10 per ReceiveMessage).
 */
const consumeTasks = (r: DataResources): ReadonlyArray<Grant> => [
  {
    sid: "TaskQueue",
    actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:SendMessage"],
    resources: [r.queueArn]
  },
  { sid: "DeadLetters", actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], resources: [r.deadLetterQueueArn] }
]

/**
 * The worker instances: read sources, write outputs, consume tasks, read the Redis URL parameter,
 * send metrics. The Auto Scaling actions on their own group are in `workerFleetGrants` (the
 * group is created after the instance profile it launches with).
 */
export const workerGrants = (r: DataResources & { readonly redisUrlParameterArn: pulumi.Input<string> }): ReadonlyArray<Grant> => [
  { sid: "ReadSources", actions: ["s3:GetObject"], resources: [objects(r.uploadsBucketArn)] },
  ...writeOutputs(r),
  ...consumeTasks(r),
  { sid: "RedisUrl", actions: ["ssm:GetParameter"], resources: [r.redisUrlParameterArn] },
  putMetrics
]

/** Scale-in protection of the worker's own instance, and completing its termination hook. */
export const workerFleetGrants = (autoScalingGroupArn: pulumi.Input<string>): ReadonlyArray<Grant> => [
  { sid: "OwnGroup", actions: ["autoscaling:SetInstanceProtection", "autoscaling:CompleteLifecycleAction"], resources: [autoScalingGroupArn] }
]

/**
 * The API: presigned PUTs to the uploads bucket (signed with this role, so it needs PutObject),
 * retries onto the queue, and deleting a job's source and outputs, then invalidating the job's
 * paths on this distribution's edges (CreateInvalidation takes the distribution's ARN).
 * Multipart sources (S3 User Guide, "Multipart upload API and permissions"): CreateMultipartUpload,
 * UploadPart (the presigned part URLs) and CompleteMultipartUpload need s3:PutObject on the
 * object; "You must be allowed to perform the s3:AbortMultipartUpload action to abort a multipart
 * upload"; ListParts needs s3:ListMultipartUploadParts.
 */
export const apiGrants = (r: DataResources): ReadonlyArray<Grant> => [
  {
    sid: "Uploads",
    actions: ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
    resources: [objects(r.uploadsBucketArn)]
  },
  { sid: "DeleteOutputs", actions: ["s3:DeleteObject"], resources: [objects(r.outputsBucketArn)] },
  { sid: "OutputListing", actions: ["s3:ListBucket"], resources: [r.outputsBucketArn] },
  { sid: "EnqueueRetries", actions: ["sqs:SendMessage"], resources: [r.queueArn] },
  { sid: "InvalidateDeliveries", actions: ["cloudfront:CreateInvalidation"], resources: [r.distributionArn] }
]

/**
 * Ingest: only the plan task goes on the queue; the source is read by the worker that plans it,
 * so no s3:GetObject. Its ScaleOut metric is an Embedded Metric Format line in its log
 * (lambdas.ts), so no PutMetricData.
 */
export const ingestGrants = (r: DataResources): ReadonlyArray<Grant> => [
  { sid: "EnqueueTasks", actions: ["sqs:SendMessage"], resources: [r.queueArn] }
]

/**
 * The scheduled sweeper: finalizes stuck jobs, re-sends lost tasks, fails dead-lettered ones (and
 * deletes them). Its metrics, like ingest's, are Embedded Metric Format lines: no PutMetricData.
 */
export const sweeperGrants = (r: DataResources): ReadonlyArray<Grant> => [
  // HeadObject of a source whose acceptance was lost, so a whole source is accepted late rather
  // than never. "To use HEAD, you must have the s3:GetObject permission … If you don't have the
  // s3:ListBucket permission, Amazon S3 returns an HTTP status code 403" for a missing object
  // (S3 API Reference, HeadObject): with ListBucket, a source never uploaded is a plain 404.
  { sid: "SeeSources", actions: ["s3:GetObject"], resources: [objects(r.uploadsBucketArn)] },
  { sid: "SourceListing", actions: ["s3:ListBucket"], resources: [r.uploadsBucketArn] },
  ...writeOutputs(r),
  ...consumeTasks(r)
]

/** Refuses any request to the bucket that does not use TLS. */
const tlsOnly = (bucketArn: pulumi.Input<string>): Grant => ({
  sid: "TlsOnly",
  effect: "Deny",
  actions: ["s3:*"],
  resources: [bucketArn, objects(bucketArn)],
  conditions: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }]
})

interface BucketStatement {
  readonly Sid: string
  readonly Effect: "Allow" | "Deny"
  readonly Principal: "*" | { readonly Service: string }
  readonly Action: ReadonlyArray<string>
  readonly Resource: ReadonlyArray<pulumi.Input<string>>
  readonly Condition?: Record<string, Record<string, ReadonlyArray<pulumi.Input<string>>>>
}

const conditionBlock = (conditions: ReadonlyArray<Condition> | undefined) => {
  if (conditions === undefined || conditions.length === 0) return undefined
  const block: Record<string, Record<string, ReadonlyArray<string>>> = {}
  for (const c of conditions) block[c.test] = { ...block[c.test], [c.variable]: c.values }
  return block
}

const statementOf = (grant: Grant) => {
  const condition = conditionBlock(grant.conditions)
  return {
    Sid: grant.sid,
    Effect: grant.effect ?? "Allow",
    Action: grant.actions,
    Resource: grant.resources,
    ...(condition === undefined ? {} : { Condition: condition })
  }
}

/** An identity policy document (JSON) from grants whose ARNs may still be unknown. */
export const policyJson = (grants: ReadonlyArray<Grant>): pulumi.Output<string> =>
  pulumi.output({ Version: "2012-10-17", Statement: grants.map(statementOf) }).apply((document) => JSON.stringify(document))

/** The uploads bucket's policy: TLS only (browsers reach it only through presigned URLs). */
export const uploadsBucketPolicy = (bucketArn: pulumi.Input<string>): pulumi.Output<string> => {
  const deny = tlsOnly(bucketArn)
  const statement: BucketStatement = { ...statementOf(deny), Effect: "Deny", Principal: "*" }
  return pulumi.output({ Version: "2012-10-17", Statement: [statement] }).apply((document) => JSON.stringify(document))
}

/**
 * The outputs bucket's policy: CloudFront reads objects, and only for this distribution (origin
 * access control signs its requests; `AWS:SourceArn` names the distribution). Nothing is public.
 */
export const outputsBucketPolicy = (bucketArn: pulumi.Input<string>, distributionArn: pulumi.Input<string>): pulumi.Output<string> => {
  const deny = tlsOnly(bucketArn)
  const statements: ReadonlyArray<BucketStatement> = [
    {
      Sid: "CloudFrontReads",
      Effect: "Allow",
      Principal: { Service: "cloudfront.amazonaws.com" },
      Action: ["s3:GetObject"],
      Resource: [objects(bucketArn)],
      Condition: { StringEquals: { "AWS:SourceArn": [distributionArn] } }
    },
    { ...statementOf(deny), Effect: "Deny", Principal: "*" }
  ]
  return pulumi.output({ Version: "2012-10-17", Statement: statements }).apply((document) => JSON.stringify(document))
}

/** `sst.aws.Function`'s `permissions` shape. */
export const sstPermissions = (grants: ReadonlyArray<Grant>) =>
  grants.map((grant) => ({
    effect: grant.effect === "Deny" ? ("deny" as const) : ("allow" as const),
    actions: [...grant.actions],
    resources: [...grant.resources],
    ...(grant.conditions === undefined
      ? {}
      : { conditions: grant.conditions.map((c) => ({ test: c.test, variable: c.variable, values: [...c.values] })) })
  }))
