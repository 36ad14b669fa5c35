/**
 * Test support: an RFC 8216 checker for the HLS playlists vidpipe writes beside an MPD, written from
 * the RFC and independent of the code that writes them (src/domain/Hls.ts). Like `checkPresentation`,
 * it never throws on a bad playlist: it returns every problem found.
 *
 * What it checks, with the section of RFC 8216 each rule comes from:
 * - 4.3.1.1 every playlist starts with `#EXTM3U`; 4.3.1.2 at most one EXT-X-VERSION; 7: a Media
 *   Playlist with EXT-X-MAP (and no EXT-X-I-FRAMES-ONLY) declares version 6 or higher, floating
 *   EXTINF durations version 3 or higher;
 * - 4.3.3.1 EXT-X-TARGETDURATION present, and every EXTINF duration rounded to the nearest integer
 *   at most that; 4.3.2.5 EXT-X-MAP present (fMP4 segments need their initialization section);
 *   4.3.3.4 EXT-X-ENDLIST (a finished presentation);
 * - 4.3.4.2 every EXT-X-STREAM-INF has BANDWIDTH and CODECS (and RESOLUTION for video), and is
 *   followed by a URI; AUDIO names a GROUP-ID of an EXT-X-MEDIA TYPE=AUDIO (4.3.4.1.1);
 * - 4.3.4.2 BANDWIDTH at least the playlist's peak segment bit rate as 4.3.4.2 defines it ("the
 *   largest bit rate of any contiguous set of segments whose total duration is between 0.5 and 1.5
 *   times the target duration"), summed with the audio's, and AVERAGE-BANDWIDTH not above it;
 * - 4.3.4.1 a TYPE=SUBTITLES rendition has GROUP-ID, NAME (unique in its group) and URI; 4.3.4.2
 *   SUBTITLES names such a group; 3.5 its playlist's segments are WebVTT files (no EXT-X-MAP);
 * - every URI resolves to a file that exists.
 */
import { execFile } from "node:child_process"
import { stat, readFile } from "node:fs/promises"
import * as path from "node:path"
import { promisify } from "node:util"

export interface MediaPlaylistReport {
  readonly path: string
  readonly version: number | undefined
  readonly targetDuration: number | undefined
  readonly durations: ReadonlyArray<number>
  /** Absolute paths: the init section (EXT-X-MAP) first, then the segments in order. */
  readonly files: ReadonlyArray<string>
  /** RFC 8216 4.3.4.2's peak segment bit rate, from the segment files' sizes; 0 when there are none. */
  readonly peakBitrate: number
}

export interface VariantReport {
  readonly uri: string
  readonly attributes: Readonly<Record<string, string>>
  readonly media: MediaPlaylistReport
}

export interface HlsReport {
  readonly problems: ReadonlyArray<string>
  readonly variants: ReadonlyArray<VariantReport>
  readonly audio: ReadonlyArray<{ readonly attributes: Readonly<Record<string, string>>; readonly media: MediaPlaylistReport }>
  readonly subtitles: ReadonlyArray<{ readonly attributes: Readonly<Record<string, string>>; readonly media: MediaPlaylistReport }>
}

/** An attribute list (4.2): NAME=value pairs, values quoted strings or bare tokens. */
export const parseAttributes = (text: string): Record<string, string> => {
  const attributes: Record<string, string> = {}
  const pattern = /([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)/g
  for (const match of text.matchAll(pattern)) attributes[match[1]!] = match[2]!.replace(/^"(.*)"$/, "$1")
  return attributes
}

/** The largest bit rate of any run of consecutive segments lasting 0.5 to 1.5 target durations (4.3.4.2). */
const peakOf = (sizes: ReadonlyArray<number>, durations: ReadonlyArray<number>, target: number) => {
  let peak = 0
  for (let i = 0; i < durations.length; i++) {
    let bytes = 0
    let seconds = 0
    for (let j = i; j < durations.length && seconds + durations[j]! <= 1.5 * target; j++) {
      bytes += sizes[j] ?? 0
      seconds += durations[j]!
      if (seconds >= 0.5 * target) peak = Math.max(peak, (bytes * 8) / seconds)
    }
  }
  return peak
}

const lines = (body: string) => body.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0)

