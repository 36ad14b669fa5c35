/**
 * Creating the FIFO task queue and its FIFO dead-letter queue, for tests and a local dev setup
 * (production queues belong to the infrastructure templates). CreateQueue is idempotent for
 * identical attributes, so running this twice with the same name returns the same URLs.
 */
import type { SQSClient } from "@aws-sdk/client-sqs"
import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs"
import { Effect } from "effect"
import { QueueFailed } from "../../domain/Errors.ts"
import { awsCall } from "./errors.ts"

export interface FifoQueuePairOptions {
  /** Base name, without `.fifo`: the queues are `<name>.fifo` and `<name>-dlq.fifo`. */
  readonly name: string
  /** Receives after which a message moves to the DLQ. */
  readonly maxReceiveCount: number
  /** The queue's default visibility timeout. Default 30. */
  readonly visibilityTimeoutSeconds?: number
  /** How long the DLQ keeps messages. Default 14 days (the SQS maximum). */
  readonly deadLetterRetentionSeconds?: number
}

export interface FifoQueuePair {
  readonly queueUrl: string
  readonly deadLetterQueueUrl: string
}

const fail = (operation: string) => (failure: { readonly reason: string; readonly retryable: boolean }) =>
  new QueueFailed({ operation, reason: failure.reason, retryable: failure.retryable })

export const createFifoQueuePair = Effect.fn("sqs.createFifoQueuePair")(function*(client: SQSClient, options: FifoQueuePairOptions) {
  const createDlq = yield* awsCall(
    (abortSignal) =>
      client.send(
        new CreateQueueCommand({
          QueueName: `${options.name}-dlq.fifo`,
          Attributes: {
            FifoQueue: "true",
            MessageRetentionPeriod: String(options.deadLetterRetentionSeconds ?? 14 * 24 * 3600)
          }
        }),
        { abortSignal }
      ),
    "15 seconds",
    fail("createQueue")
  )
  const deadLetterQueueUrl = createDlq.QueueUrl
  if (deadLetterQueueUrl === undefined) return yield* new QueueFailed({ operation: "createQueue", reason: "no QueueUrl", retryable: false })
  const dlqAttributes = yield* awsCall(
    (abortSignal) =>
      client.send(new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ["QueueArn"] }), { abortSignal }),
    "15 seconds",
    fail("createQueue")
  )
  const deadLetterTargetArn = dlqAttributes.Attributes?.QueueArn
  if (deadLetterTargetArn === undefined) return yield* new QueueFailed({ operation: "createQueue", reason: "DLQ has no QueueArn", retryable: false })
  const create = yield* awsCall(
    (abortSignal) =>
      client.send(
        new CreateQueueCommand({
          QueueName: `${options.name}.fifo`,
          Attributes: {
            FifoQueue: "true",
            ContentBasedDeduplication: "false",
            VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn, maxReceiveCount: options.maxReceiveCount })
          }
        }),
        { abortSignal }
      ),
    "15 seconds",
    fail("createQueue")
  )
  const queueUrl = create.QueueUrl
  if (queueUrl === undefined) return yield* new QueueFailed({ operation: "createQueue", reason: "no QueueUrl", retryable: false })
  const pair: FifoQueuePair = { queueUrl, deadLetterQueueUrl }
  return pair
})
