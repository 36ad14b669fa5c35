/**
 * Sidecar caption files given with a job: read and checked before anything else is done (a bad
 * file stops the job before its source is stored, naming the file and line), then stored as
 * WebVTT beside the presentation when the job is created; the finalizer lists them with the
 * source's own subtitles.
 */
import * as path from "node:path"
import { Effect, FileSystem, Result } from "effect"
import type { CaptionTrack } from "../domain/Captions.ts"
import { captionsDirectory, sidecarCaptionFile, sidecarToWebVtt } from "../domain/Captions.ts"
import { CaptionsInvalid } from "../domain/Errors.ts"
import { Storage } from "../services/Storage.ts"

/** A sidecar file converted and ready to store. */
export interface SidecarCaption {
  readonly fileName: string
  readonly language: string
  readonly webVtt: string
}

/** Reads a local .srt or .vtt file and converts it, or says which line is wrong. */
export const readSidecarCaption = Effect.fn("readSidecarCaption")(function*(file: string, language: string) {
  const fs = yield* FileSystem.FileSystem
  const fileName = path.basename(file)
  const text = yield* fs.readFileString(file).pipe(
    Effect.mapError((error) => new CaptionsInvalid({ file: fileName, line: 0, reason: `cannot be read: ${error.message}` }))
  )
  const webVtt = sidecarToWebVtt(fileName, text)
  if (Result.isFailure(webVtt)) return yield* webVtt.failure
  return { fileName, language, webVtt: webVtt.success } satisfies SidecarCaption
})

/** Stores the sidecars under the job's output prefix; their tracks, in the order given. */
export const storeSidecarCaptions = Effect.fn("storeSidecarCaptions")(function*(outputPrefix: string, sidecars: ReadonlyArray<SidecarCaption>) {
  const storage = yield* Storage
  return yield* Effect.forEach(sidecars, (sidecar, i) => {
    const file = `${captionsDirectory}/${sidecarCaptionFile(i + 1)}`
    return storage.put("outputs", `${outputPrefix}${file}`, sidecar.webVtt, { contentType: "text/vtt" }).pipe(
      Effect.as<CaptionTrack>({ file, language: sidecar.language, label: sidecar.language })
    )
  })
})
