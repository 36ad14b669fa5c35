/**
 * Writes the static MPEG-DASH manifest for a finished job from its tracks, after checking
 * that the video rungs are switchable (identical segment timelines). Pure: no I/O.
 */
import { Result } from "effect"
import { ManifestInvalid } from "./Errors.ts"
import type { CaptionTrack } from "./Captions.ts"
import type { TimelineEntry, Track } from "./Track.ts"
import { expandTimeline, trackDurationSeconds } from "./Track.ts"

const xmlEscape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const attributes = (values: Record<string, string | number | undefined>) =>
  Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ` ${name}="${xmlEscape(String(value))}"`)
    .join("")

const isoDuration = (seconds: number) => `PT${Number(seconds.toFixed(3))}S`

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))

const timelineXml = (timeline: ReadonlyArray<TimelineEntry>, indent: string) =>
  [
    `${indent}<SegmentTimeline>`,
    ...timeline.map((s) => `${indent}  <S${attributes({ t: s.t, d: s.d, r: s.r })}/>`),
    `${indent}</SegmentTimeline>`
  ].join("\n")

const segmentTemplateXml = (track: Track, folder: string, indent: string) =>
  [
    `${indent}<SegmentTemplate${attributes({
      timescale: track.timescale,
      initialization: `${folder}/${track.initialization}`,
      media: `${folder}/${track.media}`,
      startNumber: track.startNumber
    })}>`,
    timelineXml(track.timeline, `${indent}  `),
    `${indent}</SegmentTemplate>`
  ].join("\n")

const sameTimeline = (a: Track, b: Track) => {
  const left = expandTimeline(a.timeline)
  const right = expandTimeline(b.timeline)
  return a.timescale === b.timescale && left.length === right.length &&
    left.every((segment, i) => segment.start === right[i]!.start && segment.duration === right[i]!.duration)
}

/** Checks that every video rung can be switched to at every segment boundary. */
export const checkAlignment = (video: ReadonlyArray<Track>): Result.Result<void, ManifestInvalid> => {
  const [first, ...rest] = video
  if (first === undefined) return Result.fail(new ManifestInvalid({ reason: "no video rendition to publish" }))
  const misaligned = rest.find((track) => !sameTimeline(first, track))
  if (misaligned !== undefined) {
    const count = (t: Track) => expandTimeline(t.timeline).length
    return Result.fail(new ManifestInvalid({
      reason: `renditions are not segment-aligned: ${first.id} has ${count(first)} segments, ${misaligned.id} has ${count(misaligned)} (or their durations differ)`
    }))
  }
  return Result.void
}

export interface ManifestInput {
  readonly video: ReadonlyArray<Track>
  readonly audio: Track | undefined
  /** Whole-presentation WebVTT files (side-loaded text: one file per track, not segmented). */
  readonly captions?: ReadonlyArray<CaptionTrack> | undefined
}

export const buildMpd = (input: ManifestInput): Result.Result<string, ManifestInvalid> =>
  Result.map(checkAlignment(input.video), () => {
    const video = [...input.video].sort((a, b) => a.bandwidth - b.bandwidth)
    const reference = video[0]!
    const tracks = input.audio === undefined ? video : [...video, input.audio]
    const duration = Math.max(...tracks.map(trackDurationSeconds))
    const maxSegment = Math.max(...tracks.map((t) => Math.max(...expandTimeline(t.timeline).map((s) => s.duration)) / t.timescale))
    const widest = video.reduce((a, b) => ((b.width ?? 0) > (a.width ?? 0) ? b : a))
    const divisor = gcd(widest.width ?? 1, widest.height ?? 1)
    const videoSet = [
      `    <AdaptationSet${attributes({
        id: 0,
        contentType: "video",
        mimeType: "video/mp4",
        segmentAlignment: "true",
        startWithSAP: 1,
        maxWidth: Math.max(...video.map((t) => t.width ?? 0)),
        maxHeight: Math.max(...video.map((t) => t.height ?? 0)),
        frameRate: reference.frameRate,
        par: `${(widest.width ?? 1) / divisor}:${(widest.height ?? 1) / divisor}`
      })}>`,
      segmentTemplateXml(reference, "video/$RepresentationID$", "      "),
      ...video.map((t) =>
        `      <Representation${attributes({
          id: t.id,
          bandwidth: t.bandwidth,
          codecs: t.codecs,
          width: t.width,
          height: t.height,
          sar: "1:1"
        })}/>`
      ),
      "    </AdaptationSet>"
    ]
    const audioSet = input.audio === undefined ? [] : [
      `    <AdaptationSet${attributes({
        id: 1,
        contentType: "audio",
        mimeType: "audio/mp4",
        segmentAlignment: "true",
        startWithSAP: 1,
        lang: "und"
      })}>`,
      segmentTemplateXml(input.audio, "audio", "      "),
      `      <Representation${attributes({
        id: input.audio.id,
        bandwidth: input.audio.bandwidth,
        codecs: input.audio.codecs,
        audioSamplingRate: input.audio.sampleRate
      })}>`,
      `        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${input.audio.channels ?? 2}"/>`,
      "      </Representation>",
      "    </AdaptationSet>"
    ]
    // ISO/IEC 23009-1 5.8.5.5: role "subtitle" for text over the main content; one Representation
    // whose BaseURL is the WebVTT file (what dash.js and Shaka load as side-loaded text).
    const captionSets = (input.captions ?? []).flatMap((caption, i) => [
      `    <AdaptationSet${attributes({ id: 2 + i, contentType: "text", mimeType: "text/vtt", lang: caption.language })}>`,
      // The schema's order: Label (RepresentationBaseType) before Role (AdaptationSetType).
      `      <Label>${xmlEscape(caption.label)}</Label>`,
      `      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="subtitle"/>`,
      `      <Representation${attributes({ id: `caption-${i + 1}`, bandwidth: 256 })}>`,
      `        <BaseURL>${xmlEscape(caption.file)}</BaseURL>`,
      "      </Representation>",
      "    </AdaptationSet>"
    ])
    return [
      `<?xml version="1.0" encoding="UTF-8"?>`,
      `<MPD${attributes({
        xmlns: "urn:mpeg:dash:schema:mpd:2011",
        profiles: "urn:mpeg:dash:profile:isoff-live:2011",
        type: "static",
        mediaPresentationDuration: isoDuration(duration),
        maxSegmentDuration: isoDuration(maxSegment),
        minBufferTime: isoDuration(Math.min(maxSegment, 4))
      })}>`,
      `  <Period id="0" start="PT0S">`,
      ...videoSet,
      ...audioSet,
      ...captionSets,
      "  </Period>",
      "</MPD>",
      ""
    ].join("\n")
  })
