/**
 * The VIDPIPE_* configuration the deployed code reads (src/layers/fromConfig.ts,
 * src/entry/lambda/lambdaConfig.ts), built from the stack's resources. Workers and Lambdas get the
 * same backend settings and the same pipeline timings, so they agree with the queue's own
 * visibility timeout and redrive count.
 */
import * as pulumi from "@pulumi/pulumi"
import type { DeploySettings } from "./settings.ts"

export interface Backends {
  /** The FIFO task queue's URL and its dead-letter queue's (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME.fifo). */
  readonly queueUrl: pulumi.Input<string>
  readonly deadLetterQueueUrl: pulumi.Input<string>
  readonly uploadsBucket: pulumi.Input<string>
  readonly outputsBucket: pulumi.Input<string>
}

export type Environment = Record<string, pulumi.Input<string>>

/** `https://sqs…` → `sqs://sqs…`, the form README documents (both are accepted). */
export const sqsUrl = (queueUrl: pulumi.Input<string>) => pulumi.output(queueUrl).apply((url) => url.replace(/^https:\/\//, "sqs://"))

/** The worker group's name: the metrics' AutoScalingGroupName dimension and the group itself. */
export const workerGroupName = (settings: Pick<DeploySettings, "prefix">) => `${settings.prefix}-workers`

/**
 * Everything but the coordinator, which carries the Redis password and is passed separately.
 * Metrics go to CloudWatch with the dimensions the scaling alarms select on (scaling.ts).
 */
export const backendEnvironment = (settings: DeploySettings, backends: Backends): Environment => ({
  VIDPIPE_METRICS: "cloudwatch",
  VIDPIPE_AUTOSCALING_GROUP: workerGroupName(settings),
  VIDPIPE_QUEUE: sqsUrl(backends.queueUrl),
  VIDPIPE_SQS_DLQ: sqsUrl(backends.deadLetterQueueUrl),
  VIDPIPE_STORAGE: pulumi.interpolate`s3://${backends.uploadsBucket}`,
  VIDPIPE_OUTPUTS_BUCKET: backends.outputsBucket,
  VIDPIPE_VISIBILITY_SECONDS: String(settings.pipeline.visibilitySeconds),
  VIDPIPE_HEARTBEAT_SECONDS: String(settings.pipeline.heartbeatSeconds),
  VIDPIPE_POLL_SECONDS: String(settings.pipeline.pollSeconds),
  VIDPIPE_MAX_RECEIVES: String(settings.pipeline.maxReceiveCount)
})

/**
 * The Redis URL of an ElastiCache replication group with in-transit encryption and an auth token
 * (`rediss://`; ioredis decodes the percent-encoded password).
 */
export const redisUrl = (redis: { host: pulumi.Input<string>; port: pulumi.Input<number>; username: pulumi.Input<string>; password: pulumi.Input<string> }) =>
  pulumi.all([redis.host, redis.port, redis.username, redis.password]).apply(([host, port, username, password]) =>
    `rediss://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${host}:${port}/0`
  )
