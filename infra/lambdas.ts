/**
 * The five Lambdas and what invokes them.
 *
 * - api: `src/entry/lambda/apiHandler.handler`, invoked by API Gateway (api.ts).
 * - ingest: `src/entry/lambda/ingestHandler.handler`, on S3 ObjectCreated in the uploads bucket;
 *   it records the upload and enqueues the job's plan task. A worker probes the source: the
 *   function needs no ffprobe, so no layer (docs/deploy.md, "Where uploads are probed").
 * - protector: `src/entry/lambda/protectorHandler.handler`, by Auto Scaling (the group's custom
 *   termination policy) through its `live` alias, and by EventBridge every 4 minutes to stay warm.
 * - sweeper: `src/entry/lambda/sweeperHandler.handler`, by EventBridge every 5 minutes.
 * - webhooks: `src/entry/lambda/webhooksHandler.handler`, by EventBridge every minute; relays the
 *   events jobs recorded in Redis and delivers the webhook POSTs that are due (docs/deploy.md,
 *   "Webhooks", says why here and not on the workers).
 *
 * The functions themselves are `sst.aws.Function`s (SST bundles the TypeScript handlers): they are
 * made through a `MakeFunction` so the rest (specs, triggers, permissions) is plain Pulumi that
 * tests run under mocks with a stand-in. Each spec carries its IAM grants (policies.ts).
 */
import { createHash } from "node:crypto"
import * as aws from "@pulumi/aws"
import * as pulumi from "@pulumi/pulumi"
import type { Account } from "./account.ts"
import type { Environment } from "./environment.ts"
import type { Network } from "./network.ts"
import type { DataResources, Grant } from "./policies.ts"
import { apiGrants, ingestGrants, sstPermissions, sweeperGrants } from "./policies.ts"
import type { DeploySettings } from "./settings.ts"
import type { Buckets } from "./storage.ts"

export interface FunctionSpec {
  /** `path/to/file.exportName`, relative to the repository root. */
  readonly handler: string
  readonly description: string
  readonly environment: Environment
  readonly grants: ReadonlyArray<Grant>
  readonly timeoutSeconds: number
  readonly memoryMb: number
  /** Publish a version on every change (needed for an alias). */
  readonly publish: boolean
}

export interface LambdaHandle {
  readonly name: pulumi.Output<string>
  readonly arn: pulumi.Output<string>
  readonly invokeArn: pulumi.Output<string>
  /** The latest published version (`$LATEST` when not publishing). */
  readonly version: pulumi.Output<string>
}

export type MakeFunction = (name: string, spec: FunctionSpec) => LambdaHandle

/**
 * `sst.aws.Function`s in the VPC's private subnets (they reach Redis), Node 22 like the workers.
 * Given the `Vpc` component, SST attaches its `securityGroups`: the VPC's default group, which SST
 * manages with all egress allowed and ingress only from the VPC. So the webhooks function reaches
 * receivers on any port through the NAT (the workers' own group is narrower, fleet.ts).
 */
export const sstFunctions = (vpc: sst.aws.Vpc): MakeFunction => (name, spec) => {
  const fn = new sst.aws.Function(name, {
    handler: spec.handler,
    description: spec.description,
    runtime: "nodejs22.x",
    architecture: "x86_64",
    timeout: `${spec.timeoutSeconds} seconds`,
    memory: `${spec.memoryMb} MB`,
    environment: spec.environment,
    permissions: sstPermissions(spec.grants),
    versioning: spec.publish,
    vpc
  })
  return { name: fn.name, arn: fn.arn, invokeArn: fn.nodes.function.invokeArn, version: fn.nodes.function.version }
}

export interface FunctionInputs {
  readonly backends: Environment
  readonly network: Network
  readonly data: DataResources
  readonly apiKeyValue: pulumi.Input<string>
  readonly deliveryUrl: pulumi.Input<string>
  /** The CloudFront distribution the API invalidates a deleted job's paths on. */
  readonly distributionId: pulumi.Input<string>
}

/**
 * A webhooks run relays and delivers for at most its window (`defaultWindowMillis`, 50 s) and
 * keeps 15 s back for the last attempt (10 s at most) and the reply: 70 s leaves 5 s of margin.
 */
export const webhooksTimeoutSeconds = 70

/**
 * Where job views link playback: the API's answers and the webhooks' events show the same view, so
 * both get the delivery URL and, when playback is signed, the one secret the distribution's
 * check verifies (cdn.ts).
 */
const playbackLinks = (settings: DeploySettings, deliveryUrl: pulumi.Input<string>): Environment => ({
  VIDPIPE_DELIVERY_URL: deliveryUrl,
  ...(settings.playback.mode === "public" ? {} : {
    VIDPIPE_PLAYBACK: "signed",
    VIDPIPE_PLAYBACK_SECRET: settings.playback.secret,
    VIDPIPE_PLAYBACK_TOKEN_SECONDS: String(settings.playback.tokenSeconds)
  })
})

