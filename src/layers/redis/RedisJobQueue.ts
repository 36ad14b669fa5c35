/**
 * JobQueue on Redis Streams with the same SQS FIFO semantics as the in-process queue.
 * The stream (consumer group `workers`) holds the messages and their PEL; ZSETs order the
 * available ones (by send sequence) and the in-flight ones (by visibility deadline); a hash
 * locks each group while one of its messages is in flight. Every state change is one Lua
 * script (jobQueueScripts.ts) registered with `defineCommand`, so ioredis reloads them after
 * `SCRIPT FLUSH` or a failover (EVALSHA falls back to EVAL on NOSCRIPT).
 */
import { Clock, Duration, Effect, Layer, Schema } from "effect"
import { QueueFailed, ReceiptExpired } from "../../domain/Errors.ts"
import type { OutgoingMessage, ReceivedMessage, ReceiveOptions } from "../../services/JobQueue.ts"
import { JobQueue } from "../../services/JobQueue.ts"
import { DepthReply, deleteScript, depthScript, extendScript, ReceiptReply, ReceiveReply, receiveScript, SendReply, sendScript } from "./jobQueueScripts.ts"
import { RedisConnection } from "../../services/RedisConnection.ts"
import { defineScripts, redisCall } from "./RedisConnection.ts"
import { decodeScriptReply } from "./scriptReply.ts"
import { thisProcessId } from "../processIdentity.ts"

export interface RedisQueueOptions {
  readonly maxReceiveCount?: number
  readonly defaultVisibility?: Duration.Input
  readonly deduplicationWindow?: Duration.Input
  /** Names this process in XPENDING; defaults to `${hostname}-${pid}`. */
  readonly consumer?: string
}

const maxWaitSeconds = 20
/** Dead letters listed per call (the oldest). */
const deadLetterPage = 100
/** Long-poll interval while nothing is receivable. */
const pollMs = 200

/** Whole milliseconds; an infinite duration becomes ~30 000 years. */
const millis = (input: Duration.Input) => {
  const ms = Duration.toMillis(Duration.fromInputUnsafe(input))
  return Number.isFinite(ms) ? Math.round(ms) : 1e15
}

export const makeRedisJobQueue = Effect.fnUntraced(function*(options: RedisQueueOptions = {}) {
  const { client, prefix } = yield* RedisConnection
  const defaultVisibility = millis(options.defaultVisibility ?? "30 seconds")
  const maxReceiveCount = options.maxReceiveCount ?? 5
  const dedupWindow = millis(options.deduplicationWindow ?? "5 minutes")
  const consumer = options.consumer ?? thisProcessId()

  const redis = defineScripts(client, 6, {
    vidpipeQueueSend: sendScript,
    vidpipeQueueReceive: receiveScript,
    vidpipeQueueExtend: extendScript,
    vidpipeQueueDelete: deleteScript,
    vidpipeQueueDepth: depthScript
  })
  const base = `${prefix}:queue`
  const deadKey = `${base}:dead`
  // The six KEYS every script takes, then ARGV[1] = the base of the per-message keys.
  const keys = [base, `${base}:available`, `${base}:inflight`, `${base}:locks`, deadKey, `${base}:seq`, base] as const
  const call = <A>(operation: string, run: () => Promise<A>) =>
    redisCall(run, (reason) => new QueueFailed({ operation, reason, retryable: true }))
  /** A script run, its reply decoded; a reply of another shape will not change on a retry. */
  const script = <S extends Schema.Decoder<unknown>>(operation: string, reply: S, run: () => Promise<unknown>) =>
    Effect.flatMap(call(operation, run), decodeScriptReply(reply, (reason) => new QueueFailed({ operation, reason, retryable: false })))

  const send = Effect.fn("JobQueue.send")(function*(message: OutgoingMessage) {
    const [messageId, duplicate] = yield* script("send", SendReply, () =>
      redis.vidpipeQueueSend(...keys, message.deduplicationId, message.groupId, message.body, dedupWindow)
    )
    return { messageId, duplicate: duplicate === 1 }
  })

  const receiveOnce = (max: number, visibility: number) =>
    script("receive", ReceiveReply, () => redis.vidpipeQueueReceive(...keys, consumer, max, visibility, maxReceiveCount)).pipe(
      Effect.map(([now, earliest, ...rows]) => {
        const messages = rows.map(([messageId, receipt, body, groupId, receiveCount]): ReceivedMessage => ({ messageId, receipt, body, groupId, receiveCount }))
        const nextDeadlineIn = earliest < 0 ? Infinity : earliest - now
        return { messages, nextDeadlineIn }
      })
    )

  const receive = Effect.fn("JobQueue.receive")(function*(receiveOptions: ReceiveOptions = {}) {
    const max = Math.max(1, Math.min(10, Math.ceil(receiveOptions.maxMessages ?? 1)))
    const waitMs = Math.min(maxWaitSeconds, Math.max(0, receiveOptions.waitSeconds ?? 0)) * 1000
    const visibility = receiveOptions.visibility === undefined ? defaultVisibility : millis(receiveOptions.visibility)
    const deadline = (yield* Clock.currentTimeMillis) + waitMs
    // Long poll by polling the script: no blocking connection per waiter, and a Redis restart
    // only costs the polls that fail meanwhile.
    while (true) {
      const { messages, nextDeadlineIn } = yield* receiveOnce(max, visibility)
      const now = yield* Clock.currentTimeMillis
      if (messages.length > 0 || now >= deadline) return messages
      yield* Effect.sleep(Math.max(1, Math.min(deadline - now, nextDeadlineIn, pollMs)))
    }
  })

  const extendVisibility = Effect.fn("JobQueue.extendVisibility")(function*(receipt: string, visibility: Duration.Input) {
    const extended = yield* script("extendVisibility", ReceiptReply, () => redis.vidpipeQueueExtend(...keys, receipt, millis(visibility)))
    if (extended !== 1) return yield* new ReceiptExpired({ receipt })
  })

  const remove = Effect.fn("JobQueue.delete")(function*(receipt: string) {
    const deleted = yield* script("delete", ReceiptReply, () => redis.vidpipeQueueDelete(...keys, receipt))
    if (deleted !== 1) return yield* new ReceiptExpired({ receipt })
  })

  const depth = script("depth", DepthReply, () => redis.vidpipeQueueDepth(...keys)).pipe(
    Effect.map(([visible, inFlight, deadLettered]) => ({ visible, inFlight, deadLettered })),
    Effect.withSpan("JobQueue.depth")
  )

  // The receipt is the dead stream's entry id: XDEL removes exactly that letter, once.
  const deadLetters = call("deadLetters", () => client.xrange(deadKey, "-", "+", "COUNT", deadLetterPage)).pipe(
    Effect.map((entries) =>
      entries.map(([entryId, flat]) => {
        const fields = new Map<string, string>()
        for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!)
        return { messageId: fields.get("id") ?? "", body: fields.get("body") ?? "", groupId: fields.get("group") ?? "", receipt: entryId }
      })
    ),
    Effect.withSpan("JobQueue.deadLetters")
  )

  const deleteDeadLetter = (receipt: string) =>
    call("deleteDeadLetter", () => client.xdel(deadKey, receipt)).pipe(Effect.asVoid, Effect.withSpan("JobQueue.deleteDeadLetter"))

  return JobQueue.of({ send, receive, extendVisibility, delete: remove, depth, deadLetters, deleteDeadLetter })
})

export const redisJobQueueLayer = (options?: RedisQueueOptions): Layer.Layer<JobQueue, never, RedisConnection> =>
  Layer.effect(JobQueue, makeRedisJobQueue(options))
