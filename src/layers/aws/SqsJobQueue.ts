/**
 * JobQueue on an SQS FIFO queue (plus its FIFO dead-letter queue). SQS provides the semantics the
 * contract describes (group locking, 5-minute deduplication, visibility, receive counts, redrive);
 * this layer maps the calls and fills the few gaps where SQS does not tell us what happened:
 *
 * - `duplicate`: SendMessage answers a deduplicated send exactly like a fresh one (same MessageId,
 *   no flag). We report `duplicate: true` when this process already got that MessageId back for
 *   that deduplication id within the 5-minute window. A duplicate of a message sent by another
 *   process (or before a restart) is reported as `duplicate: false` — SQS still dropped it, only
 *   the flag is best-effort.
 * - stale receipts: SQS may accept a DeleteMessage with a superseded receipt handle without
 *   deleting anything (AWS documents this; emulators do it too). The layer remembers, for the
 *   deliveries it received, a conservative visibility deadline (measured from *before* the
 *   request, so it never ends later than SQS's). Deleting before that deadline is safe; after it,
 *   the receipt is first checked with ChangeMessageVisibility (which fails for a handle that is no
 *   longer in flight) and `ReceiptExpired` is returned instead of a silent no-op. Receipts this
 *   process did not receive are passed to SQS as they are.
 * - `deadLetters` receives from the DLQ, hiding what it gets for `deadLetterHold`: SQS returns at
 *   most 10 messages per ReceiveMessage, oldest first, and a VisibilityTimeout of 0 would return
 *   the same 10 every time. Hiding them ("The duration (in seconds) that the received messages are
 *   hidden from subsequent retrieve requests after being retrieved by a ReceiveMessage request",
 *   ReceiveMessage API reference) lets the next call reach the ones behind; it lists at most
 *   `peekLimit`. `deleteDeadLetter` is DeleteMessage on the DLQ with the receipt handle listed (the
 *   caller needs `sqs:DeleteMessage` on the DLQ); a letter not deleted is listed again once visible.
 *
 * A given `client` is used as is: its request timeout must exceed the long poll (20 s). A client
 * made here gets a 30 s request timeout and is destroyed with the layer.
 */
import type { Message, SQSClientConfig } from "@aws-sdk/client-sqs"
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient
} from "@aws-sdk/client-sqs"
import { Clock, Duration, Effect, Layer } from "effect"
import { QueueFailed, ReceiptExpired } from "../../domain/Errors.ts"
import type { OutgoingMessage, ReceivedMessage, ReceiveOptions } from "../../services/JobQueue.ts"
import { JobQueue } from "../../services/JobQueue.ts"
import { describeAwsError } from "./errors.ts"

export interface SqsQueueOptions {
  /** The FIFO queue (its URL ends in `.fifo`). */
  readonly queueUrl: string
  /** Its redrive target; without it `deadLettered` is 0 and `deadLetters` is empty. */
  readonly deadLetterQueueUrl?: string
  /** A client to use as is; otherwise one is made from `clientConfig` and destroyed with the layer. */
  readonly client?: SQSClient
  readonly clientConfig?: SQSClientConfig
  /** Visibility of a receive that names none. Default 30 seconds. */
  readonly defaultVisibility?: Duration.Input
  /** Cap on a receive's long poll, in seconds (SQS allows at most 20). Default 20. */
  readonly waitSecondsMax?: number
  /** Added to a call's own wait to bound it. Default 15 seconds. */
  readonly callTimeout?: Duration.Input
  /** How many dead letters `deadLetters` lists at most. Default 100. */
  readonly peekLimit?: number
  /** How long a listed dead letter stays hidden from the next listings. Default 30 seconds. */
  readonly deadLetterHold?: Duration.Input
}

/** Error names (SQS JSON or query protocol) that mean "this receipt handle names no in-flight delivery". */
const staleReceiptNames = new Set(["ReceiptHandleIsInvalid", "MessageNotInflight"])

const errorName = (error: unknown): string => {
  if (typeof error !== "object" || error === null) return ""
  const name = (error as { readonly name?: unknown }).name
  return typeof name === "string" ? name.replace(/^AWS\.SimpleQueueService\./, "") : ""
}

