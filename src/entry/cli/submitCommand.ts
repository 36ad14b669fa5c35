/**
 * `vidpipe submit <input>`: stores a file as a job for the configured deployment's workers and
 * prints its id; `--wait` follows it to the end and prints what `process` prints. With
 * `--api URL` the file goes through that vidpipe API instead, as any client's upload would
 * (submitThroughApi.ts; the key from VIDPIPE_API_KEY).
 */
import { Clock, Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Strategy } from "../../domain/Chunking.ts"
import { JobFailed } from "../../domain/Errors.ts"
import { parseLadder } from "../../domain/Ladder.ts"
import { awaitJob } from "../../programs/awaitJob.ts"
import { submitFile } from "../../programs/submitFile.ts"
import { Storage } from "../../services/Storage.ts"
import { loadDeployment } from "./deployment.ts"
import { InvalidOption } from "./InvalidOption.ts"
import { resultJson, summaryLines } from "./jobResult.ts"
import { makeProgressView } from "./progressView.ts"
import { reportingFailures } from "./runCommand.ts"
import { apiKeyVariable, submitThroughApi } from "./submitThroughApi.ts"

export const submitCommand = Command.make(
  "submit",
  {
    input: Argument.String("input").pipe(Argument.withDescription("The video file to submit")),
    ladder: Flag.String("ladder").pipe(Flag.withDescription("Rungs by short side"), Flag.withDefault("1080,720,480,360")),
    strategy: Flag.Literals("strategy", Strategy.literals).pipe(
      Flag.withDescription(
        "rendition: a task per rung; chunk: a task per time span encoding every rung from one decode; auto: chunk when the source gives each of VIDPIPE_CHUNK_WORKERS (2) workers at least 8 s"
      ),
      Flag.withDefault("auto")
    ),
    wait: Flag.Boolean("wait").pipe(Flag.withDescription("Wait for the job to finish and print its result"), Flag.withDefault(false)),
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print JSON on the last line of stdout"), Flag.withDefault(false)),
    api: Flag.String("api").pipe(
      Flag.withDescription(`Upload through this vidpipe API (e.g. http://127.0.0.1:8080) instead of the configured storage; the key is read from ${apiKeyVariable}`),
      Flag.optional
    ),
    partsInFlight: Flag.Int("parts-in-flight").pipe(
      Flag.withDescription("With --api: part uploads in flight at once for a large file (1 to 16)"),
      Flag.withDefault(4)
    )
  },
  (flags) =>
    Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const ladder = parseLadder(flags.ladder)
      if (ladder === undefined) return yield* new InvalidOption({ reason: `--ladder must be a comma-separated list of sizes like 1080,720,480 (got "${flags.ladder}")` })
      if (Option.isSome(flags.api)) {
        if (!Number.isInteger(flags.partsInFlight) || flags.partsInFlight < 1 || flags.partsInFlight > 16) {
          return yield* new InvalidOption({ reason: `--parts-in-flight must be between 1 and 16 (got ${flags.partsInFlight})` })
        }
        return yield* submitThroughApi({
          api: flags.api.value,
          input: flags.input,
          ladder,
          strategy: flags.strategy,
          wait: flags.wait,
          json: flags.json,
          concurrency: flags.partsInFlight
        })
      }
      const { layer } = yield* loadDeployment("submit", true)
      yield* Effect.gen(function*() {
        const { jobId } = yield* submitFile({ input: flags.input, ladder, strategy: flags.strategy })
        if (!flags.wait) {
          yield* Console.log(flags.json ? JSON.stringify({ jobId, status: "queued" }) : jobId)
          return
        }
        const view = makeProgressView()
        const job = yield* awaitJob(jobId, view.update, 500).pipe(Effect.ensuring(view.close))
        if (job.status === "failed") {
          return yield* new JobFailed({ jobId, errorTag: job.error?._tag ?? "Unknown", reason: job.error?.message ?? "the job failed" })
        }
        const manifest = yield* (yield* Storage).readableUrl("outputs", job.manifestKey ?? `${job.outputPrefix}manifest.mpd`)
        const result = resultJson(job, manifest, (yield* Clock.currentTimeMillis) - started)
        yield* Effect.forEach(flags.json ? [JSON.stringify(result)] : summaryLines(result), (line) => Console.log(line), { discard: true })
      }).pipe(Effect.provide(layer))
    }).pipe(reportingFailures({ json: flags.json }))
).pipe(Command.withDescription("Submit a video file to the configured deployment's workers"))