/** `webVtt`: a TYPE=SUBTITLES playlist, whose segments are WebVTT files (RFC 8216 3.5) with no EXT-X-MAP. */
const checkMediaPlaylist = async (file: string, problems: Array<string>, webVtt = false): Promise<MediaPlaylistReport> => {
  const name = path.basename(path.dirname(file)) + "/" + path.basename(file)
  const body = await readFile(file, "utf8").catch(() => undefined)
  if (body === undefined) {
    problems.push(`${name}: not found`)
    return { path: file, version: undefined, targetDuration: undefined, durations: [], files: [], peakBitrate: 0 }
  }
  const all = lines(body)
  if (all[0] !== "#EXTM3U") problems.push(`${name}: does not start with #EXTM3U`)
  const versions = all.filter((line) => line.startsWith("#EXT-X-VERSION:"))
  if (versions.length > 1) problems.push(`${name}: ${versions.length} EXT-X-VERSION tags`)
  const version = versions[0] === undefined ? undefined : Number(versions[0].split(":")[1])
  const target = all.find((line) => line.startsWith("#EXT-X-TARGETDURATION:"))
  const targetDuration = target === undefined ? undefined : Number(target.split(":")[1])
  if (targetDuration === undefined || !Number.isInteger(targetDuration)) problems.push(`${name}: no integer EXT-X-TARGETDURATION`)
  const map = all.find((line) => line.startsWith("#EXT-X-MAP:"))
  if (map === undefined && !webVtt) problems.push(`${name}: no EXT-X-MAP`)
  else if ((version ?? 1) < 6) problems.push(`${name}: EXT-X-MAP needs EXT-X-VERSION 6 or higher (has ${version ?? "none"})`)
  if (!all.includes("#EXT-X-ENDLIST")) problems.push(`${name}: no EXT-X-ENDLIST`)
  const files: Array<string> = []
  if (map !== undefined) {
    const uri = parseAttributes(map.slice("#EXT-X-MAP:".length))["URI"]
    if (uri === undefined) problems.push(`${name}: EXT-X-MAP without URI`)
    else files.push(path.resolve(path.dirname(file), uri))
  }
  const durations: Array<number> = []
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!
    if (!line.startsWith("#EXTINF:")) continue
    const duration = Number(line.slice("#EXTINF:".length).split(",")[0])
    if (!Number.isFinite(duration) || duration <= 0) problems.push(`${name}: bad EXTINF "${line}"`)
    if (!Number.isInteger(duration) && (version ?? 1) < 3) problems.push(`${name}: floating EXTINF needs version 3 or higher`)
    if (targetDuration !== undefined && Math.round(duration) > targetDuration) {
      problems.push(`${name}: a ${duration} s segment rounds above EXT-X-TARGETDURATION ${targetDuration}`)
    }
    durations.push(duration)
    const uri = all[i + 1]
    if (uri === undefined || uri.startsWith("#")) problems.push(`${name}: EXTINF not followed by a URI`)
    else files.push(path.resolve(path.dirname(file), uri))
  }
  if (durations.length === 0) problems.push(`${name}: no segments`)
  const sizes: Array<number> = []
  for (const listed of files) {
    const size = await stat(listed).then((s) => (s.isFile() ? s.size : undefined), () => undefined)
    if (size === undefined) problems.push(`${name}: names ${path.basename(listed)}, which is not there`)
    else if (webVtt && !(await readFile(listed, "utf8")).replace(/^\uFEFF/, "").startsWith("WEBVTT")) problems.push(`${name}: ${path.basename(listed)} is not WebVTT`)
    sizes.push(size ?? 0)
  }
  const segmentSizes = map === undefined ? sizes : sizes.slice(1)
  return { path: file, version, targetDuration, durations, files, peakBitrate: peakOf(segmentSizes, durations, targetDuration ?? 0) }
}

