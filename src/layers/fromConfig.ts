/**
 * Picks every service's implementation from configuration (environment variables):
 *   VIDPIPE_QUEUE        memory | redis://HOST:PORT/DB | sqs://HOST/ACCOUNT/QUEUE.fifo
 *   VIDPIPE_COORDINATOR  memory | redis://HOST:PORT/DB   (also the job store and the KillMe registry)
 *   VIDPIPE_STORAGE      file://DIR (areas in DIR/uploads and DIR/outputs) | s3://UPLOADS_BUCKET
 *                        (with VIDPIPE_OUTPUTS_BUCKET)
 *   VIDPIPE_REDIS_PREFIX key prefix, isolating deployments and test runs
 *   VIDPIPE_SQS_DLQ, VIDPIPE_SQS_ENDPOINT_URL, VIDPIPE_S3_ENDPOINT_URL, AWS_REGION for the AWS backends
 *   VIDPIPE_METRICS      log (default: debug log lines) | cloudwatch (custom metrics with the
 *                        AutoScalingGroupName and QueueName dimensions the scaling alarms select on,
 *                        sent by PutMetricData from a buffer: long-running processes, the workers) |
 *                        emf (the same metrics as Embedded Metric Format lines on stdout, written as
 *                        they are recorded: the Lambdas, whose environment freezes when they return)
 *   VIDPIPE_FLEET        local (default: protection only remembered) | autoscaling (this EC2
 *                        instance, id from IMDSv2, protected with SetInstanceProtection)
 *   VIDPIPE_AUTOSCALING_GROUP  the Auto Scaling group's name, required by both AWS choices
 *   VIDPIPE_METRICS_NAMESPACE  CloudWatch namespace (default Vidpipe)
 *   VIDPIPE_CDN          none (default: outputs served straight from storage) | cloudfront://DISTRIBUTION_ID
 *                        (a deleted job's paths are invalidated there)
 *   AWS_EC2_METADATA_SERVICE_ENDPOINT  the SDK's own override of the IMDS address (tests)
 *   VIDPIPE_SPOT_NOTICES off (default: none ever) | imds (Spot interruption notices and rebalance
 *                        recommendations from this EC2 instance's metadata; `worker` only)
 *   VIDPIPE_WORKER_CACHE_DIR   where a worker keeps its copies of job sources (default: vidpipe-sources
 *                        in the OS temporary folder, on the disk the encodes write to); shared by the
 *                        worker processes of one machine
 *   VIDPIPE_WORKER_DISK_RESERVE_MB  disk a worker leaves free beyond what a task needs (default 256);
 *                        a task that does not fit is handed back for another worker
 * plus the pipeline timings (PipelineSettings) from VIDPIPE_*_SECONDS variables, and the encode
 * rates tasks are estimated with (VIDPIPE_ENCODE_SECONDS_PER_GIGAPIXEL, VIDPIPE_DECODE_…, VIDPIPE_AUDIO_…).
 */
import * as os from "node:os"
import * as path from "node:path"
import { Config, Duration, Effect, Layer } from "effect"
import { defaultPipelineSettings, PipelineSettings } from "../services/PipelineSettings.ts"
import { memoryCoordinationLayer, servicesLayer } from "./embedded.ts"
import { areaFoldersUnder, folderStorageLayer } from "./local/FolderStorage.ts"
import { noCdnCacheLayer } from "./local/NoCdnCache.ts"
import { noSpotNoticesLayer } from "./local/NoSpotNotices.ts"
import { defaultDiskReserveBytes, defaultSourceCopiesFolder, localSourceCopiesLayer } from "./local/LocalSourceCopies.ts"
import { localFleetControlLayer } from "./local/LocalFleetControl.ts"
import { logMetricsLayer } from "./local/LogMetrics.ts"
import { memoryJobQueueLayer } from "./local/MemoryJobQueue.ts"
import { InvalidConfiguration } from "./InvalidConfiguration.ts"
import { thisProcessId } from "./processIdentity.ts"
import { redisConnectionLayer } from "./redis/RedisConnection.ts"
import { redisCoordinatorLayer } from "./redis/RedisCoordinator.ts"
import { redisIdleRegistryLayer } from "./redis/RedisIdleRegistry.ts"
import { redisJobQueueLayer } from "./redis/RedisJobQueue.ts"
import { redisJobStoreLayer } from "./redis/RedisJobStore.ts"
import { redisWebhookStoreLayer } from "./redis/RedisWebhookStore.ts"


