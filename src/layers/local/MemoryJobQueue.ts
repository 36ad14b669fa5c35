/**
 * In-process JobQueue with SQS FIFO semantics (see the contract in services/JobQueue.ts).
 * All state changes happen inside `Effect.sync`, so concurrent receivers never see a
 * half-updated queue; time comes from `Clock`, so tests can drive it with `TestClock`.
 */
import { Clock, Deferred, Duration, Effect, Layer } from "effect"
import { ReceiptExpired } from "../../domain/Errors.ts"
import type { OutgoingMessage, ReceivedMessage, ReceiveOptions } from "../../services/JobQueue.ts"
import { JobQueue } from "../../services/JobQueue.ts"

export interface MemoryQueueOptions {
  readonly defaultVisibility?: Duration.Input
  readonly maxReceiveCount?: number
  readonly deduplicationWindow?: Duration.Input
}

interface StoredMessage {
  readonly messageId: string
  readonly body: string
  readonly groupId: string
  receiveCount: number
  /** The receipt of the latest delivery, if any. */
  receipt: string | undefined
  /** While in flight: when the message becomes visible again. */
  invisibleUntil: number
}

const maxWaitSeconds = 20

export const makeMemoryJobQueue = Effect.fnUntraced(function*(options: MemoryQueueOptions = {}) {
  const defaultVisibility = Duration.toMillis(Duration.fromInputUnsafe(options.defaultVisibility ?? "30 seconds"))
  const maxReceiveCount = options.maxReceiveCount ?? 5
  const dedupWindow = Duration.toMillis(Duration.fromInputUnsafe(options.deduplicationWindow ?? "5 minutes"))

  const messages: Array<StoredMessage> = []
  const deadLetters: Array<StoredMessage> = []
  const seenDedupIds = new Map<string, { readonly messageId: string; readonly expiresAt: number }>()
  let sequence = 0
  // Completed (and replaced) whenever a message may have become receivable.
  let wake = yield* Deferred.make<void>()

  const notify = Effect.gen(function*() {
    const previous = wake
    wake = yield* Deferred.make<void>()
    yield* Deferred.succeed(previous, undefined)
  })

  const inFlight = (message: StoredMessage, now: number) => message.receipt !== undefined && message.invisibleUntil > now

  const send = Effect.fn("JobQueue.send")(function*(outgoing: OutgoingMessage) {
    const now = yield* Clock.currentTimeMillis
    const seen = seenDedupIds.get(outgoing.deduplicationId)
    if (seen !== undefined && seen.expiresAt > now) return { messageId: seen.messageId, duplicate: true }
    const messageId = `m-${++sequence}`
    seenDedupIds.set(outgoing.deduplicationId, { messageId, expiresAt: now + dedupWindow })
    messages.push({ messageId, body: outgoing.body, groupId: outgoing.groupId, receiveCount: 0, receipt: undefined, invisibleUntil: 0 })
    yield* notify
    return { messageId, duplicate: false }
  })

  /** Takes what is receivable now: the head of each unlocked group, FIFO order, one per group. */
  const take = (now: number, max: number, visibility: number): Array<ReceivedMessage> => {
    const lockedGroups = new Set(messages.filter((m) => inFlight(m, now)).map((m) => m.groupId))
    const taken: Array<ReceivedMessage> = []
    for (const message of [...messages]) {
      if (taken.length >= max) break
      if (lockedGroups.has(message.groupId)) continue
      lockedGroups.add(message.groupId)
      if (message.receiveCount >= maxReceiveCount) {
        messages.splice(messages.indexOf(message), 1)
        deadLetters.push(message)
        continue
      }
      message.receiveCount += 1
      message.receipt = `${message.messageId}.${message.receiveCount}.${now}`
      message.invisibleUntil = now + visibility
      taken.push({
        messageId: message.messageId,
        receipt: message.receipt,
        body: message.body,
        groupId: message.groupId,
        receiveCount: message.receiveCount
      })
    }
    return taken
  }

  const receive = Effect.fn("JobQueue.receive")(function*(receiveOptions: ReceiveOptions = {}) {
    const max = Math.max(1, Math.min(10, receiveOptions.maxMessages ?? 1))
    const waitMs = Math.min(maxWaitSeconds, Math.max(0, receiveOptions.waitSeconds ?? 0)) * 1000
    const visibility = receiveOptions.visibility === undefined
      ? defaultVisibility
      : Duration.toMillis(Duration.fromInputUnsafe(receiveOptions.visibility))
    const deadline = (yield* Clock.currentTimeMillis) + waitMs
    while (true) {
      const now = yield* Clock.currentTimeMillis
      const taken = take(now, max, visibility)
      if (taken.length > 0 || now >= deadline) return taken
      // Sleep until something is sent, an in-flight message times out, or the poll ends.
      const nextTimeout = Math.min(...messages.filter((m) => inFlight(m, now)).map((m) => m.invisibleUntil))
      const sleepMs = Math.max(1, Math.min(deadline, nextTimeout) - now)
      yield* Effect.raceFirst(Deferred.await(wake), Effect.sleep(sleepMs))
    }
  })

  /** The stored message this receipt names, if it is still the latest delivery of it. */
  const current = (receipt: string) => messages.find((m) => m.receipt === receipt)

  const extendVisibility = Effect.fn("JobQueue.extendVisibility")(function*(receipt: string, visibility: Duration.Input) {
    const now = yield* Clock.currentTimeMillis
    const message = current(receipt)
    if (message === undefined) return yield* new ReceiptExpired({ receipt })
    message.invisibleUntil = now + Duration.toMillis(Duration.fromInputUnsafe(visibility))
    if (message.invisibleUntil <= now) yield* notify
  })

  const deleted = new Set<string>()
  const remove = Effect.fn("JobQueue.delete")(function*(receipt: string) {
    const message = current(receipt)
    if (message === undefined) {
      // Deleting twice with the same receipt is fine; a receipt superseded by a redelivery is not.
      if (deleted.has(receipt)) return
      return yield* new ReceiptExpired({ receipt })
    }
    messages.splice(messages.indexOf(message), 1)
    deleted.add(receipt)
    yield* notify
  })

  const depth = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const flying = messages.filter((m) => inFlight(m, now)).length
    return { visible: messages.length - flying, inFlight: flying, deadLettered: deadLetters.length }
  })

  // A dead letter's receipt is its message id: nothing else can hold it meanwhile.
  const deleteDeadLetter = (receipt: string) =>
    Effect.sync(() => {
      const index = deadLetters.findIndex((m) => m.messageId === receipt)
      if (index >= 0) deadLetters.splice(index, 1)
    })

  return JobQueue.of({
    send,
    receive,
    extendVisibility,
    delete: remove,
    depth,
    deadLetters: Effect.sync(() => deadLetters.map(({ body, groupId, messageId }) => ({ body, groupId, messageId, receipt: messageId }))),
    deleteDeadLetter
  })
})

export const memoryJobQueueLayer = (options?: MemoryQueueOptions) => Layer.effect(JobQueue, makeMemoryJobQueue(options))
