/**
 * `vidpipe submit <file> --api URL`: the file goes through a vidpipe API (a `vidpipe serve`, or
 * the API on AWS) as any client's would (apiUpload.ts), not into the configured storage. The key
 * is VIDPIPE_API_KEY (never printed or logged). Prints the job id; with `--wait`, follows the job
 * through `GET /v1/jobs/{id}` and prints what `submit --wait` prints, with the delivery URLs.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Clock, Config, Console, Effect, Option, Redacted } from "effect"
import type { Strategy } from "../../domain/Chunking.ts"
import { JobFailed } from "../../domain/Errors.ts"
import type { JobView } from "../../domain/JobView.ts"
import { makeUploadView } from "./apiProgressView.ts"
import { makeProgressView } from "./progressView.ts"
import type { ApiSession } from "./apiUpload.ts"
import { absoluteUrl, apiOrigin, ApiUploadFailed, followJob, hasAudio, makeApiSession, uploadThroughApi } from "./apiUpload.ts"
import { InvalidOption } from "./InvalidOption.ts"
import type { JobResult } from "./jobResult.ts"
import { summaryLines } from "./jobResult.ts"

export const apiKeyVariable = "VIDPIPE_API_KEY"

export interface SubmitThroughApiOptions {
  readonly api: string
  readonly input: string
  readonly ladder: ReadonlyArray<number>
  readonly strategy: Strategy
  readonly wait: boolean
  readonly json: boolean
  /** PUTs in flight for a multipart upload. */
  readonly concurrency?: number
}

/** The key, or a clear refusal when it is not set (its value is never said). */
const apiKey = Config.option(Config.Redacted(apiKeyVariable)).pipe(
  Effect.mapError(() => new InvalidOption({ reason: `${apiKeyVariable} could not be read` })),
  Effect.flatMap((key) =>
    Option.isSome(key) && Redacted.value(key.value).trim() !== ""
      ? Effect.succeed(Redacted.make(Redacted.value(key.value).trim()))
      : Effect.fail(new InvalidOption({ reason: `set ${apiKeyVariable} to an API key of the server (vidpipe serve prints one) to submit with --api` }))
  )
)

/** What `submit --wait` prints for a ready job, from the API's view of it. */
const resultOf = Effect.fnUntraced(function*(session: ApiSession, job: JobView, elapsedMs: number) {
  const playback = job.playback
  if (playback === undefined) return yield* new ApiUploadFailed({ reason: `job ${job.jobId} is ready but the API gives no playback URLs` })
  const manifest = absoluteUrl(session, playback.manifest)
  const at = (url: string | undefined) => (url === undefined ? undefined : absoluteUrl(session, url))
  const [hls, poster, storyboard] = [at(playback.hls), at(playback.poster), at(playback.storyboard)]
  const result: JobResult = {
    jobId: job.jobId,
    status: "ready",
    manifest,
    ...(hls === undefined ? {} : { hls }),
    ...(poster === undefined ? {} : { poster }),
    ...(storyboard === undefined ? {} : { storyboard }),
    renditions: job.renditions.map(({ bitrate, height, width }) => ({ width, height, bitrate })),
    audio: yield* hasAudio(session, manifest),
    ...(job.strategy === "auto" ? {} : { strategy: job.strategy }),
    elapsedMs
  }
  return result
})

export const submitThroughApi = Effect.fn("submitThroughApi")(function*(options: SubmitThroughApiOptions) {
  const started = yield* Clock.currentTimeMillis
  const origin = apiOrigin(options.api)
  if (origin === undefined) return yield* new InvalidOption({ reason: `--api must be the API's http(s) URL, such as http://127.0.0.1:8080 (got "${options.api}")` })
  const key = yield* apiKey
  const fileName = options.input.split(/[\\/]/).at(-1) ?? options.input
  yield* Effect.gen(function*() {
    const session = yield* makeApiSession(origin, key)
    const view = makeUploadView(fileName)
    let jobId: string | undefined
    const uploaded = yield* uploadThroughApi(session, {
      file: options.input,
      request: { fileName, ladder: options.ladder, strategy: options.strategy },
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      onProgress: view.update,
      onCreated: (created) => Effect.sync(() => {
        jobId = created.jobId
      })
    }).pipe(
      Effect.tap(() => view.close(true)),
      Effect.tapError(() => view.close(false)),
      // The job stays awaiting its upload: say which one it was.
      Effect.mapError((error) => (jobId === undefined ? error : new ApiUploadFailed({ reason: `job ${jobId}: ${error.reason}` }))),
      Effect.onInterrupt(() => (jobId === undefined ? Effect.void : Console.error(`vidpipe: upload of job ${jobId} stopped; the job stays awaiting its upload`)))
    )
    if (!options.wait) {
      yield* Console.log(options.json ? JSON.stringify({ jobId: uploaded, status: "queued" }) : uploaded)
      return
    }
    const jobView = makeProgressView()
    const job = yield* followJob(session, uploaded, jobView.update).pipe(Effect.ensuring(jobView.close))
    if (job.status === "failed") {
      return yield* new JobFailed({ jobId: uploaded, errorTag: job.error?._tag ?? "Unknown", reason: job.error?.message ?? "the job failed" })
    }
    const result = yield* resultOf(session, job, (yield* Clock.currentTimeMillis) - started)
    yield* Effect.forEach(options.json ? [JSON.stringify(result)] : summaryLines(result), (line) => Console.log(line), { discard: true })
  }).pipe(Effect.provide(NodeHttpClient.layerUndici))
})
