/**
 * What pictures a task is asked to cut and what it reports back (the rules are in
 * domain/Storyboard.ts). Schemas only, so that Track and Task can carry them.
 */
import { Schema } from "effect"

/** Where the pictures go, relative to the job's output prefix (beside manifest.mpd). */
export const posterName = "poster.jpg"
export const storyboardName = "storyboard.vtt"
export const storyboardDirectory = "storyboard"
/** Where an encode leaves its pictures in its work folder, under the names they are stored by. */
export const picturesDirectory = "pictures"

/** How one encode cuts thumbnails: one every `intervalSeconds`, `columns` x `rows` to a sheet. */
export const StoryboardLayout = Schema.Struct({
  intervalSeconds: Schema.Number,
  width: Schema.Int,
  height: Schema.Int,
  columns: Schema.Int,
  rows: Schema.Int
})
export type StoryboardLayout = typeof StoryboardLayout.Type

/** The poster: the most representative frame of the second starting at `atSeconds`, at this size. */
export const PosterSpec = Schema.Struct({
  atSeconds: Schema.Number,
  width: Schema.Int,
  height: Schema.Int
})
export type PosterSpec = typeof PosterSpec.Type

/** What one encode left of the storyboard: thumbnails `first … first + count - 1`, in `sheets` in order. */
export const StoryboardPart = Schema.Struct({
  ...StoryboardLayout.fields,
  first: Schema.Int,
  count: Schema.Int,
  /** Sheet file names, in the storyboard folder. */
  sheets: Schema.Array(Schema.String)
})
export type StoryboardPart = typeof StoryboardPart.Type

/** The pictures a task produced beside its video (either may be absent). */
export const Pictures = Schema.Struct({
  storyboard: Schema.optional(StoryboardPart),
  /** The poster's file name, beside the manifest. */
  poster: Schema.optional(Schema.String)
})
export type Pictures = typeof Pictures.Type
