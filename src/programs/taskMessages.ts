/**
 * Tasks on the wire: JSON bodies with the FIFO identities derived from the task itself.
 */
import { Effect, Schema } from "effect"
import type { QueuedTask } from "../domain/Task.ts"
import { messageIdentity, QueuedTaskJson } from "../domain/Task.ts"
import { JobQueue } from "../services/JobQueue.ts"

const encodeTask = Schema.encodeSync(QueuedTaskJson)
export const decodeTask = Schema.decodeUnknownEffect(QueuedTaskJson)

export const enqueueTask = Effect.fn("enqueueTask")(function*(task: QueuedTask) {
  const queue = yield* JobQueue
  return yield* queue.send({ body: encodeTask(task), ...messageIdentity(task) })
})
