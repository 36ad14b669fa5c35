/**
 * Tasks on the wire: JSON bodies with the FIFO identities derived from the task itself.
 */
import { Effect, Schema } from "effect"
import type { Task } from "../domain/Task.ts"
import { messageIdentity, TaskJson } from "../domain/Task.ts"
import { JobQueue } from "../services/JobQueue.ts"

const encodeTask = Schema.encodeSync(TaskJson)
export const decodeTask = Schema.decodeUnknownEffect(TaskJson)

export const enqueueTask = Effect.fn("enqueueTask")(function*(task: Task) {
  const queue = yield* JobQueue
  return yield* queue.send({ body: encodeTask(task), ...messageIdentity(task) })
})
