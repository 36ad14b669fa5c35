/**
 * The task queue, with SQS FIFO semantics on every backend:
 * - a message group is locked while one of its messages is in flight (so each task gets its own group);
 * - a deduplication id seen in the last 5 minutes makes `send` a no-op that returns the first message id;
 * - a received message is invisible for its visibility timeout, then redelivered with a higher receive count;
 * - after `maxReceiveCount` receives without a delete it moves to the dead-letter queue;
 * - `receive` long-polls: it returns as soon as a message is available, or empty after `waitSeconds`.
 */
import type { Duration, Effect } from "effect"
import { Context } from "effect"
import type { QueueFailed, ReceiptExpired } from "../domain/Errors.ts"

export interface OutgoingMessage {
  readonly body: string
  readonly groupId: string
  readonly deduplicationId: string
}

export interface ReceivedMessage {
  readonly messageId: string
  /** Names this delivery: extend and delete with it. */
  readonly receipt: string
  readonly body: string
  readonly groupId: string
  /** 1 on the first delivery. */
  readonly receiveCount: number
}

export interface ReceiveOptions {
  readonly maxMessages?: number
  readonly waitSeconds?: number
  readonly visibility?: Duration.Input
}

export interface QueueDepth {
  readonly visible: number
  readonly inFlight: number
  readonly deadLettered: number
}

/** A message that exhausted its receives, as the dead-letter queue holds it. */
export interface DeadLetter {
  readonly messageId: string
  readonly body: string
  readonly groupId: string
  /** Names this listing of the letter: `deleteDeadLetter` takes it. */
  readonly receipt: string
}

export interface JobQueueShape {
  /** Enqueues; `duplicate` is true when the deduplication id was already seen within the window. */
  readonly send: (message: OutgoingMessage) => Effect.Effect<{ readonly messageId: string; readonly duplicate: boolean }, QueueFailed>
  readonly receive: (options?: ReceiveOptions) => Effect.Effect<ReadonlyArray<ReceivedMessage>, QueueFailed>
  /** Resets the visibility timeout of an in-flight delivery to `visibility` from now (a heartbeat). */
  readonly extendVisibility: (receipt: string, visibility: Duration.Input) => Effect.Effect<void, QueueFailed | ReceiptExpired>
  /** Acknowledges a delivery: the message will not be delivered again. */
  readonly delete: (receipt: string) => Effect.Effect<void, QueueFailed | ReceiptExpired>
  readonly depth: Effect.Effect<QueueDepth, QueueFailed>
  /**
   * Messages that exhausted their receives, oldest first, a bounded number per call. A listed
   * letter may be hidden from the next listings for a while (SQS can only page through a queue
   * by hiding what it returned); one that is not deleted is listed again later.
   */
  readonly deadLetters: Effect.Effect<ReadonlyArray<DeadLetter>, QueueFailed>
  /**
   * Removes a dead letter for good, once what it says has been recorded elsewhere (its job).
   * Deleting one that is already gone is harmless.
   */
  readonly deleteDeadLetter: (receipt: string) => Effect.Effect<void, QueueFailed>
}

export class JobQueue extends Context.Service<JobQueue, JobQueueShape>()("vidpipe/JobQueue") {}
