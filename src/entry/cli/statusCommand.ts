/**
 * `vidpipe status <jobId>`: a job's state, per-task progress and error, from the job store.
 */
import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { JobStore } from "../../services/JobStore.ts"
import { loadDeployment } from "./deployment.ts"
import { reportingFailures } from "./runCommand.ts"

export const statusCommand = Command.make(
  "status",
  {
    jobId: Argument.String("jobId").pipe(Argument.withDescription("The id printed by submit")),
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print the job as JSON"), Flag.withDefault(false))
  },
  (flags) =>
    Effect.gen(function*() {
      const { layer } = yield* loadDeployment("status", true)
      const job = yield* Effect.gen(function*() {
        return yield* (yield* JobStore).get(flags.jobId)
      }).pipe(Effect.provide(layer))
      if (flags.json) {
        const { tasks, ...rest } = job
        yield* Console.log(JSON.stringify({ ...rest, tasks: tasks.map(({ result: _result, ...task }) => task) }))
        return
      }
      yield* Console.log(`job ${job.id} (${job.fileName}): ${job.status}${job.error ? ` — ${job.error.message}` : ""}`)
      for (const task of job.tasks) {
        yield* Console.log(`  ${task.label.padEnd(16)} ${task.status.padEnd(8)} ${String(Math.floor(task.progress * 100)).padStart(3)}%  attempts ${task.attempts}${task.error ? `  (${task.error.message})` : ""}`)
      }
      if (job.manifestKey) yield* Console.log(`manifest: ${job.manifestKey} (outputs area)`)
    }).pipe(reportingFailures({ json: flags.json }))
).pipe(Command.withDescription("Show a job's status and per-task progress"))
