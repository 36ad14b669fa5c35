/**
 * Prepares the folder a presentation is written to. A folder holding only an earlier vidpipe
 * presentation (manifest.mpd, master.m3u8, video/, audio/, poster, storyboard, captions/) is emptied of it so the new manifest can be
 * published; any other non-empty folder is refused rather than mixed into.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Schema } from "effect"
import { masterPlaylistName } from "../../domain/Hls.ts"
import { captionsDirectory } from "../../domain/Captions.ts"
import { posterName, storyboardDirectory, storyboardName } from "../../domain/Pictures.ts"

export class OutputFolderInUse extends Schema.TaggedError<OutputFolderInUse>()("OutputFolderInUse", {
  folder: Schema.String
}) {
  override get message() {
    return `output folder ${this.folder} is not empty and holds no earlier vidpipe output; choose another --out`
  }
}

const presentationEntries = new Set(["manifest.mpd", masterPlaylistName, "video", "audio", posterName, storyboardName, storyboardDirectory, captionsDirectory])

const entriesOf = (folder: string) => Effect.promise(() => fs.readdir(folder).catch(() => [] as Array<string>))

const removeEntries = (folder: string, entries: ReadonlyArray<string>) =>
  Effect.promise(() => Promise.all(entries.map((entry) => fs.rm(path.join(folder, entry), { recursive: true, force: true }))))

/** Removes a presentation from `folder` (what a failed or interrupted run had written). */
export const removePresentation = (folder: string) =>
  Effect.flatMap(entriesOf(folder), (entries) => removeEntries(folder, entries.filter((entry) => presentationEntries.has(entry))))

/** Uninterruptible: a `rm` or `mkdir` cut off by Ctrl-C would otherwise finish after the cleanup. */
export const prepareOutputFolder = (folder: string) =>
  Effect.gen(function*() {
    const absolute = path.resolve(folder)
    const entries = yield* entriesOf(absolute)
    if (entries.length > 0) {
      if (!entries.every((entry) => presentationEntries.has(entry))) {
        return yield* new OutputFolderInUse({ folder: absolute })
      }
      yield* removeEntries(absolute, entries)
    }
    yield* Effect.promise(() => fs.mkdir(absolute, { recursive: true }))
    return absolute
  }).pipe(Effect.uninterruptible)
