/**
 * Reads back the pictures an encode cut beside its video (arguments.ts `pictureGraph`): which
 * thumbnails its sheets hold, by the same rule ffmpeg selected them with, and whether the poster
 * was written (a poster second past the end of the video has no frame: then there is none).
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import { FfmpegFailed } from "../../domain/Errors.ts"
import type { Pictures } from "../../domain/Pictures.ts"
import { posterName, storyboardDirectory } from "../../domain/Pictures.ts"
import { sheetsFor, thumbnailsOfFrames } from "../../domain/Storyboard.ts"
import type { PictureRequest } from "../../services/Ffmpeg.ts"
import { picturesFolder } from "./arguments.ts"

const exists = (file: string) => fs.stat(file).then(() => true, () => false)

/** `frames`: the global index of the encode's first frame and how many it encoded. */
export const collectPictures = (
  operation: string,
  request: PictureRequest | undefined,
  outputDir: string,
  frames: { readonly first: number; readonly count: number },
  frameRate: string
): Effect.Effect<Pictures | undefined, FfmpegFailed> => {
  if (request === undefined || (request.storyboard === undefined && request.poster === undefined)) return Effect.succeed(undefined)
  const folder = picturesFolder(outputDir)
  return Effect.tryPromise({
    try: async () => {
      const sheets = request.storyboard === undefined ? [] : (await fs.readdir(path.join(folder, storyboardDirectory)).catch(() => []))
        .filter((name) => name.startsWith(`${request.sheetPrefix}-`) && name.endsWith(".jpg"))
        .sort()
      const poster = request.poster !== undefined && await exists(path.join(folder, posterName))
      return { sheets, poster }
    },
    catch: (error) => new FfmpegFailed({ operation, reason: `cannot read the pictures ffmpeg wrote: ${String(error)}`, retryable: true })
  }).pipe(Effect.flatMap(({ poster, sheets }) => {
    const layout = request.storyboard
    if (layout === undefined) return Effect.succeed<Pictures>(poster ? { poster: posterName } : {})
    const thumbnails = thumbnailsOfFrames(frames.first, frames.count, layout.intervalSeconds, frameRate)
    if (sheets.length !== sheetsFor(thumbnails.count, layout)) {
      return Effect.fail(new FfmpegFailed({
        operation,
        reason: `ffmpeg wrote ${sheets.length} storyboard sheet(s) where ${thumbnails.count} thumbnail(s) need ${sheetsFor(thumbnails.count, layout)}`,
        retryable: false
      }))
    }
    return Effect.succeed<Pictures>({
      ...(thumbnails.count === 0 ? {} : { storyboard: { ...layout, ...thumbnails, sheets } }),
      ...(poster ? { poster: posterName } : {})
    })
  }))
}
