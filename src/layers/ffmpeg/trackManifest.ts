/**
 * Turns what ffmpeg's dash muxer wrote for one track (its small MPD plus the segment files)
 * into a `Track`: codec string, sizes and the exact segment timeline, with @bandwidth measured
 * from the segment files rather than trusted from the encoder settings.
 */
import { XMLParser } from "fast-xml-parser"
import { Result, Schema } from "effect"
import type { Segment, TimelineEntry, Track } from "../../domain/Track.ts"
import { expandTimeline } from "../../domain/Track.ts"

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseAttributeValue: false,
  isArray: (name) => ["S", "AdaptationSet", "Representation"].includes(name)
})

// The parts of the muxer's MPD that are read, as fast-xml-parser gives them: attributes are
// strings, the elements listed in `isArray` are arrays, and an element with neither attributes
// nor children is "" (an empty SegmentTimeline).
const number = Schema.FiniteFromString
const TimelineEntryNode = Schema.Struct({ t: Schema.optional(number), d: number, r: Schema.optional(number) })
const SegmentTemplateNode = Schema.Struct({
  timescale: Schema.optional(number),
  startNumber: Schema.optional(number),
  initialization: Schema.String,
  media: Schema.String,
  SegmentTimeline: Schema.optional(Schema.Union([Schema.Struct({ S: Schema.optional(Schema.Array(TimelineEntryNode)) }), Schema.Literal("")]))
})
const RepresentationNode = Schema.Struct({
  id: Schema.optional(Schema.String),
  codecs: Schema.String,
  width: Schema.optional(number),
  height: Schema.optional(number),
  audioSamplingRate: Schema.optional(number),
  AudioChannelConfiguration: Schema.optional(Schema.Struct({ value: Schema.optional(number) })),
  SegmentTemplate: Schema.optional(SegmentTemplateNode)
})
type RepresentationNode = typeof RepresentationNode.Type
const MuxerMpd = Schema.Struct({
  MPD: Schema.Struct({
    Period: Schema.optional(Schema.Struct({
      AdaptationSet: Schema.optional(Schema.Array(Schema.Struct({ Representation: Schema.optional(Schema.Array(RepresentationNode)) })))
    }))
  })
})
const decodeMuxerMpd = Schema.decodeUnknownResult(MuxerMpd)

/** Expands `seg-$Number%05d$.m4s` for one segment number. */
export const segmentFileName = (media: string, number: number) =>
  media.replace(/\$Number(?:%0(\d+)d)?\$/, (_, width: string | undefined) => String(number).padStart(Number(width ?? 0), "0"))

export interface TrackFiles {
  /** Sizes in bytes of the files in the track folder, by name. */
  readonly sizes: ReadonlyMap<string, number>
}

/** One Representation of what ffmpeg's dash muxer wrote, with its template names resolved. */
export interface WrittenRepresentation {
  /** The muxer's id: the output stream's index. */
  readonly id: string
  readonly codecs: string
  readonly timescale: number
  readonly startNumber: number
  readonly timeline: ReadonlyArray<TimelineEntry>
  /** File names, `$RepresentationID$` filled in. */
  readonly initialization: string
  readonly media: string
  readonly width: number | undefined
  readonly height: number | undefined
  readonly sampleRate: number | undefined
  readonly channels: number | undefined
}

const representationOf = (node: RepresentationNode): Result.Result<WrittenRepresentation, string> => {
  const template = node.SegmentTemplate
  if (template === undefined) return Result.fail("ffmpeg wrote no SegmentTemplate for the track")
  const id = node.id ?? ""
  const fill = (name: string) => name.replace(/\$RepresentationID\$/g, id)
  const entries = template.SegmentTimeline === undefined || template.SegmentTimeline === "" ? [] : template.SegmentTimeline.S ?? []
  const timeline: Array<TimelineEntry> = entries.map(({ d, r, t }) => ({ ...(t === undefined ? {} : { t }), d, ...(r === undefined ? {} : { r }) }))
  return Result.succeed({
    id,
    codecs: node.codecs,
    timescale: template.timescale ?? 1,
    startNumber: template.startNumber ?? 1,
    timeline,
    initialization: fill(template.initialization),
    media: fill(template.media),
    width: node.width,
    height: node.height,
    sampleRate: node.audioSamplingRate,
    channels: node.AudioChannelConfiguration?.value
  })
}

/** Every Representation of the muxer's MPD, in every AdaptationSet, in document order. */
export const readRepresentations = (xml: string): Result.Result<ReadonlyArray<WrittenRepresentation>, string> => {
  let parsed: unknown
  try {
    parsed = parser.parse(xml)
  } catch (error) {
    return Result.fail(`ffmpeg's MPD is not readable XML: ${error instanceof Error ? error.message : String(error)}`)
  }
  const mpd = decodeMuxerMpd(parsed)
  if (Result.isFailure(mpd)) return Result.fail(`ffmpeg's MPD is not what its dash muxer writes: ${mpd.failure.message.replace(/\s*\n\s*/g, " ")}`)
  const nodes = (mpd.success.MPD.Period?.AdaptationSet ?? []).flatMap((set) => set.Representation ?? [])
  if (nodes.length === 0) return Result.fail("ffmpeg wrote no Representation")
  return Result.all(nodes.map(representationOf))
}

/** Names of a representation's media segments, in timeline order. */
export const segmentNames = (representation: Pick<WrittenRepresentation, "media" | "startNumber" | "timeline">) =>
  expandTimeline(representation.timeline).map((_, i) => segmentFileName(representation.media, representation.startNumber + i))

/** Peak bitrate over the segments, leaving out the last one unless it is alone (it may be short). */
export const peakBandwidth = (segments: ReadonlyArray<Segment>, sizes: ReadonlyArray<number>, timescale: number, includeLast: boolean) => {
  const rates = segments.map((s, i) => ((sizes[i] ?? 0) * 8) / (s.duration / timescale))
  const measured = includeLast || rates.length === 1 ? rates : rates.slice(0, -1)
  return Math.max(1, Math.round(Math.max(...measured)))
}

export const readTrackManifest = (
  kind: Track["kind"],
  id: string,
  xml: string,
  files: TrackFiles,
  extra: Pick<Track, "frameRate"> = {}
): Result.Result<Track, string> =>
  Result.flatMap(readRepresentations(xml), ([representation]): Result.Result<Track, string> => {
    if (representation === undefined) return Result.fail("ffmpeg wrote no Representation")
    const { channels, codecs, height, initialization, media, sampleRate, startNumber, timeline, timescale, width } = representation
    const segments = expandTimeline(timeline)
    if (segments.length === 0) return Result.fail("ffmpeg wrote no segments")
    const names = segmentNames(representation)
    const missing = [initialization, ...names].filter((name) => !files.sizes.has(name))
    if (missing.length > 0) return Result.fail(`ffmpeg output is incomplete: missing ${missing.slice(0, 3).join(", ")}`)
    return Result.succeed({
      kind,
      id,
      codecs,
      bandwidth: peakBandwidth(segments, names.map((name) => files.sizes.get(name)!), timescale, false),
      timescale,
      startNumber,
      timeline,
      initialization,
      media,
      files: [initialization, ...names],
      ...(width === undefined ? {} : { width }),
      ...(height === undefined ? {} : { height }),
      ...(sampleRate === undefined ? {} : { sampleRate }),
      ...(channels === undefined ? {} : { channels }),
      ...extra
    })
  })