/** Whether an SQS failure on a call that takes a receipt handle says the handle is stale. */
export const isStaleReceiptError = (error: unknown): boolean => {
  const name = errorName(error)
  if (staleReceiptNames.has(name)) return true
  if (name !== "InvalidParameterValue") return false
  const message = (error as { readonly message?: unknown }).message
  return typeof message === "string" && /receipt ?handle/i.test(message)
}

const maxVisibilitySeconds = 43_200
const dedupWindowMs = 5 * 60 * 1000
/** How long a finished delivery is remembered, so a second delete stays harmless. */
const forgetAfterMs = 15 * 60 * 1000

const visibilitySeconds = (input: Duration.Input) =>
  Math.min(maxVisibilitySeconds, Math.max(0, Math.ceil(Duration.toMillis(Duration.fromInputUnsafe(input)) / 1000)))

interface Delivery {
  /** No later than SQS's own deadline for this handle. */
  deadline: number
  state: "inFlight" | "deleted" | "void"
  forgetAt: number
}

export const makeSqsJobQueue = Effect.fnUntraced(function*(options: SqsQueueOptions) {
  const client = options.client ??
    (yield* Effect.acquireRelease(
      Effect.sync(() =>
        new SQSClient({
          requestHandler: { requestTimeout: 30_000, connectionTimeout: 5_000 },
          ...options.clientConfig
        })
      ),
      (made) => Effect.sync(() => made.destroy())
    ))
  const queueUrl = options.queueUrl
  const dlqUrl = options.deadLetterQueueUrl
  const defaultVisibility = visibilitySeconds(options.defaultVisibility ?? "30 seconds")
  const waitSecondsMax = Math.min(20, Math.max(0, Math.floor(options.waitSecondsMax ?? 20)))
  const callTimeoutMs = Duration.toMillis(Duration.fromInputUnsafe(options.callTimeout ?? "15 seconds"))
  const peekLimit = Math.max(1, options.peekLimit ?? 100)
  const deadLetterHold = Math.max(1, visibilitySeconds(options.deadLetterHold ?? "30 seconds"))

  /**
   * One SDK call, aborted on interruption or after `timeoutMs`. Failures become QueueFailed, or
   * whatever `staleAs` makes of them (ReceiptExpired when SQS says a receipt handle is stale).
   */
  const call = <A, E = QueueFailed>(
    operation: string,
    run: (abortSignal: AbortSignal) => Promise<A>,
    staleAs?: (error: unknown) => E | undefined,
    timeoutMs = callTimeoutMs
  ): Effect.Effect<A, QueueFailed | E> =>
    Effect.tryPromise({
      try: run,
      catch: (error): QueueFailed | E => {
        const stale = staleAs?.(error)
        if (stale !== undefined) return stale
        const failure = describeAwsError(error)
        return new QueueFailed({ operation, reason: failure.reason, retryable: failure.retryable })
      }
    }).pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(timeoutMs),
        orElse: () =>
          Effect.fail(new QueueFailed({ operation, reason: `no answer within ${timeoutMs} ms`, retryable: true }))
      })
    )

  const staleReceipt = (receipt: string) => (error: unknown) => isStaleReceiptError(error) ? new ReceiptExpired({ receipt }) : undefined

  // What this process knows; both maps are pruned as they are used.
  const sentByDedupId = new Map<string, { readonly messageId: string; readonly expiresAt: number }>()
  const deliveries = new Map<string, Delivery>()
  const prune = (now: number) => {
    for (const [id, sent] of sentByDedupId) if (sent.expiresAt <= now) sentByDedupId.delete(id)
    for (const [receipt, delivery] of deliveries) if (delivery.forgetAt <= now) deliveries.delete(receipt)
  }

  const send = Effect.fn("JobQueue.send")(function*(outgoing: OutgoingMessage) {
    const started = yield* Clock.currentTimeMillis
    const output = yield* call("send", (abortSignal) =>
      client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: outgoing.body,
          MessageGroupId: outgoing.groupId,
          MessageDeduplicationId: outgoing.deduplicationId
        }),
        { abortSignal }
      ))
    const messageId = output.MessageId
    if (messageId === undefined) {
      return yield* new QueueFailed({ operation: "send", reason: "SendMessage returned no MessageId", retryable: true })
    }
    prune(started)
    const seen = sentByDedupId.get(outgoing.deduplicationId)
    if (seen !== undefined && seen.messageId === messageId) return { messageId, duplicate: true }
    sentByDedupId.set(outgoing.deduplicationId, { messageId, expiresAt: started + dedupWindowMs })
    return { messageId, duplicate: false }
  })

  const toReceived = (message: Message): ReceivedMessage | undefined => {
    if (message.MessageId === undefined || message.ReceiptHandle === undefined) return undefined
    return {
      messageId: message.MessageId,
      receipt: message.ReceiptHandle,
      body: message.Body ?? "",
      groupId: message.Attributes?.MessageGroupId ?? "",
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? "1")
    }
  }

  const receive = Effect.fn("JobQueue.receive")(function*(receiveOptions: ReceiveOptions = {}) {
    const max = Math.max(1, Math.min(10, Math.floor(receiveOptions.maxMessages ?? 1)))
    const waitSeconds = Math.min(waitSecondsMax, Math.max(0, Math.ceil(receiveOptions.waitSeconds ?? 0)))
    const visibility = receiveOptions.visibility === undefined ? defaultVisibility : visibilitySeconds(receiveOptions.visibility)
    const started = yield* Clock.currentTimeMillis
    const output = yield* call(
      "receive",
      (abortSignal) =>
        client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: max,
            WaitTimeSeconds: waitSeconds,
            VisibilityTimeout: visibility,
            MessageSystemAttributeNames: ["ApproximateReceiveCount", "MessageGroupId"]
          }),
          { abortSignal }
        ),
      undefined,
      waitSeconds * 1000 + callTimeoutMs
    )
    prune(started)
    const received = (output.Messages ?? []).flatMap((message) => {
      const mapped = toReceived(message)
      return mapped === undefined ? [] : [mapped]
    })
    const deadline = started + visibility * 1000
    for (const message of received) {
      deliveries.set(message.receipt, { deadline, state: "inFlight", forgetAt: deadline + forgetAfterMs })
    }
    return received
  })

  const changeVisibility = (operation: string, receipt: string, seconds: number) =>
    call(
      operation,
      (abortSignal) =>
        client.send(
          new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receipt, VisibilityTimeout: seconds }),
          { abortSignal }
        ),
      staleReceipt(receipt)
    )

  /** A receipt SQS called stale is void from now on, for this process too. */
  const voidOnExpiry = (receipt: string) => <A>(self: Effect.Effect<A, QueueFailed | ReceiptExpired>) =>
    self.pipe(Effect.tapError((error) =>
      Effect.sync(() => {
        const delivery = deliveries.get(receipt)
        if (delivery !== undefined && error._tag === "ReceiptExpired") delivery.state = "void"
      })
    ))

  const extendVisibility = Effect.fn("JobQueue.extendVisibility")(function*(receipt: string, visibility: Duration.Input) {
    const seconds = visibilitySeconds(visibility)
    const known = deliveries.get(receipt)
    if (known !== undefined && known.state !== "inFlight") return yield* new ReceiptExpired({ receipt })
    const started = yield* Clock.currentTimeMillis
    yield* changeVisibility("extendVisibility", receipt, seconds).pipe(Effect.asVoid, voidOnExpiry(receipt))
    const delivery = deliveries.get(receipt)
    if (delivery !== undefined) {
      delivery.deadline = started + seconds * 1000
      delivery.forgetAt = Math.max(delivery.forgetAt, delivery.deadline + forgetAfterMs)
    }
  })

  const remove = Effect.fn("JobQueue.delete")(function*(receipt: string) {
    const now = yield* Clock.currentTimeMillis
    const known = deliveries.get(receipt)
    if (known?.state === "deleted") return
    if (known?.state === "void") return yield* new ReceiptExpired({ receipt })
    if (known !== undefined && known.deadline <= now) {
      // Past our (conservative) deadline: SQS may have handed the message to someone else, and a
      // DeleteMessage with the old handle could "succeed" without deleting. Hold it first: this
      // fails for a handle that is no longer in flight, and keeps it ours until the delete.
      yield* changeVisibility("delete", receipt, defaultVisibility).pipe(Effect.asVoid, voidOnExpiry(receipt))
    }
    yield* call(
      "delete",
      (abortSignal) => client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receipt }), { abortSignal }),
      staleReceipt(receipt)
    ).pipe(Effect.asVoid, voidOnExpiry(receipt))
    const delivery = deliveries.get(receipt)
    if (delivery !== undefined) {
      delivery.state = "deleted"
      delivery.forgetAt = now + forgetAfterMs
    }
  })

  const countOf = (url: string, operation: string) =>
    call(operation, (abortSignal) =>
      client.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        }),
        { abortSignal }
      )).pipe(Effect.map((output) => ({
        visible: Number(output.Attributes?.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(output.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
      })))

  const depth = Effect.all([
    countOf(queueUrl, "depth"),
    dlqUrl === undefined ? Effect.succeed({ visible: 0, inFlight: 0 }) : countOf(dlqUrl, "depth")
  ], { concurrency: 2 }).pipe(
    Effect.map(([main, dead]) => ({ visible: main.visible, inFlight: main.inFlight, deadLettered: dead.visible + dead.inFlight })),
    Effect.withSpan("JobQueue.depth")
  )

  const listDeadLetters = Effect.fn("JobQueue.deadLetters")(function*() {
    if (dlqUrl === undefined) return []
    const found = new Map<string, { messageId: string; body: string; groupId: string; receipt: string; sent: number; sequence: string }>()
    // What one call returns stays hidden for deadLetterHold, so each round reaches the next ones;
    // a round that brings nothing new ends the walk.
    while (found.size < peekLimit) {
      const output = yield* call("deadLetters", (abortSignal) =>
        client.send(
          new ReceiveMessageCommand({
            QueueUrl: dlqUrl,
            MaxNumberOfMessages: Math.min(10, peekLimit - found.size),
            WaitTimeSeconds: 0,
            VisibilityTimeout: deadLetterHold,
            MessageSystemAttributeNames: ["MessageGroupId", "SentTimestamp", "SequenceNumber"]
          }),
          { abortSignal }
        ))
      let added = 0
      for (const message of output.Messages ?? []) {
        if (message.MessageId === undefined || message.ReceiptHandle === undefined || found.has(message.MessageId)) continue
        found.set(message.MessageId, {
          messageId: message.MessageId,
          body: message.Body ?? "",
          groupId: message.Attributes?.MessageGroupId ?? "",
          receipt: message.ReceiptHandle,
          sent: Number(message.Attributes?.SentTimestamp ?? 0),
          sequence: message.Attributes?.SequenceNumber ?? ""
        })
        added++
      }
      if (added === 0) break
    }
    const bySequence = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
    return [...found.values()]
      .sort((a, b) => a.sent - b.sent || bySequence(a.sequence, b.sequence))
      .map(({ body, groupId, messageId, receipt }) => ({ messageId, body, groupId, receipt }))
  })

  const deleteDeadLetter = Effect.fn("JobQueue.deleteDeadLetter")(function*(receipt: string) {
    if (dlqUrl === undefined) return
    // A handle that is no longer current (another sweeper listed the letter since) deletes
    // nothing: the letter is listed again and, its job already recorded, deleted then.
    yield* call(
      "deleteDeadLetter",
      (abortSignal) => client.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: receipt }), { abortSignal }),
      (error) => isStaleReceiptError(error) ? ("stale" as const) : undefined
    ).pipe(Effect.catchIf((outcome): outcome is "stale" => outcome === "stale", () => Effect.void), Effect.asVoid)
  })

  return JobQueue.of({ send, receive, extendVisibility, delete: remove, depth, deadLetters: listDeadLetters(), deleteDeadLetter })
})

export const sqsJobQueueLayer = (options: SqsQueueOptions) => Layer.effect(JobQueue, makeSqsJobQueue(options))
