/**
 * `vidpipe process <input>`: one video file in, one DASH presentation out, on this machine.
 */
import * as os from "node:os"
import * as path from "node:path"
import { Clock, Console, Effect, Exit, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Strategy } from "../../domain/Chunking.ts"
import { parseLadder } from "../../domain/Ladder.ts"
import { localWorkersFor, maxLocalWorkers } from "../../domain/LocalWorkers.ts"
import { embeddedLayer } from "../../layers/embedded.ts"
import { languageOf } from "../../domain/Captions.ts"
import { processFile } from "../../programs/processFile.ts"
import type { SidecarCaption } from "../../programs/sidecarCaptions.ts"
import { readSidecarCaption } from "../../programs/sidecarCaptions.ts"
import { removingCreatedFolders } from "./createdFolders.ts"
import { InvalidOption } from "./InvalidOption.ts"
import { resultJson, summaryLines } from "./jobResult.ts"
import { prepareOutputFolder, removePresentation } from "./outputFolder.ts"
import { makeProgressView } from "./progressView.ts"
import { reportingFailures } from "./runCommand.ts"
import { dataDirectoryConfig } from "./cliConfig.ts"
import { makeStageRecorder } from "./stageTimings.ts"


const defaultOutFor = (input: string) => path.join("out", path.parse(input).name || "presentation")

export const processPresentation = Effect.fn("processPresentation")(function*(options: {
  readonly input: string
  readonly out: string
  readonly ladder: ReadonlyArray<number> | undefined
  /** Default: from this machine's cores (`localWorkersFor`). */
  readonly workers?: number | undefined
  /** Default `auto`: this process knows its worker count, so auto's rule is exact here. */
  readonly strategy?: Strategy | undefined
  /** False: no storyboard. */
  readonly storyboard?: boolean | undefined
  /** Sidecar captions, checked and converted. */
  readonly captions?: ReadonlyArray<SidecarCaption> | undefined
  readonly json: boolean
}) {
  const started = yield* Clock.currentTimeMillis
  // Node's own start and the imports, before this command ran.
  const startupMs = process.uptime() * 1000
  const stages = makeStageRecorder()
  const workers = options.workers ?? localWorkersFor(os.availableParallelism())
  if (!Number.isInteger(workers) || workers < 1 || workers > maxLocalWorkers) {
    return yield* new InvalidOption({ reason: `--workers must be between 1 and ${maxLocalWorkers} (got ${workers})` })
  }
  const uploads = path.join(yield* dataDirectoryConfig, "uploads")
  return yield* Effect.gen(function*() {
    const outDir = yield* prepareOutputFolder(options.out)
    return yield* Effect.gen(function*() {
      const view = makeProgressView()
      const job = yield* processFile({
        input: options.input,
        workers,
        ladder: options.ladder,
        strategy: options.strategy ?? "auto",
        storyboard: options.storyboard,
        captions: options.captions,
        outputPrefix: "",
        onUpdate: view.update
      }).pipe(
        Effect.ensuring(view.close),
        Effect.provide(embeddedLayer({ folders: { uploads, outputs: outDir }, sourceCopiesFolder: path.join(path.dirname(uploads), "worker-sources") })),
        Effect.withTracer(stages.tracer)
      )
      const manifest = path.join(outDir, job.manifestKey ?? "manifest.mpd")
      const result = resultJson(job, manifest, (yield* Clock.currentTimeMillis) - started, { timings: stages.timings(startupMs), workers })
      yield* Effect.forEach(options.json ? [JSON.stringify(result)] : summaryLines(result), (line) => Console.log(line), { discard: true })
      return result
    }).pipe(
      // processFile removes what a failed run wrote; a run interrupted later, while its result is
      // printed, ends as interrupted (exit 130) and so must not leave a presentation either.
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : removePresentation(outDir)))
    )
  }).pipe(
    // The source copy is gone after the run; a failed or interrupted run leaves no output folder either.
    removingCreatedFolders({ always: [uploads], keepOnSuccess: [options.out] })
  )
})

export const processCommand = Command.make(
  "process",
  {
    input: Argument.String("input").pipe(Argument.withDescription("The video file to turn into a DASH presentation")),
    out: Flag.String("out").pipe(
      Flag.withDescription("Folder for the presentation (manifest.mpd, video/, audio/); default out/<input name>"),
      Flag.optional
    ),
    ladder: Flag.String("ladder").pipe(
      Flag.withDescription("Rungs by short side, largest first; rungs above the source are skipped"),
      Flag.withDefault("1080,720,480,360")
    ),
    workers: Flag.Int("workers").pipe(
      Flag.withDescription(`Worker fibers encoding tasks in parallel; default one per 8 cores, at least 1 (${localWorkersFor(os.availableParallelism())} here)`),
      Flag.optional
    ),
    strategy: Flag.Literals("strategy", Strategy.literals).pipe(
      Flag.withDescription(
        "rendition: a task per rung; chunk: a task per time span encoding every rung from one decode; auto: chunk when the source gives every worker at least 8 s"
      ),
      Flag.withDefault("auto")
    ),
    captions: Flag.String("captions").pipe(
      Flag.withDescription("A sidecar caption file and its language, FILE:LANG (e.g. subs.en.srt:en); .srt or .vtt; repeat for more"),
      Flag.atLeast(0)
    ),
    noStoryboard: Flag.Boolean("no-storyboard").pipe(
      Flag.withDescription("Skip the scrub thumbnails (storyboard sheets and storyboard.vtt); the poster is still cut"),
      Flag.withDefault(false)
    ),
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print the result as JSON on the last line of stdout"), Flag.withDefault(false))
  },
  (flags) =>
    Effect.gen(function*() {
      const ladder = parseLadder(flags.ladder)
      if (ladder === undefined) {
        return yield* new InvalidOption({ reason: `--ladder must be a comma-separated list of sizes like 1080,720,480 (got "${flags.ladder}")` })
      }
      // Captions are checked first: a bad file stops the run before anything is stored.
      const captions = yield* Effect.forEach(flags.captions, (value) =>
        Effect.gen(function*() {
          const colon = value.lastIndexOf(":")
          const [file, tag] = colon > 0 ? [value.slice(0, colon), value.slice(colon + 1)] : [value, "und"]
          const language = languageOf(tag)
          if (language === undefined) {
            return yield* new InvalidOption({ reason: `--captions ${value}: "${tag}" is not a language tag like en or pt-BR` })
          }
          return yield* readSidecarCaption(file, language)
        }))
      yield* processPresentation({
        input: flags.input,
        out: Option.getOrElse(flags.out, () => defaultOutFor(flags.input)),
        ladder,
        workers: Option.getOrUndefined(flags.workers),
        strategy: flags.strategy,
        storyboard: !flags.noStoryboard,
        captions,
        json: flags.json
      })
    }).pipe(reportingFailures({ json: flags.json }))
).pipe(Command.withDescription("Turn a video file into an adaptive-bitrate MPEG-DASH presentation on this machine"))
