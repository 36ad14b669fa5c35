/**
 * The JobQueue contract against an SQS FIFO queue (fauxqs, an in-process emulator on loopback),
 * plus what only the SQS layer can get wrong: the group and deduplication ids it sends, and how
 * it reads SDK failures (aws-sdk-client-mock on one client instance).
 */
import type { IncomingMessage } from "node:http"
import { ReceiveMessageCommand, SendMessageCommand, SQSClient, SQSServiceException } from "@aws-sdk/client-sqs"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { Context, Duration, Effect, Fiber, Layer } from "effect"
import { buildApp } from "fauxqs"
import { sqsJobQueueLayer } from "../../../src/layers/aws/SqsJobQueue.ts"
import { createFifoQueuePair } from "../../../src/layers/aws/sqsQueues.ts"
import { JobQueue } from "../../../src/services/JobQueue.ts"
import { jobQueueContract } from "../../contracts/jobQueueContract.ts"

let app: ReturnType<typeof buildApp> | undefined
let client: SQSClient | undefined
let queueCount = 0

const clientFor = (endpoint: string) =>
  new SQSClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    useQueueUrlAsEndpoint: false,
    requestHandler: { requestTimeout: 30_000, connectionTimeout: 5_000 }
  })

beforeAll(async () => {
  app = buildApp({ logger: false })
  const endpoint = await app.listen({ port: 0, host: "127.0.0.1" })
  client = clientFor(endpoint)
})

afterAll(async () => {
  client?.destroy()
  await app?.close()
})

const sharedClient = () => {
  if (client === undefined) throw new Error("fauxqs is not running")
  return client
}

const running = () => {
  if (app === undefined) throw new Error("fauxqs is not running")
  return app
}

/** Checks `done` every 20 ms until it holds; the deadline only turns a hang into a failure. */
const eventually = (done: () => boolean, what: string, within: Duration.Input = "30 seconds") =>
  Effect.gen(function*() {
    while (!done()) yield* Effect.sleep("20 millis")
  }).pipe(Effect.timeoutOrElse({ duration: within, orElse: () => Effect.die(new Error(`timed out waiting for ${what}`)) }))

/** The queues a test's layer made, for reading them directly. */
class QueueUrls extends Context.Service<QueueUrls, { readonly queueUrl: string; readonly deadLetterQueueUrl: string }>()(
  "test/QueueUrls"
) {}

/** Fresh queues per layer build, so tests never see each other's messages. */
const fauxqsQueueLayer = (options: { readonly maxReceiveCount: number; readonly defaultVisibilitySeconds: number }) =>
  Layer.unwrap(Effect.gen(function*() {
    const sqs = sharedClient()
    const pair = yield* createFifoQueuePair(sqs, {
      name: `vidpipe-test-${process.pid}-${++queueCount}`,
      maxReceiveCount: options.maxReceiveCount,
      visibilityTimeoutSeconds: options.defaultVisibilitySeconds
    })
    return sqsJobQueueLayer({
      queueUrl: pair.queueUrl,
      deadLetterQueueUrl: pair.deadLetterQueueUrl,
      client: sqs,
      defaultVisibility: Duration.seconds(options.defaultVisibilitySeconds)
    }).pipe(Layer.merge(Layer.succeed(QueueUrls, pair)))
  }))

jobQueueContract("sqs fifo (fauxqs)", fauxqsQueueLayer)