/** Checks `master.m3u8` in a presentation folder and every playlist it names. */
export const checkHls = async (masterPath: string): Promise<HlsReport> => {
  const problems: Array<string> = []
  const body = await readFile(masterPath, "utf8").catch(() => undefined)
  if (body === undefined) return { problems: [`${masterPath}: not found`], variants: [], audio: [], subtitles: [] }
  const all = lines(body)
  if (all[0] !== "#EXTM3U") problems.push("master: does not start with #EXTM3U")
  if (all.filter((line) => line.startsWith("#EXT-X-VERSION:")).length > 1) problems.push("master: more than one EXT-X-VERSION")
  const folder = path.dirname(masterPath)
  const audioGroups = new Set<string>()
  const audio: Array<{ attributes: Record<string, string>; media: MediaPlaylistReport }> = []
  const subtitleGroups = new Set<string>()
  const subtitles: Array<{ attributes: Record<string, string>; media: MediaPlaylistReport }> = []
  for (const line of all.filter((l) => l.startsWith("#EXT-X-MEDIA:"))) {
    const attributes = parseAttributes(line.slice("#EXT-X-MEDIA:".length))
    if (attributes["TYPE"] === "SUBTITLES") {
      if (attributes["GROUP-ID"] === undefined || attributes["NAME"] === undefined || attributes["URI"] === undefined) {
        problems.push(`master: SUBTITLES rendition without GROUP-ID, NAME or URI: ${line}`)
        continue
      }
      if (subtitles.some((s) => s.attributes["GROUP-ID"] === attributes["GROUP-ID"] && s.attributes["NAME"] === attributes["NAME"])) {
        problems.push(`master: two SUBTITLES renditions named ${attributes["NAME"]} in one group (4.3.4.1.1)`)
      }
      subtitleGroups.add(attributes["GROUP-ID"])
      subtitles.push({ attributes, media: await checkMediaPlaylist(path.resolve(folder, attributes["URI"]), problems, true) })
      continue
    }
    if (attributes["TYPE"] !== "AUDIO") continue
    if (attributes["GROUP-ID"] === undefined || attributes["NAME"] === undefined) problems.push(`master: EXT-X-MEDIA without GROUP-ID or NAME: ${line}`)
    audioGroups.add(attributes["GROUP-ID"] ?? "")
    if (attributes["URI"] !== undefined) audio.push({ attributes, media: await checkMediaPlaylist(path.resolve(folder, attributes["URI"]), problems) })
  }
  const variants: Array<VariantReport> = []
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!
    if (!line.startsWith("#EXT-X-STREAM-INF:")) continue
    const attributes = parseAttributes(line.slice("#EXT-X-STREAM-INF:".length))
    for (const required of ["BANDWIDTH", "CODECS", "RESOLUTION"]) {
      if (attributes[required] === undefined) problems.push(`master: EXT-X-STREAM-INF without ${required}: ${line}`)
    }
    if (!/^\d+$/.test(attributes["BANDWIDTH"] ?? "")) problems.push(`master: BANDWIDTH is not a decimal integer: ${line}`)
    if (attributes["AUDIO"] !== undefined && !audioGroups.has(attributes["AUDIO"])) problems.push(`master: AUDIO="${attributes["AUDIO"]}" names no audio group`)
    if (attributes["SUBTITLES"] !== undefined && !subtitleGroups.has(attributes["SUBTITLES"])) problems.push(`master: SUBTITLES="${attributes["SUBTITLES"]}" names no subtitles group`)
    if (subtitleGroups.size > 0 && attributes["SUBTITLES"] === undefined) problems.push(`master: ${line} plays without the subtitles group`)
    const uri = all[i + 1]
    if (uri === undefined || uri.startsWith("#")) {
      problems.push(`master: EXT-X-STREAM-INF not followed by a URI`)
      continue
    }
    const media = await checkMediaPlaylist(path.resolve(folder, uri), problems)
    const audioPeak = attributes["AUDIO"] === undefined ? 0 : Math.max(0, ...audio.filter((a) => a.attributes["GROUP-ID"] === attributes["AUDIO"]).map((a) => a.media.peakBitrate))
    const bandwidth = Number(attributes["BANDWIDTH"])
    if (bandwidth < Math.floor(media.peakBitrate + audioPeak)) {
      problems.push(`master: ${uri}: BANDWIDTH ${bandwidth} is below the peak segment bit rate ${Math.ceil(media.peakBitrate + audioPeak)}`)
    }
    if (Number(attributes["AVERAGE-BANDWIDTH"] ?? 0) > bandwidth) problems.push(`master: ${uri}: AVERAGE-BANDWIDTH above BANDWIDTH`)
    variants.push({ uri, attributes, media })
  }
  if (variants.length === 0) problems.push("master: no variant streams")
  return { problems, variants, audio, subtitles }
}

/** Frames of a media playlist's video, decoded by ffmpeg's HLS demuxer (ffprobe `-count_frames`). */
export const hlsFrameCount = async (mediaPlaylist: string): Promise<number> => {
  const { stdout } = await promisify(execFile)("ffprobe", [
    "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "json", mediaPlaylist
  ])
  // The HLS demuxer lists the stream twice, under its program and on its own: the latter.
  const parsed: unknown = JSON.parse(stdout)
  const streams = typeof parsed === "object" && parsed !== null && "streams" in parsed && Array.isArray(parsed.streams) ? parsed.streams : []
  const first: unknown = streams[0]
  return typeof first === "object" && first !== null && "nb_read_frames" in first ? Number(first.nb_read_frames) : Number.NaN
}
