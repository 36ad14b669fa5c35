/**
 * The result of one encode task: a DASH track (one Representation) and its segment timeline,
 * as the finalizer needs it to write the manifest.
 */
import { Schema } from "effect"
import { CaptionTrack } from "./Captions.ts"
import { Pictures } from "./Pictures.ts"

/** One `<S>` element of a SegmentTimeline (times in `timescale` units). */
export const TimelineEntry = Schema.Struct({
  t: Schema.optional(Schema.Number),
  d: Schema.Number,
  r: Schema.optional(Schema.Number)
})
export type TimelineEntry = typeof TimelineEntry.Type

export const Track = Schema.Struct({
  kind: Schema.Literals(["video", "audio"]),
  /** Representation id, also the folder name for video ("720p"); "audio" for the audio track. */
  id: Schema.String,
  codecs: Schema.String,
  /** Peak segment bitrate in bits per second, what DASH's @bandwidth promises. */
  bandwidth: Schema.Int,
  timescale: Schema.Int,
  startNumber: Schema.Int,
  timeline: Schema.Array(TimelineEntry),
  initialization: Schema.String,
  media: Schema.String,
  /** Segment and init file names, relative to the track's folder. */
  files: Schema.Array(Schema.String),
  width: Schema.optional(Schema.Int),
  height: Schema.optional(Schema.Int),
  frameRate: Schema.optional(Schema.String),
  sampleRate: Schema.optional(Schema.Int),
  channels: Schema.optional(Schema.Int),
  /** Chunked encodes: fingerprint of the init segment's codec configuration, equal across chunks that can be stitched. */
  initDigest: Schema.optional(Schema.String),
  /** Storyboard sheets and poster the rung's encode cut as well (the rendition strategy's smallest rung). */
  pictures: Schema.optional(Pictures),
  /** The source's subtitle streams as WebVTT, when this task extracted them (files relative to the output prefix). */
  captions: Schema.optional(Schema.Array(CaptionTrack))
})
export type Track = typeof Track.Type

/**
 * The result of one chunk task: one track per rung for the chunk's span, with the global segment
 * numbers and times they have in the presentation. Only chunk 1 stores the init segments.
 */
export const ChunkResult = Schema.Struct({
  kind: Schema.Literal("chunk"),
  index: Schema.Int,
  tracks: Schema.Array(Track),
  /** The whole audio track, when it rode in this chunk (see `ChunkTask.audio`). */
  audio: Schema.optional(Track),
  /** The chunk's share of the storyboard, and the poster if it falls in the chunk. */
  pictures: Schema.optional(Pictures),
  captions: Schema.optional(Schema.Array(CaptionTrack))
})
export type ChunkResult = typeof ChunkResult.Type

/** What a task leaves for the finalizer. */
export const TaskResult = Schema.Union([Track, ChunkResult])
export type TaskResult = typeof TaskResult.Type

export interface Segment {
  readonly start: number
  readonly duration: number
}

/** Expands a SegmentTimeline into explicit segments (in timescale units). */
export const expandTimeline = (timeline: ReadonlyArray<TimelineEntry>): ReadonlyArray<Segment> => {
  const segments: Array<Segment> = []
  let time = 0
  for (const entry of timeline) {
    if (entry.t !== undefined) time = entry.t
    for (let i = 0; i <= (entry.r ?? 0); i++) {
      segments.push({ start: time, duration: entry.d })
      time += entry.d
    }
  }
  return segments
}

export const trackDurationSeconds = (track: Track): number => {
  const segments = expandTimeline(track.timeline)
  const last = segments.at(-1)
  return last === undefined ? 0 : (last.start + last.duration - (segments[0]?.start ?? 0)) / track.timescale
}