describe("SqsJobQueue on fauxqs", () => {
  it.live("sends the group id and the deduplication id as MessageGroupId / MessageDeduplicationId", () =>
    Effect.gen(function*() {
      const queue = yield* JobQueue
      const { queueUrl } = yield* QueueUrls
      yield* queue.send({ body: "b", groupId: "task-17", deduplicationId: "job-3/task-17" })
      const output = yield* Effect.promise(() =>
        sharedClient().send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ["MessageGroupId", "MessageDeduplicationId"]
          })
        )
      )
      assert.strictEqual(output.Messages?.length, 1)
      assert.strictEqual(output.Messages?.[0]?.Attributes?.MessageGroupId, "task-17")
      assert.strictEqual(output.Messages?.[0]?.Attributes?.MessageDeduplicationId, "job-3/task-17")
    }).pipe(Effect.provide(fauxqsQueueLayer({ maxReceiveCount: 3, defaultVisibilitySeconds: 30 }))))

  it.live("a duplicate sent by another process is dropped by SQS but not flagged (best effort)", () =>
    Effect.gen(function*() {
      const queue = yield* JobQueue
      const { queueUrl } = yield* QueueUrls
      const other = yield* Effect.promise(() =>
        sharedClient().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "first", MessageGroupId: "g", MessageDeduplicationId: "d" }))
      )
      const mine = yield* queue.send({ body: "second", groupId: "g", deduplicationId: "d" })
      assert.strictEqual(mine.messageId, other.MessageId)
      assert.isFalse(mine.duplicate)
      const received = yield* queue.receive({ maxMessages: 10, waitSeconds: 1 })
      assert.deepStrictEqual(received.map((m) => m.body), ["first"])
    }).pipe(Effect.provide(fauxqsQueueLayer({ maxReceiveCount: 3, defaultVisibilitySeconds: 30 }))))

  it.live("extending a stale receipt fails with ReceiptExpired", () =>
    Effect.gen(function*() {
      const queue = yield* JobQueue
      yield* queue.send({ body: "b", groupId: "s", deduplicationId: "s" })
      const [first] = yield* queue.receive({ waitSeconds: 1, visibility: "1 second" })
      // Back after its 1 s visibility; the long poll returns as soon as it is (10 s is only a bound).
      const [again] = yield* queue.receive({ waitSeconds: 10 })
      assert.strictEqual(again!.receiveCount, 2)
      const error = yield* Effect.flip(queue.extendVisibility(first!.receipt, "10 seconds"))
      assert.strictEqual(error._tag, "ReceiptExpired")
      yield* queue.delete(again!.receipt)
    }).pipe(Effect.provide(fauxqsQueueLayer({ maxReceiveCount: 3, defaultVisibilitySeconds: 30 }))))

  it.live("a delete after the visibility ran out still works while nobody else received the message", () =>
    Effect.gen(function*() {
      const queue = yield* JobQueue
      yield* queue.send({ body: "b", groupId: "late", deduplicationId: "late" })
      const [received] = yield* queue.receive({ waitSeconds: 1, visibility: "1 second" })
      // Past the 1 s visibility: a lower bound, which a slow machine only widens.
      yield* Effect.sleep("1200 millis")
      yield* queue.delete(received!.receipt)
      assert.deepStrictEqual(yield* queue.receive({ waitSeconds: 1 }), [])
      assert.deepStrictEqual(yield* queue.depth, { visible: 0, inFlight: 0, deadLettered: 0 })
    }).pipe(Effect.provide(fauxqsQueueLayer({ maxReceiveCount: 3, defaultVisibilitySeconds: 30 }))))

  it.live("interrupting a long poll aborts the request at once", () =>
    Effect.gen(function*() {
      const queue = yield* JobQueue
      // The emulator's side of the long poll: its ReceiveMessage request, and when its connection
      // closes. (fauxqs itself keeps an abandoned poll going, so the connection is what shows it.)
      const polls: Array<{ closed: boolean }> = []
      const onRequest = (request: IncomingMessage) => {
        if (request.headers["x-amz-target"] !== "AmazonSQS.ReceiveMessage") return
        const seen = { closed: false }
        polls.push(seen)
        request.socket.once("close", () => void (seen.closed = true))
      }
      const server = running().server
      yield* Effect.acquireRelease(
        Effect.sync(() => server.on("request", onRequest)),
        () => Effect.sync(() => server.off("request", onRequest))
      )
      const poll = yield* Effect.forkChild(queue.receive({ waitSeconds: 20 }))
      yield* eventually(() => polls.length === 1, "the long poll to reach the emulator")
      yield* Fiber.interrupt(poll)
      // Aborted: its connection closes now. Left running it would hold it for the whole 20 s poll;
      // the 10 s allowed is far more than a loaded machine needs to close a socket, and far less.
      yield* eventually(() => polls[0]!.closed, "the long poll's connection to close", "10 seconds")
      assert.strictEqual(polls.length, 1)
    }).pipe(Effect.provide(fauxqsQueueLayer({ maxReceiveCount: 3, defaultVisibilitySeconds: 30 }))))
})

describe("SqsJobQueue error mapping (aws-sdk-client-mock)", () => {
  const mockedLayer = () => {
    const mocked = new SQSClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 1 })
    const mock = mockClient(mocked)
    return { mock, layer: sqsJobQueueLayer({ queueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo", client: mocked }) }
  }
  const sdkError = (name: string, message: string, status: number, fault: "client" | "server" = "client") =>
    new SQSServiceException({ name, message, $fault: fault, $metadata: { httpStatusCode: status } })

  it.effect("throttling becomes a retryable QueueFailed", () => {
    const { layer, mock } = mockedLayer()
    mock.onAnyCommand().rejects(sdkError("RequestThrottled", "Rate exceeded", 400))
    return Effect.gen(function*() {
      const queue = yield* JobQueue
      const error = yield* Effect.flip(queue.send({ body: "b", groupId: "g", deduplicationId: "d" }))
      assert.strictEqual(error._tag, "QueueFailed")
      assert.isTrue(error.retryable)
      assert.include(error.message, "RequestThrottled")
    }).pipe(Effect.provide(layer))
  })

  it.effect("a non-transient failure is a non-retryable QueueFailed", () => {
    const { layer, mock } = mockedLayer()
    mock.onAnyCommand().rejects(sdkError("QueueDoesNotExist", "The specified queue does not exist.", 400))
    return Effect.gen(function*() {
      const queue = yield* JobQueue
      const error = yield* Effect.flip(queue.receive())
      assert.strictEqual(error._tag, "QueueFailed")
      assert.isFalse(error.retryable)
    }).pipe(Effect.provide(layer))
  })

  it.effect("ReceiptHandleIsInvalid, MessageNotInflight and an expired-handle InvalidParameterValue become ReceiptExpired", () => {
    const { layer, mock } = mockedLayer()
    return Effect.gen(function*() {
      const queue = yield* JobQueue
      mock.onAnyCommand().rejects(sdkError("ReceiptHandleIsInvalid", "The input receipt handle is invalid.", 404))
      assert.strictEqual((yield* Effect.flip(queue.delete("r1")))._tag, "ReceiptExpired")
      mock.reset()
      mock.onAnyCommand().rejects(sdkError("MessageNotInflight", "Message not inflight", 400))
      assert.strictEqual((yield* Effect.flip(queue.extendVisibility("r2", "10 seconds")))._tag, "ReceiptExpired")
      mock.reset()
      mock.onAnyCommand().rejects(
        sdkError("InvalidParameterValue", "Value r3 for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.", 400)
      )
      assert.strictEqual((yield* Effect.flip(queue.delete("r3")))._tag, "ReceiptExpired")
      mock.reset()
      mock.onAnyCommand().rejects(sdkError("InvalidParameterValue", "Value 99999 for parameter VisibilityTimeout is invalid.", 400))
      assert.strictEqual((yield* Effect.flip(queue.extendVisibility("r4", "10 seconds")))._tag, "QueueFailed")
    }).pipe(Effect.provide(layer))
  })
})
