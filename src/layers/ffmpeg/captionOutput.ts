/**
 * Reads back the subtitle streams an encode extracted as WebVTT (arguments.ts `captionOutputs`).
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import type { CaptionTrack, SourceCaption } from "../../domain/Captions.ts"
import { captionsDirectory, embeddedCaptionFile, languageOf } from "../../domain/Captions.ts"
import { FfmpegFailed } from "../../domain/Errors.ts"
import { captionsFolder } from "./arguments.ts"

/**
 * The subtitle streams an encode extracted (arguments.ts `captionOutputs`) as caption tracks,
 * each file checked to be WebVTT; the label is the language until the finalizer names them all.
 */
export const collectCaptions = (
  operation: string,
  captions: ReadonlyArray<SourceCaption> | undefined,
  outputDir: string
): Effect.Effect<ReadonlyArray<CaptionTrack> | undefined, FfmpegFailed> =>
  captions === undefined || captions.length === 0
    ? Effect.succeed(undefined)
    : Effect.forEach(captions, (caption) =>
      Effect.tryPromise({
        try: async () => {
          const name = embeddedCaptionFile(caption.stream)
          const head = (await fs.readFile(path.join(captionsFolder(outputDir), name), "utf8")).slice(0, 6)
          if (head !== "WEBVTT") throw new Error(`${name} is not WebVTT`)
          const language = languageOf(caption.language) ?? "und"
          return { file: `${captionsDirectory}/${name}`, language, label: language }
        },
        catch: (error) => new FfmpegFailed({ operation, reason: `cannot read subtitle stream ${caption.stream} as WebVTT: ${String(error)}`, retryable: false })
      }))
