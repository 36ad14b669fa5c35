/**
 * The task queue: SQS FIFO with a FIFO dead-letter queue (raw `aws.sqs.*`, so the redrive policy
 * is visible to tests; SST's Queue would build the same).
 *
 * - Deduplication is explicit (the producer sends `MessageDeduplicationId` = taskId), not
 *   content-based; `MessageGroupId` per task, with per-group throughput (high-throughput FIFO).
 * - The visibility timeout is the pipeline's (`VIDPIPE_VISIBILITY_SECONDS`, 60 s): three of the
 *   worker's 20 s heartbeats, so one missed beat is harmless and a dead worker's task is visible
 *   again within a minute. Workers get the same numbers (environment.ts).
 * - After `maxReceiveCount` receives (`VIDPIPE_MAX_RECEIVES`, 5) SQS moves a message to the DLQ,
 *   where the sweeper finds it and fails its job. The DLQ keeps messages 14 days (the maximum) and
 *   only this queue may redrive into it.
 * - Encrypted with SQS-managed keys.
 */
import * as aws from "@pulumi/aws"
import * as pulumi from "@pulumi/pulumi"
import type { DeploySettings } from "./settings.ts"

const fourteenDays = 14 * 24 * 3600
const fourDays = 4 * 24 * 3600

export const taskQueue = (settings: DeploySettings) => {
  const common = {
    fifoQueue: true,
    contentBasedDeduplication: false,
    deduplicationScope: "messageGroup",
    fifoThroughputLimit: "perMessageGroupId",
    sqsManagedSseEnabled: true,
    tags: { App: settings.app, Stage: settings.stage }
  }
  const deadLetterQueue = new aws.sqs.Queue("TasksDeadLetter", {
    ...common,
    name: `${settings.prefix}-tasks-dlq.fifo`,
    messageRetentionSeconds: fourteenDays
  })
  const queue = new aws.sqs.Queue("Tasks", {
    ...common,
    name: `${settings.prefix}-tasks.fifo`,
    visibilityTimeoutSeconds: settings.pipeline.visibilitySeconds,
    receiveWaitTimeSeconds: settings.pipeline.pollSeconds,
    messageRetentionSeconds: fourDays,
    redrivePolicy: pulumi.jsonStringify({
      deadLetterTargetArn: deadLetterQueue.arn,
      maxReceiveCount: settings.pipeline.maxReceiveCount
    })
  })
  const redriveAllow = new aws.sqs.RedriveAllowPolicy("TasksDeadLetterRedriveAllow", {
    queueUrl: deadLetterQueue.url,
    redriveAllowPolicy: pulumi.jsonStringify({ redrivePermission: "byQueue", sourceQueueArns: [queue.arn] })
  })
  return { queue, deadLetterQueue, redriveAllow }
}

export type TaskQueue = ReturnType<typeof taskQueue>