export type Backend =
  | { readonly kind: "memory" }
  | { readonly kind: "redis"; readonly url: string }
  | { readonly kind: "file"; readonly dir: string }
  | { readonly kind: "sqs"; readonly queueUrl: string }
  | { readonly kind: "s3"; readonly bucket: string }

const expectedForm: Record<Backend["kind"], string> = {
  memory: "memory",
  redis: "redis://HOST:PORT/DB",
  file: "file://DIR",
  sqs: "sqs://HOST/ACCOUNT/QUEUE.fifo",
  s3: "s3://BUCKET"
}

const parseBackend = (variable: string, value: string, allowed: ReadonlyArray<Backend["kind"]>) => {
  const trimmed = value.trim()
  const backend: Backend | undefined = trimmed === "memory"
    ? { kind: "memory" }
    : /^rediss?:\/\//.test(trimmed)
    ? { kind: "redis", url: trimmed }
    : trimmed.startsWith("file://")
    ? { kind: "file", dir: path.resolve(trimmed.slice("file://".length) || ".") }
    : /^sqs:\/\/[^/]+\/.+\.fifo$/.test(trimmed)
    ? { kind: "sqs", queueUrl: `https://${trimmed.slice("sqs://".length)}` }
    : /^https:\/\/sqs\.[^/]+\/.+\.fifo$/.test(trimmed)
    ? { kind: "sqs", queueUrl: trimmed }
    : /^s3:\/\/[a-z0-9.-]{3,63}$/.test(trimmed)
    ? { kind: "s3", bucket: trimmed.slice("s3://".length) }
    : undefined
  return backend !== undefined && allowed.includes(backend.kind)
    ? Effect.succeed(backend)
    : Effect.fail(new InvalidConfiguration({ variable, value, expected: allowed.map((k) => expectedForm[k]).join(" or ") }))
}

const oneOf = <const A extends string>(variable: string, value: string, allowed: ReadonlyArray<A>) =>
  allowed.includes(value.trim() as A)
    ? Effect.succeed(value.trim() as A)
    : Effect.fail(new InvalidConfiguration({ variable, value, expected: allowed.join(" or ") }))

/**
 * The AWS layers are loaded only when configuration picks them: the AWS SDK clients take most of
 * a second to load, which every `vidpipe` command on one machine would otherwise pay.
 */
const lazyLayer = <A, E, R>(load: () => Promise<Layer.Layer<A, E, R>>): Layer.Layer<A, E, R> => Layer.unwrap(Effect.promise(load))

export interface Deployment {
  readonly queue: Backend
  readonly coordinator: Backend
  readonly storage: Backend
  readonly redisPrefix: string
  readonly aws: AwsSettings
  readonly metrics: "log" | "cloudwatch" | "emf"
  readonly fleet: "local" | "autoscaling"
  readonly cdn: Cdn
}

/** The CDN in front of the outputs, whose caches a deleted job's files must leave. */
export type Cdn = { readonly kind: "none" } | { readonly kind: "cloudfront"; readonly distributionId: string }

const parseCdn = (value: string) => {
  const trimmed = value.trim()
  if (trimmed === "none") return Effect.succeed<Cdn>({ kind: "none" })
  const match = /^cloudfront:\/\/([A-Z0-9]+)$/.exec(trimmed)
  return match?.[1] !== undefined
    ? Effect.succeed<Cdn>({ kind: "cloudfront", distributionId: match[1] })
    : Effect.fail(new InvalidConfiguration({ variable: "VIDPIPE_CDN", value, expected: "none or cloudfront://DISTRIBUTION_ID" }))
}