export const functionSpecs = (settings: DeploySettings, inputs: FunctionInputs) => {
  // Metrics as Embedded Metric Format lines on stdout, which CloudWatch Logs turns into the same
  // metrics: "Lambda freezes the execution environment" once a handler returns, so PutMetricData
  // from a buffer (the workers' way) may never be sent (src/layers/aws/EmbeddedMetrics.ts). No
  // cloudwatch:PutMetricData grant is needed for them.
  const backends = { ...inputs.backends, VIDPIPE_METRICS: "emf", VIDPIPE_COORDINATOR: inputs.network.redisUrl }
  const api: FunctionSpec = {
    handler: "src/entry/lambda/apiHandler.handler",
    description: "vidpipe HTTP API (API Gateway REST proxy)",
    environment: {
      ...backends,
      // API Gateway checks the key first; the routes check it again (a direct invoke has none).
      // Only its digest: the function's configuration holds no usable key.
      VIDPIPE_API_KEYS: pulumi.output(inputs.apiKeyValue).apply((key) => `sha256:${createHash("sha256").update(key).digest("hex")}`),
      ...playbackLinks(settings, inputs.deliveryUrl),
      VIDPIPE_MAX_UPLOAD_BYTES: String(settings.uploads.maxUploadBytes),
      VIDPIPE_UPLOAD_EXPIRY_SECONDS: "5",
      VIDPIPE_CDN: pulumi.interpolate`cloudfront://${inputs.distributionId}`,
      // Absent: no browser on another origin may call the API (src/entry/http/cors.ts).
      ...(settings.api.corsOrigins.length === 0 ? {} : { VIDPIPE_CORS_ORIGINS: settings.api.corsOrigins.join(",") })
    },
    grants: apiGrants(inputs.data),
    // API Gateway's integration limit is 29 s.
    timeoutSeconds: 29,
    memoryMb: 1024,
    publish: false
  }
  const ingest: FunctionSpec = {
    handler: "src/entry/lambda/ingestHandler.handler",
    description: "vidpipe ingest: record an upload, enqueue its plan task",
    environment: backends,
    grants: ingestGrants(inputs.data),
    timeoutSeconds: 120,
    memoryMb: 1024,
    publish: false
  }
  const protector: FunctionSpec = {
    handler: "src/entry/lambda/protectorHandler.handler",
    description: "vidpipe protector: Auto Scaling custom termination policy (only idle workers)",
    // Only the idle set in Redis; the answer's budget stays under Auto Scaling's 2 s.
    environment: { VIDPIPE_COORDINATOR: inputs.network.redisUrl, VIDPIPE_PROTECTOR_BUDGET_MS: "1500" },
    grants: [],
    // "The maximum run time for your Lambda function is two seconds (2000 milliseconds). As a best
    // practice, you should set the timeout value of your Lambda function based on your expected
    // run time." (Auto Scaling user guide, custom termination policy, Limitations). A cold start
    // could pass this with the 1.5 s budget; the `live` alias keeps provisioned environments.
    timeoutSeconds: 2,
    memoryMb: 512,
    publish: true
  }
  const sweeper: FunctionSpec = {
    handler: "src/entry/lambda/sweeperHandler.handler",
    description: "vidpipe sweeper: finalize stuck jobs, re-send lost tasks, fail dead-lettered ones",
    environment: backends,
    grants: sweeperGrants(inputs.data),
    timeoutSeconds: 120,
    memoryMb: 512,
    publish: false
  }
  const webhooks: FunctionSpec = {
    handler: "src/entry/lambda/webhooksHandler.handler",
    description: "vidpipe webhooks: relay job events and deliver signed webhooks",
    // The sweeper's backends (the outbox, endpoints and deliveries are in Redis); events carry the
    // job view the API would show.
    environment: { ...backends, ...playbackLinks(settings, inputs.deliveryUrl) },
    // Redis only, over the VPC; receivers are reached through the NAT, which needs no grant.
    grants: [],
    timeoutSeconds: webhooksTimeoutSeconds,
    memoryMb: 512,
    publish: false
  }
  return { api, ingest, protector, sweeper, webhooks }
}

export type Functions = Record<keyof ReturnType<typeof functionSpecs>, LambdaHandle>

export const makeFunctions = (make: MakeFunction, specs: ReturnType<typeof functionSpecs>): Functions => ({
  api: make("Api", specs.api),
  ingest: make("Ingest", specs.ingest),
  protector: make("Protector", specs.protector),
  sweeper: make("Sweeper", specs.sweeper),
  webhooks: make("Webhooks", specs.webhooks)
})

