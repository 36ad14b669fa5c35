/**
 * Turns what ffmpeg's dash muxer wrote for one track (its small MPD plus the segment files)
 * into a `Track`: codec string, sizes and the exact segment timeline, with @bandwidth measured
 * from the segment files rather than trusted from the encoder settings.
 */
import { XMLParser } from "fast-xml-parser"
import { Result } from "effect"
import type { TimelineEntry, Track } from "../../domain/Track.ts"
import { expandTimeline } from "../../domain/Track.ts"

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseAttributeValue: false,
  isArray: (name) => ["S", "AdaptationSet", "Representation"].includes(name)
})

type Node = Record<string, unknown>
const child = (node: Node | undefined, name: string) => node?.[name] as Node | undefined
const children = (node: Node | undefined, name: string) => (node?.[name] as Array<Node> | undefined) ?? []
const numberAttr = (node: Node | undefined, name: string) => {
  const value = node?.[name]
  return value === undefined ? undefined : Number(value)
}

/** Expands `seg-$Number%05d$.m4s` for one segment number. */
export const segmentFileName = (media: string, number: number) =>
  media.replace(/\$Number(?:%0(\d+)d)?\$/, (_, width: string | undefined) => String(number).padStart(Number(width ?? 0), "0"))

export interface TrackFiles {
  /** Sizes in bytes of the files in the track folder, by name. */
  readonly sizes: ReadonlyMap<string, number>
}

export const readTrackManifest = (
  kind: Track["kind"],
  id: string,
  xml: string,
  files: TrackFiles,
  extra: Pick<Track, "frameRate"> = {}
): Result.Result<Track, string> => {
  const mpd = child(parser.parse(xml) as Node, "MPD")
  const representationNode = children(children(child(mpd, "Period"), "AdaptationSet")[0], "Representation")[0]
  const template = child(representationNode, "SegmentTemplate")
  if (representationNode === undefined || template === undefined) return Result.fail("ffmpeg wrote no SegmentTemplate for the track")
  const timeline: Array<TimelineEntry> = children(child(template, "SegmentTimeline"), "S").map((s) => {
    const t = numberAttr(s, "t")
    const r = numberAttr(s, "r")
    return { ...(t === undefined ? {} : { t }), d: Number(s["d"]), ...(r === undefined ? {} : { r }) }
  })
  const timescale = numberAttr(template, "timescale") ?? 1
  const startNumber = numberAttr(template, "startNumber") ?? 1
  const initialization = String(template["initialization"])
  const media = String(template["media"])
  const segments = expandTimeline(timeline)
  if (segments.length === 0) return Result.fail("ffmpeg wrote no segments")
  const names = segments.map((_, i) => segmentFileName(media, startNumber + i))
  const missing = [initialization, ...names].filter((name) => !files.sizes.has(name))
  if (missing.length > 0) return Result.fail(`ffmpeg output is incomplete: missing ${missing.slice(0, 3).join(", ")}`)
  // Peak rate over full segments (the short last one would overstate it).
  const rates = segments.map((s, i) => (files.sizes.get(names[i]!)! * 8) / (s.duration / timescale))
  const measured = segments.length > 1 ? rates.slice(0, -1) : rates
  const channels = numberAttr(child(representationNode, "AudioChannelConfiguration"), "value")
  const width = numberAttr(representationNode, "width")
  const height = numberAttr(representationNode, "height")
  const sampleRate = numberAttr(representationNode, "audioSamplingRate")
  return Result.succeed({
    kind,
    id,
    codecs: String(representationNode["codecs"]),
    bandwidth: Math.max(1, Math.round(Math.max(...measured))),
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
}