export interface AwsSettings {
  /** Endpoint overrides (local peers, S3-compatible stores); an overridden S3 is addressed path-style. */
  readonly sqsEndpoint: string | undefined
  readonly s3Endpoint: string | undefined
  readonly region: string
  readonly deadLetterQueueUrl: string | undefined
  readonly outputsBucket: string | undefined
  readonly autoScalingGroup: string | undefined
  readonly metricsNamespace: string
  readonly metadataEndpoint: string | undefined
}

/** This instance's id: VIDPIPE_INSTANCE_ID (the EC2 instance id on AWS), else this process's. */
export const instanceIdConfig = Config.String("VIDPIPE_INSTANCE_ID").pipe(Config.withDefault(thisProcessId()))

export const deploymentConfig = Effect.gen(function*() {
  const read = (name: string, fallback: string) => Config.String(name).pipe(Config.withDefault(fallback))
  const deployment: Deployment = {
    queue: yield* parseBackend("VIDPIPE_QUEUE", yield* read("VIDPIPE_QUEUE", "memory"), ["memory", "redis", "sqs"]),
    coordinator: yield* parseBackend("VIDPIPE_COORDINATOR", yield* read("VIDPIPE_COORDINATOR", "memory"), ["memory", "redis"]),
    storage: yield* parseBackend("VIDPIPE_STORAGE", yield* read("VIDPIPE_STORAGE", "file://./data"), ["file", "s3"]),
    redisPrefix: yield* read("VIDPIPE_REDIS_PREFIX", "vidpipe"),
    aws: {
      sqsEndpoint: (yield* read("VIDPIPE_SQS_ENDPOINT_URL", "")) || undefined,
      s3Endpoint: (yield* read("VIDPIPE_S3_ENDPOINT_URL", "")) || undefined,
      region: yield* read("AWS_REGION", "us-east-1"),
      deadLetterQueueUrl: (yield* read("VIDPIPE_SQS_DLQ", "")).replace(/^sqs:\/\//, "https://") || undefined,
      outputsBucket: (yield* read("VIDPIPE_OUTPUTS_BUCKET", "")) || undefined,
      autoScalingGroup: (yield* read("VIDPIPE_AUTOSCALING_GROUP", "")) || undefined,
      metricsNamespace: yield* read("VIDPIPE_METRICS_NAMESPACE", "Vidpipe"),
      metadataEndpoint: (yield* read("AWS_EC2_METADATA_SERVICE_ENDPOINT", "")) || undefined
    },
    metrics: yield* oneOf("VIDPIPE_METRICS", yield* read("VIDPIPE_METRICS", "log"), ["log", "cloudwatch", "emf"]),
    fleet: yield* oneOf("VIDPIPE_FLEET", yield* read("VIDPIPE_FLEET", "local"), ["local", "autoscaling"]),
    cdn: yield* parseCdn(yield* read("VIDPIPE_CDN", "none"))
  }
  if ((deployment.metrics !== "log" || deployment.fleet === "autoscaling") && deployment.aws.autoScalingGroup === undefined) {
    return yield* new InvalidConfiguration({
      variable: "VIDPIPE_AUTOSCALING_GROUP",
      value: "",
      expected: "the Auto Scaling group's name, with VIDPIPE_METRICS=cloudwatch or emf, or VIDPIPE_FLEET=autoscaling"
    })
  }
  if (deployment.storage.kind === "s3" && deployment.aws.outputsBucket === undefined) {
    return yield* new InvalidConfiguration({ variable: "VIDPIPE_OUTPUTS_BUCKET", value: "", expected: "the outputs bucket, beside VIDPIPE_STORAGE=s3://UPLOADS_BUCKET" })
  }
  const { coordinator, queue } = deployment
  if (queue.kind === "redis" && coordinator.kind === "redis" && queue.url !== coordinator.url) {
    return yield* new InvalidConfiguration({ variable: "VIDPIPE_COORDINATOR", value: coordinator.url, expected: `the same Redis as VIDPIPE_QUEUE (${queue.url})` })
  }
  return deployment
})

/** Whether several processes (and machines) can share this deployment's queue and job records. */
export const isShared = (deployment: Deployment) => deployment.queue.kind !== "memory" && deployment.coordinator.kind !== "memory"

const seconds = (name: string, fallback: Duration.Duration) =>
  Config.Number(name).pipe(Config.map(Duration.seconds), Config.withDefault(fallback))

/** Pipeline timings, each overridable (tests shorten them; operators tune them). */
export const pipelineSettingsFromConfig = Effect.gen(function*() {
  const d = defaultPipelineSettings
  return {
    ...d,
    pollSeconds: yield* Config.Number("VIDPIPE_POLL_SECONDS").pipe(Config.withDefault(d.pollSeconds)),
    visibility: yield* seconds("VIDPIPE_VISIBILITY_SECONDS", d.visibility),
    heartbeatEvery: yield* seconds("VIDPIPE_HEARTBEAT_SECONDS", d.heartbeatEvery),
    taskTimeout: yield* seconds("VIDPIPE_TASK_TIMEOUT_SECONDS", d.taskTimeout),
    finalizeLease: yield* seconds("VIDPIPE_FINALIZE_LEASE_SECONDS", d.finalizeLease),
    maxReceiveCount: yield* Config.Int("VIDPIPE_MAX_RECEIVES").pipe(Config.withDefault(d.maxReceiveCount)),
    sweepEvery: yield* seconds("VIDPIPE_SWEEP_SECONDS", d.sweepEvery),
    staleAfter: yield* seconds("VIDPIPE_STALE_SECONDS", d.staleAfter),
    encodeRates: {
      secondsPerGigapixel: yield* Config.Number("VIDPIPE_ENCODE_SECONDS_PER_GIGAPIXEL").pipe(Config.withDefault(d.encodeRates.secondsPerGigapixel)),
      decodeSecondsPerGigapixel: yield* Config.Number("VIDPIPE_DECODE_SECONDS_PER_GIGAPIXEL").pipe(Config.withDefault(d.encodeRates.decodeSecondsPerGigapixel)),
      audioSecondsPerSecond: yield* Config.Number("VIDPIPE_AUDIO_ENCODE_SECONDS_PER_SECOND").pipe(Config.withDefault(d.encodeRates.audioSecondsPerSecond))
    }
  }
})

/**
 * Where a worker's source copies live and how much disk it leaves free (SourceCopies). By default,
 * with folder storage, in the storage's own folder (`worker-sources/<host>`): on the same file
 * system, so a copy is a hard link and costs nothing, whatever the OS temporary folder is (often a
 * RAM-backed tmpfs); with S3, in the OS temporary folder.
 */
export const sourceCopiesConfig = (storage: Deployment["storage"]) =>
  Effect.gen(function*() {
    const folder = (yield* Config.String("VIDPIPE_WORKER_CACHE_DIR").pipe(Config.withDefault(""))).trim()
    const reserveMb = yield* Config.Number("VIDPIPE_WORKER_DISK_RESERVE_MB").pipe(Config.withDefault(defaultDiskReserveBytes / (1024 * 1024)))
    if (!(reserveMb >= 0)) {
      return yield* new InvalidConfiguration({ variable: "VIDPIPE_WORKER_DISK_RESERVE_MB", value: String(reserveMb), expected: "a number of megabytes, 0 or more" })
    }
    const fallback = storage.kind === "s3" ? defaultSourceCopiesFolder : path.join(storage.kind === "file" ? storage.dir : path.resolve("data"), "worker-sources", os.hostname())
    return { folder: folder === "" ? fallback : path.resolve(folder), reserveBytes: Math.round(reserveMb * 1024 * 1024) }
  })

/** This process's source copies, as configured: one per process, shared by its worker fibers. */
const sourceCopiesLayer = (storage: Deployment["storage"]) => Layer.unwrap(Effect.map(sourceCopiesConfig(storage), localSourceCopiesLayer))

/** Every service, as configured. One Redis connection serves every Redis-backed service. */
/** AWS client settings: the region, and an endpoint when one is overridden. */
const awsClientConfig = (region: string, endpoint: string | undefined) => ({
  region,
  ...(endpoint === undefined ? {} : { endpoint })
})

const storageLayer = (deployment: Deployment) => {
  const { aws, storage } = deployment
  if (storage.kind !== "s3") return folderStorageLayer(areaFoldersUnder(storage.kind === "file" ? storage.dir : "data"))
  return lazyLayer(async () =>
    (await import("./aws/S3Storage.ts")).s3StorageLayer({
      buckets: { uploads: storage.bucket, outputs: aws.outputsBucket ?? storage.bucket },
      clientConfig: {
        ...awsClientConfig(aws.region, aws.s3Endpoint),
        forcePathStyle: aws.s3Endpoint !== undefined,
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED"
      }
    })
  )
}

const fleetControlLayer = ({ aws, fleet }: Deployment, group = aws.autoScalingGroup) =>
  fleet === "autoscaling" && group !== undefined
    ? lazyLayer(async () =>
      (await import("./aws/AutoScalingFleetControl.ts")).autoScalingFleetControlLayer({
        autoScalingGroupName: group,
        clientConfig: { region: aws.region },
        ...(aws.metadataEndpoint === undefined ? {} : { metadata: { baseUrl: aws.metadataEndpoint } })
      })
    )
    : localFleetControlLayer(thisProcessId())

/** The QueueName dimension: the SQS queue's name, or the backend's kind elsewhere. */
const queueName = (queue: Backend) => queue.kind === "sqs" ? queue.queueUrl.split("/").at(-1) ?? "" : queue.kind

export const metricsLayer = ({ aws, metrics, queue }: Deployment, group = aws.autoScalingGroup) =>
  group === undefined || metrics === "log"
    ? logMetricsLayer
    : metrics === "emf"
    ? lazyLayer(async () =>
      (await import("./aws/EmbeddedMetrics.ts")).embeddedMetricsLayer({
        autoScalingGroupName: group,
        queueName: queueName(queue),
        namespace: aws.metricsNamespace
      })
    )
    : lazyLayer(async () =>
      (await import("./aws/CloudWatchMetrics.ts")).cloudWatchMetricsLayer({
        autoScalingGroupName: group,
        queueName: queueName(queue),
        namespace: aws.metricsNamespace,
        clientConfig: { region: aws.region }
      })
    )

const cdnCacheLayer = ({ aws, cdn }: Deployment) =>
  cdn.kind === "cloudfront"
    ? lazyLayer(async () =>
      (await import("./aws/CloudFrontCdnCache.ts")).cloudFrontCdnCacheLayer({
        distributionId: cdn.distributionId,
        // The SDK sends CloudFront's API to its one global endpoint whatever the region.
        clientConfig: { region: aws.region }
      })
    )
    : noCdnCacheLayer

export const layerFor = (deployment: Deployment, settings: typeof defaultPipelineSettings) => {
  const queueOptions = { maxReceiveCount: settings.maxReceiveCount, defaultVisibility: settings.visibility }
  const { queue: queueBackend } = deployment
  const nonRedisQueue = queueBackend.kind === "sqs"
    ? lazyLayer(async () =>
      (await import("./aws/SqsJobQueue.ts")).sqsJobQueueLayer({
        queueUrl: queueBackend.queueUrl,
        ...(deployment.aws.deadLetterQueueUrl === undefined ? {} : { deadLetterQueueUrl: deployment.aws.deadLetterQueueUrl }),
        defaultVisibility: settings.visibility,
        clientConfig: awsClientConfig(deployment.aws.region, deployment.aws.sqsEndpoint)
      })
    )
    : memoryJobQueueLayer(queueOptions)
  const common = {
    storage: storageLayer(deployment),
    fleet: fleetControlLayer(deployment),
    metrics: metricsLayer(deployment),
    cdn: cdnCacheLayer(deployment),
    sourceCopies: sourceCopiesLayer(deployment.storage)
  }
  const settingsLayer = Layer.succeed(PipelineSettings, settings)
  const redis = [deployment.queue, deployment.coordinator].find((b) => b.kind === "redis")
  if (redis?.kind !== "redis") return Layer.merge(servicesLayer({ queue: nonRedisQueue, coordination: memoryCoordinationLayer, ...common }), settingsLayer)
  const queue = deployment.queue.kind === "redis" ? redisJobQueueLayer(queueOptions) : nonRedisQueue
  const coordination = deployment.coordinator.kind === "redis"
    ? Layer.mergeAll(redisCoordinatorLayer, redisJobStoreLayer, redisIdleRegistryLayer, redisWebhookStoreLayer)
    : memoryCoordinationLayer
  return Layer.merge(servicesLayer({ queue, coordination, ...common }), settingsLayer).pipe(
    Layer.provide(redisConnectionLayer(redis.url, deployment.redisPrefix))
  )
}

/** Everything `configuredLayer` reads from configuration: the deployment, then the pipeline timings. */
export const configuredLayerConfig = Effect.all({ deployment: deploymentConfig, settings: pipelineSettingsFromConfig })

export const configuredLayer = Layer.unwrap(Effect.map(configuredLayerConfig, ({ deployment, settings }) => layerFor(deployment, settings)))

/**
 * `configuredLayerConfig` for a Lambda: VIDPIPE_METRICS=cloudwatch is refused there, because its
 * buffer is sent by a timer and "Lambda freezes the execution environment when the runtime and
 * each extension have completed" (Lambda developer guide): what an invocation recorded would go
 * out late or never. A Lambda uses emf (or log).
 */
export const lambdaLayerConfig = Effect.flatMap(configuredLayerConfig, (config) =>
  config.deployment.metrics === "cloudwatch"
    ? Effect.fail(
      new InvalidConfiguration({
        variable: "VIDPIPE_METRICS",
        value: "cloudwatch",
        expected: "emf or log in a Lambda (cloudwatch sends from a buffer on a timer, which a frozen Lambda never runs)"
      })
    )
    : Effect.succeed(config))

/** `configuredLayer` for the Lambda handlers (see `lambdaLayerConfig`). */
export const lambdaConfiguredLayer = Layer.unwrap(Effect.map(lambdaLayerConfig, ({ deployment, settings }) => layerFor(deployment, settings)))

/** One line naming each backend, for logs. */
export const describeBackend = (backend: Backend) => {
  switch (backend.kind) {
    case "memory":
      return "memory"
    case "redis":
      return backend.url
    case "file":
      return `file://${backend.dir}`
    case "sqs":
      return backend.queueUrl
    case "s3":
      return `s3://${backend.bucket}`
  }
}

/**
 * SpotNotices as configured (VIDPIPE_SPOT_NOTICES), for `worker`: the instance metadata at
 * AWS_EC2_METADATA_SERVICE_ENDPOINT (default 169.254.169.254), or none.
 */
export const spotNoticesLayer = Layer.unwrap(Effect.gen(function*() {
  const choice = yield* oneOf("VIDPIPE_SPOT_NOTICES", yield* Config.String("VIDPIPE_SPOT_NOTICES").pipe(Config.withDefault("off")), ["off", "imds"])
  if (choice === "off") return noSpotNoticesLayer
  const endpoint = (yield* Config.String("AWS_EC2_METADATA_SERVICE_ENDPOINT").pipe(Config.withDefault(""))).trim()
  return lazyLayer(async () => (await import("./aws/ImdsSpotNotices.ts")).imdsSpotNoticesLayer(endpoint === "" ? {} : { baseUrl: endpoint }))
}))