/**
 * Every object created in the uploads bucket invokes ingest, a multipart source too (its event is
 * s3:ObjectCreated:CompleteMultipartUpload): "you can use the s3:ObjectCreated:* event type to
 * request notification regardless of the API that was used to create an object" (S3 User Guide,
 * "Event notification types and destinations").
 */
export const ingestTrigger = (account: Account, buckets: Buckets, ingest: LambdaHandle) => {
  const permission = new aws.lambda.Permission("IngestInvokedByUploads", {
    action: "lambda:InvokeFunction",
    function: ingest.name,
    principal: "s3.amazonaws.com",
    sourceArn: buckets.uploads.bucket.arn,
    sourceAccount: account.accountId
  })
  const notification = new aws.s3.BucketNotification("UploadsNotification", {
    bucket: buckets.uploads.bucket.id,
    lambdaFunctions: [{ lambdaFunctionArn: ingest.arn, events: ["s3:ObjectCreated:*"] }]
  }, { dependsOn: [permission] })
  return { permission, notification }
}

/**
 * The Auto Scaling service-linked role: the identity Auto Scaling invokes a custom termination
 * policy Lambda with (and the role the group is created with, fleet.ts).
 */
export const autoScalingServiceRoleArn = (account: Account) =>
  pulumi.interpolate`arn:${account.partition}:iam::${account.accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`

/**
 * The protector as the group's termination policy: a `live` alias on its latest published version
 * (Auto Scaling requires a qualified ARN), invocable by the Auto Scaling service-linked role, and
 * an EventBridge rule every 4 minutes on the same alias so its container and Redis connection
 * stay warm (the handler answers that event at once).
 */
export const protectorWiring = (settings: DeploySettings, account: Account, protector: LambdaHandle) => {
  const alias = new aws.lambda.Alias("ProtectorLive", {
    name: "live",
    description: "What the Auto Scaling group's termination policy invokes",
    functionName: protector.name,
    functionVersion: protector.version
  })
  // Initialized environments answer without a cold start, which with the answer's 1.5 s budget
  // could pass Auto Scaling's 2 s. "Provisioned Concurrency is not supported on the unpublished
  // version of the function ($LATEST)" (Lambda developer guide): hence the alias. It costs money
  // whether invoked or not (docs/deploy.md); 0 turns it off.
  const provisioned = settings.protector.provisionedConcurrency === 0 ? undefined : new aws.lambda.ProvisionedConcurrencyConfig("ProtectorProvisioned", {
    functionName: protector.name,
    qualifier: alias.name,
    provisionedConcurrentExecutions: settings.protector.provisionedConcurrency
  })
  const autoScalingInvoke = new aws.lambda.Permission("ProtectorInvokedByAutoScaling", {
    action: "lambda:InvokeFunction",
    function: protector.name,
    qualifier: alias.name,
    principal: autoScalingServiceRoleArn(account)
  })
  const warmUp = schedule("ProtectorWarmUp", "Keeps the protector Lambda (and its Redis connection) warm", "rate(4 minutes)", {
    functionName: protector.name,
    arn: alias.arn,
    qualifier: alias.name
  })
  return { alias, provisioned, autoScalingInvoke, warmUp }
}

/** An EventBridge rule invoking a function (or one of its aliases) on a schedule. */
const schedule = (
  name: string,
  description: string,
  scheduleExpression: string,
  target: { readonly functionName: pulumi.Input<string>; readonly arn: pulumi.Input<string>; readonly qualifier?: pulumi.Input<string> }
) => {
  const rule = new aws.cloudwatch.EventRule(name, { description, scheduleExpression })
  const ruleTarget = new aws.cloudwatch.EventTarget(`${name}Target`, { rule: rule.name, arn: target.arn })
  const invoke = new aws.lambda.Permission(`${name}Invoke`, {
    action: "lambda:InvokeFunction",
    function: target.functionName,
    ...(target.qualifier === undefined ? {} : { qualifier: target.qualifier }),
    principal: "events.amazonaws.com",
    sourceArn: rule.arn
  })
  return { rule, target: ruleTarget, invoke }
}

/** The sweeper every 5 minutes (each worker also sweeps every 30 s; this one runs with no workers). */
export const sweeperSchedule = (sweeper: LambdaHandle) =>
  schedule("SweeperSchedule", "Runs the vidpipe sweeper", "rate(5 minutes)", { functionName: sweeper.name, arn: sweeper.arn })

/**
 * The webhook dispatcher every minute, the shortest rate EventBridge schedules: an event's first
 * attempt waits for the next run. Runs may overlap (one can last past the minute); the store's
 * claims keep two from sending the same delivery.
 */
export const webhooksSchedule = (webhooks: LambdaHandle) =>
  schedule("WebhooksSchedule", "Runs the vidpipe webhook dispatcher", "rate(1 minute)", { functionName: webhooks.name, arn: webhooks.arn })
