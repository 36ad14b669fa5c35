/**
 * Test support: inspect a DASH presentation folder (manifest.mpd + fMP4 init/segments) written by vidpipe.
 *
 * Plain async functions rather than Effects so any suite can call them. `checkPresentation` never throws:
 * it returns findings, so a failing end-to-end test can print everything that is wrong at once.
 */
import { spawn } from "node:child_process"
import { createReadStream } from "node:fs"
import { mkdtemp, readFile, rm, stat } from "node:fs/promises"
import { availableParallelism, tmpdir } from "node:os"
import * as path from "node:path"
import type { Writable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { fileURLToPath, pathToFileURL } from "node:url"
import { type DashPlaylist, inheritAttributes, stringToMpdXml, toPlaylists } from "mpd-parser"

/** test/conformance/validate-mpd: xmllint against the vendored ISO/IEC 23009-1 MPD schema (see its README). */
export const validatorPath = fileURLToPath(new URL("../conformance/validate-mpd", import.meta.url))

// ---------------------------------------------------------------------------------------------------
// Types

export interface Segment {
  readonly number: number
  readonly startTime: number // seconds: Period start + (t - presentationTimeOffset) / timescale, as mpd-parser computes it
  readonly duration: number // seconds
  readonly url: string // absolute file path
  readonly initUrl: string // absolute file path
}

export interface Representation {
  readonly id: string
  readonly width: number | undefined
  readonly height: number | undefined
  readonly bandwidth: number | undefined
  readonly codecs: string | undefined
  readonly frameRate: number | undefined
  readonly audioSamplingRate: number | undefined
  readonly channels: number | undefined
  readonly segments: ReadonlyArray<Segment>
  /** A side-loaded text Representation's one file (WebVTT), instead of segments. */
  readonly textFile?: string
}

export interface AdaptationSet {
  readonly id: string | undefined
  readonly contentType: string | undefined // "video" | "audio" | ...; from @contentType, else @mimeType
  readonly representations: ReadonlyArray<Representation>
}

export interface Presentation {
  readonly mpdPath: string
  readonly mediaPresentationDuration: number // seconds
  readonly adaptationSets: ReadonlyArray<AdaptationSet>
}

export interface SegmentProbe {
  readonly number: number
  readonly url: string
  readonly startTime: number // from the timeline, seconds
  readonly firstPts: number | undefined // first presented frame in the media, seconds
  readonly keyframe: boolean // false too when the segment could not be probed (see error)
  readonly pictType: string | undefined
  readonly width: number | undefined
  readonly height: number | undefined
  readonly error: string | undefined
}

export interface RungReport {
  readonly id: string
  readonly declaredWidth: number | undefined
  readonly declaredHeight: number | undefined
  readonly width: number | undefined // actual, from ffprobe of init + first segment
  readonly height: number | undefined
  readonly segmentCount: number
  readonly startTimes: ReadonlyArray<number>
  readonly durations: ReadonlyArray<number>
  readonly totalDuration: number // end of the last segment, seconds
  readonly segments: ReadonlyArray<SegmentProbe>
}

export interface AudioReport {
  readonly id: string
  readonly declaredChannels: number | undefined
  readonly declaredSampleRate: number | undefined
  readonly channels: number | undefined // actual, from ffprobe of init + first segment
  readonly sampleRate: number | undefined
  readonly segmentCount: number
  readonly totalDuration: number
}

export interface PresentationReport {
  readonly ok: boolean // true when `problems` is empty
  readonly problems: ReadonlyArray<string>
  readonly schemaValid: boolean
  readonly schemaOutput: string
  readonly presentation: Presentation | undefined // undefined when the MPD could not be parsed
  readonly files: { readonly checked: number; readonly missing: ReadonlyArray<string>; readonly empty: ReadonlyArray<string> }
  readonly video: ReadonlyArray<RungReport>
  readonly timelinesAligned: boolean
  readonly allSegmentsStartOnKeyframe: boolean
  readonly audio: AudioReport | undefined // undefined when there is no audio adaptation set
  readonly mediaPresentationDuration: number | undefined
  readonly videoDuration: number | undefined // totalDuration of the first video rung
}

export interface CheckOptions {
  readonly concurrency?: number // parallel ffprobe processes; default: available cores
  readonly durationTolerance?: number // seconds allowed between video duration and MPD duration; default 0.1
}

export interface FrameCountReport {
  readonly rungId: string
  readonly frames: number // video packets; one frame each for H.264/HEVC in MP4
  readonly firstPts: number | undefined
  readonly lastPts: number | undefined
  readonly steps: ReadonlyArray<number> // distinct pts deltas in presentation order, seconds
  readonly constantStep: boolean // deltas differ by at most one tick (timescale rounding)
  readonly keyframeTimes: ReadonlyArray<number> // pts of the packets flagged as keyframes, seconds, ascending
}

// ---------------------------------------------------------------------------------------------------
// Processes

interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command; `stdinFiles` are streamed one after another into its stdin (init + segments). */
const run = (cmd: string, args: ReadonlyArray<string>, stdinFiles: ReadonlyArray<string> = []): Promise<RunResult> =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: "pipe" })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("error", (error) => resolve({ code: null, stdout, stderr: stderr + String(error) }))
    child.on("close", (code) => resolve({ code, stdout, stderr }))
    void feed(child.stdin, stdinFiles)
  })

const feed = async (sink: Writable, files: ReadonlyArray<string>): Promise<void> => {
  // ffprobe stops reading once -read_intervals is satisfied: the broken pipe that follows is expected.
  sink.on("error", () => {})
  // Each file's pipeline (end: false) leaves two error and two close listeners on the one sink.
  sink.setMaxListeners(2 * files.length + 10)
  try {
    for (const file of files) await pipeline(createReadStream(file), sink, { end: false })
    sink.end()
  } catch {
    sink.destroy()
  }
}

interface ProbeEntry {
  readonly type?: "packet" | "frame"
  readonly pts?: string | number
  readonly pts_time?: string
  readonly flags?: string
  readonly key_frame?: number
  readonly pict_type?: string
}
interface ProbeOutput {
  readonly streams?: ReadonlyArray<{
    readonly start_time?: string
    readonly width?: number
    readonly height?: number
    readonly channels?: number
    readonly sample_rate?: string
    readonly time_base?: string
  }>
  readonly packets?: ReadonlyArray<ProbeEntry>
  readonly packets_and_frames?: ReadonlyArray<ProbeEntry>
}

/** ffprobe over the concatenation of `files` (an fMP4 init followed by media segments is a valid MP4). */
const ffprobe = async (args: ReadonlyArray<string>, files: ReadonlyArray<string>): Promise<ProbeOutput> => {
  const result = await run("ffprobe", ["-v", "error", ...args, "-of", "json", "-i", "pipe:0"], files)
  if (result.code !== 0) throw new Error(`ffprobe exited ${result.code}: ${result.stderr.trim()}`)
  return JSON.parse(result.stdout) as ProbeOutput
}

/** Like Promise.all over `items.map(f)`, with at most `limit` calls in flight. */
const mapLimit = async <A, B>(items: ReadonlyArray<A>, limit: number, f: (a: A) => Promise<B>): Promise<B[]> => {
  const out: B[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i] as A)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  return out
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

// ---------------------------------------------------------------------------------------------------
// Schema validation

/** Runs test/conformance/validate-mpd (xmllint against the ISO MPD schema, all files in the repository). */
export const validateMpdSchema = async (mpdPath: string): Promise<{ ok: boolean; output: string }> => {
  const result = await run(validatorPath, [mpdPath])
  return { ok: result.code === 0, output: (result.stdout + result.stderr).trim() }
}

// ---------------------------------------------------------------------------------------------------
// MPD parsing
//
// An independent oracle: the MPD is read by mpd-parser (videojs's DASH parser, as used by video.js),
// not by code shared with or modelled on the writer (src/domain/Mpd.ts, src/layers/ffmpeg/trackManifest.ts).
// mpd-parser parses xs:durations, inherits attributes, resolves URLs and expands SegmentTemplate /
// SegmentTimeline / $identifiers$; this file only maps its playlists onto the shapes below and refuses
// what the checks cannot follow. Two things mpd-parser does not expose are read from the DOM it parsed
// (its stringToMpdXml): which AdaptationSet a Representation belongs to (with the set's @id; mpd-parser
// flattens sets and overwrites @id with the Representation's) and AudioChannelConfiguration.

/** Child elements called `name`, matched as mpd-parser matches them (so both walk the same elements). */
const children = (element: Element, name: string): ReadonlyArray<Element> =>
  Array.from(element.childNodes).filter((node): node is Element => (node as Partial<Element>).tagName === name)

const attribute = (element: Element, name: string): string | undefined =>
  element.hasAttribute(name) ? element.getAttribute(name) ?? undefined : undefined

const num = (value: unknown): number | undefined =>
  value === undefined || value === "" ? undefined : Number(value)

/** Channel count declared by an AudioChannelConfiguration of the Representation, else of its AdaptationSet. */
const declaredChannels = (representation: Element, adaptationSet: Element): number | undefined => {
  const [config] = [...children(representation, "AudioChannelConfiguration"), ...children(adaptationSet, "AudioChannelConfiguration")]
  // Only the 23003:3 scheme carries a plain channel count; other schemes use opaque codes.
  return config && attribute(config, "schemeIdUri")?.endsWith("23003:3:audio_channel_configuration:2011")
    ? num(attribute(config, "value"))
    : undefined
}

/** A resolved segment URL as a file path: the checks read files beside the MPD, nothing remote. */
const localFile = (url: string, where: string): string => {
  if (!url.startsWith("file:")) throw new Error(`${where}: ${url} is not a local file`)
  return fileURLToPath(url)
}

/** What a playlist from mpd-parser must hold for the checks to follow it. */
const segmentsOf = (playlist: DashPlaylist, where: string): ReadonlyArray<Segment> => {
  if (playlist.sidx !== undefined || playlist.segments === undefined) {
    throw new Error(`${where}: no SegmentTemplate or SegmentList (a SegmentBase/single-file layout is not supported)`)
  }
  return playlist.segments.map((segment): Segment => {
    const at = `${where} segment ${segment.number}`
    if (segment.byterange !== undefined || segment.map?.byterange !== undefined) throw new Error(`${at}: byte ranges are not supported`)
    if (segment.uri === "") throw new Error(`${at}: no media URL (SegmentTemplate needs @media)`)
    if (segment.map === undefined || segment.map.uri === "") throw new Error(`${at}: no initialization segment`)
    // mpd-parser leaves identifiers it does not know ($SubNumber$, …) in the URL as written.
    const left = /\$[A-Za-z]+(?:%0\d+d)?\$/.exec(`${segment.map.uri} ${segment.uri}`)
    if (left) throw new Error(`${at}: unsupported SegmentTemplate identifier ${left[0]} in "${segment.map.uri}" / "${segment.uri}"`)
    if (segment.presentationTime === undefined) throw new Error(`${at}: no presentation time`)
    return {
      number: segment.number,
      startTime: segment.presentationTime,
      duration: segment.duration,
      url: localFile(segment.resolvedUri, at),
      initUrl: localFile(segment.map.resolvedUri, `${at} initialization`)
    }
  })
}

/** Parses the MPD (with mpd-parser) into adaptation sets, representations and their expanded segment lists. Throws on unsupported MPDs. */
export const readPresentation = async (mpdPath: string): Promise<Presentation> => {
  const absolute = path.resolve(mpdPath)
  const text = await readFile(absolute, "utf8")
  let mpd: Element
  let playlists: ReadonlyArray<DashPlaylist>
  try {
    mpd = stringToMpdXml(text)
    // manifestUri: mpd-parser resolves every segment URL (and any BaseURL) against it.
    playlists = toPlaylists(inheritAttributes(mpd, { manifestUri: pathToFileURL(absolute).href }).representationInfo)
  } catch (error) {
    throw new Error(`mpd-parser: ${message(error)}`) // its errors are bare codes such as INVALID_NUMBER_OF_PERIOD
  }
  const periods = children(mpd, "Period")
  if (periods.length !== 1) throw new Error(`expected exactly one Period, found ${periods.length}`)
  const [first] = playlists
  if (first === undefined) throw new Error("MPD has no Representation")
  if (first.attributes.type === "dynamic") throw new Error("dynamic MPDs are not supported")
  const mediaPresentationDuration = first.attributes.mediaPresentationDuration ?? first.attributes.periodDuration
  if (mediaPresentationDuration === undefined) throw new Error("MPD has no mediaPresentationDuration")

  // mpd-parser lists representations in document order, one per Representation, but one per BaseURL when
  // a level has several: pair them with the Representation elements in order, after refusing any surplus.
  const elements = children(periods[0] as Element, "AdaptationSet").flatMap((set) => children(set, "Representation"))
  if (elements.length !== playlists.length) {
    throw new Error(`mpd-parser listed ${playlists.length} representations, the MPD has ${elements.length} (several BaseURLs?)`)
  }
  let next = 0
  const adaptationSets = children(periods[0] as Element, "AdaptationSet").map((set): AdaptationSet => {
    const inherited = children(set, "Representation").length > 0 ? playlists[next]?.attributes : undefined
    // Side-loaded text (a whole WebVTT file as the Representation's BaseURL): no segments to expand.
    const sideLoadedText = attribute(set, "mimeType") === "text/vtt"
    const representations = children(set, "Representation").map((element): Representation => {
      const playlist = playlists[next++] as DashPlaylist
      const a = playlist.attributes
      const id = String(a.id)
      if (sideLoadedText) {
        const base = children(element, "BaseURL")[0]?.textContent?.trim() ?? ""
        return {
          id, width: undefined, height: undefined, bandwidth: a.bandwidth, codecs: a.codecs, frameRate: undefined,
          audioSamplingRate: undefined, channels: undefined, segments: [], textFile: path.resolve(path.dirname(absolute), base)
        }
      }
      return {
        id,
        width: a.width,
        height: a.height,
        bandwidth: a.bandwidth,
        codecs: a.codecs,
        frameRate: a.frameRate,
        audioSamplingRate: num(a.audioSamplingRate),
        channels: declaredChannels(element, set),
        segments: segmentsOf(playlist, `Representation ${id}`)
      }
    })
    return {
      id: attribute(set, "id"), // from the DOM: mpd-parser drops AdaptationSet@id
      // mpd-parser's inherited attributes of the set's first Representation (@contentType, else @mimeType).
      contentType: inherited?.contentType ?? inherited?.mimeType?.split("/")[0],
      representations
    }
  })
  return { mpdPath: absolute, mediaPresentationDuration, adaptationSets }
}

const representationsOf = (p: Presentation, contentType: string): ReadonlyArray<Representation> =>
  p.adaptationSets.filter((as) => as.contentType === contentType).flatMap((as) => as.representations)

const endOf = (segments: ReadonlyArray<Segment>): number => {
  const last = segments.at(-1)
  return last ? last.startTime + last.duration : 0
}

// ---------------------------------------------------------------------------------------------------
// Media checks

const fileState = async (file: string): Promise<"ok" | "missing" | "empty"> => {
  try {
    return (await stat(file)).size > 0 ? "ok" : "empty"
  } catch {
    return "missing"
  }
}

/** Is the first frame in presentation order of init+segment a keyframe? Decodes only the first few packets. */
const probeSegment = async (segment: Segment): Promise<SegmentProbe> => {
  const base = { number: segment.number, url: segment.url, startTime: segment.startTime }
  try {
    const out = await ffprobe(
      [
        "-select_streams", "v:0",
        // 8 packets cover B-frame reordering: the first presented picture is among them.
        "-read_intervals", "%+#8",
        "-show_entries", "stream=width,height:packet=pts_time,flags:frame=key_frame,pict_type,pts_time"
      ],
      [segment.initUrl, segment.url]
    )
    const entries = out.packets_and_frames ?? []
    const pts = (e: ProbeEntry) => Number(e.pts_time)
    const byPts = (type: ProbeEntry["type"]) =>
      entries.filter((e) => e.type === type && Number.isFinite(pts(e))).sort((a, b) => pts(a) - pts(b))
    // The earliest-pts packet is the first presented picture; the decoder must agree it is a keyframe.
    // (Decoders silently drop undecodable leading pictures, so frames alone would miss open-GOP starts.)
    const [packet] = byPts("packet")
    const [frame] = byPts("frame")
    return {
      ...base,
      firstPts: packet ? pts(packet) : undefined,
      keyframe: packet?.flags?.startsWith("K") === true && frame?.key_frame === 1 && pts(frame) === pts(packet),
      pictType: frame && packet && pts(frame) === pts(packet) ? frame.pict_type : undefined,
      width: out.streams?.[0]?.width,
      height: out.streams?.[0]?.height,
      error: packet ? undefined : "no video packets"
    }
  } catch (error) {
    return { ...base, firstPts: undefined, keyframe: false, pictType: undefined, width: undefined, height: undefined, error: message(error) }
  }
}

const sameTime = (a: number, b: number) => Math.abs(a - b) <= 0.001

/** Validates, parses and probes a presentation; every finding ends up in `problems` (never throws). */
export const checkPresentation = async (mpdPath: string, options: CheckOptions = {}): Promise<PresentationReport> => {
  const concurrency = options.concurrency ?? availableParallelism()
  const tolerance = options.durationTolerance ?? 0.1
  const problems: string[] = []
  const schema = await validateMpdSchema(mpdPath)
  if (!schema.ok) problems.push(`schema: ${schema.output}`)

  let presentation: Presentation
  try {
    presentation = await readPresentation(mpdPath)
  } catch (error) {
    problems.push(`parse: ${message(error)}`)
    return {
      ok: false, problems, schemaValid: schema.ok, schemaOutput: schema.output, presentation: undefined,
      files: { checked: 0, missing: [], empty: [] }, video: [], timelinesAligned: false,
      allSegmentsStartOnKeyframe: false, audio: undefined, mediaPresentationDuration: undefined, videoDuration: undefined
    }
  }

  // Files: every init and segment of every representation exists and is non-empty.
  const allReps = presentation.adaptationSets.flatMap((as) => as.representations)
  const files = [...new Set(allReps.flatMap((rep) => [...rep.segments.flatMap((s) => [s.initUrl, s.url]), ...(rep.textFile === undefined ? [] : [rep.textFile])]))]
  const states = await mapLimit(files, 32, fileState)
  const missing = files.filter((_, i) => states[i] === "missing")
  const empty = files.filter((_, i) => states[i] === "empty")
  const bad = new Set([...missing, ...empty])
  for (const file of missing) problems.push(`missing file ${path.relative(path.dirname(presentation.mpdPath), file)}`)
  for (const file of empty) problems.push(`empty file ${path.relative(path.dirname(presentation.mpdPath), file)}`)

  // Video: probe every segment (first frame + size), with limited concurrency.
  const videoReps = representationsOf(presentation, "video")
  if (videoReps.length === 0) problems.push("no video representation")
  const probes = await mapLimit(videoReps.flatMap((rep) => rep.segments), concurrency, (s) =>
    bad.has(s.url) || bad.has(s.initUrl)
      ? Promise.resolve<SegmentProbe>({
          number: s.number, url: s.url, startTime: s.startTime, firstPts: undefined, keyframe: false,
          pictType: undefined, width: undefined, height: undefined, error: "missing or empty file"
        })
      : probeSegment(s)
  )
  let offset = 0
  const video = videoReps.map((rep): RungReport => {
    const segments = probes.slice(offset, (offset += rep.segments.length))
    return {
      id: rep.id,
      declaredWidth: rep.width,
      declaredHeight: rep.height,
      width: segments[0]?.width,
      height: segments[0]?.height,
      segmentCount: rep.segments.length,
      startTimes: rep.segments.map((s) => s.startTime),
      durations: rep.segments.map((s) => s.duration),
      totalDuration: endOf(rep.segments),
      segments
    }
  })
  for (const rung of video) {
    for (const s of rung.segments) {
      if (s.error) problems.push(`video ${rung.id} segment ${s.number}: ${s.error}`)
      else if (!s.keyframe) problems.push(`video ${rung.id} segment ${s.number}: first frame (${s.pictType ?? "undecodable"} at ${s.firstPts}s) is not a keyframe`)
      if (s.width !== undefined && (s.width !== rung.declaredWidth || s.height !== rung.declaredHeight)) {
        problems.push(`video ${rung.id} segment ${s.number}: ${s.width}x${s.height}, declared ${rung.declaredWidth}x${rung.declaredHeight}`)
      }
    }
  }

  // Alignment: players switch rungs at segment boundaries, so every rung needs the same boundaries.
  const [reference] = video
  let timelinesAligned = true
  for (const rung of video.slice(1)) {
    if (!reference) break
    const i = rung.startTimes.findIndex((t, k) =>
      !sameTime(t, reference.startTimes[k] ?? NaN) || !sameTime(rung.durations[k] ?? NaN, reference.durations[k] ?? NaN))
    if (rung.segmentCount !== reference.segmentCount || i >= 0) {
      timelinesAligned = false
      const at = i >= 0 ? i : Math.min(rung.segmentCount, reference.segmentCount)
      problems.push(
        `video ${rung.id} not aligned with ${reference.id}: ${rung.segmentCount} vs ${reference.segmentCount} segments, ` +
          `segment #${at + 1} ${rung.startTimes[at]}+${rung.durations[at]}s vs ${reference.startTimes[at]}+${reference.durations[at]}s`
      )
    }
  }

  const videoDuration = reference?.totalDuration
  if (videoDuration !== undefined && Math.abs(videoDuration - presentation.mediaPresentationDuration) > tolerance) {
    problems.push(`video lasts ${videoDuration}s, mediaPresentationDuration is ${presentation.mediaPresentationDuration}s`)
  }

  // Audio: declared vs actual channel count and sample rate.
  let audio: AudioReport | undefined
  const audioRep = representationsOf(presentation, "audio")[0]
  if (audioRep) {
    let channels: number | undefined
    let sampleRate: number | undefined
    const first = audioRep.segments[0]
    if (first && !bad.has(first.url) && !bad.has(first.initUrl)) {
      try {
        const out = await ffprobe(["-select_streams", "a:0", "-show_entries", "stream=channels,sample_rate"], [first.initUrl, first.url])
        channels = out.streams?.[0]?.channels
        sampleRate = num(out.streams?.[0]?.sample_rate)
        if (channels === undefined) problems.push(`audio ${audioRep.id}: no audio stream in the media`)
      } catch (error) {
        problems.push(`audio ${audioRep.id}: ${message(error)}`)
      }
    }
    if (audioRep.channels !== undefined && channels !== undefined && audioRep.channels !== channels) {
      problems.push(`audio ${audioRep.id}: ${channels} channels, declared ${audioRep.channels}`)
    }
    if (audioRep.audioSamplingRate !== undefined && sampleRate !== undefined && audioRep.audioSamplingRate !== sampleRate) {
      problems.push(`audio ${audioRep.id}: ${sampleRate} Hz, declared ${audioRep.audioSamplingRate}`)
    }
    audio = {
      id: audioRep.id,
      declaredChannels: audioRep.channels,
      declaredSampleRate: audioRep.audioSamplingRate,
      channels,
      sampleRate,
      segmentCount: audioRep.segments.length,
      totalDuration: endOf(audioRep.segments)
    }
  }

  return {
    ok: problems.length === 0,
    problems,
    schemaValid: schema.ok,
    schemaOutput: schema.output,
    presentation,
    files: { checked: files.length, missing, empty },
    video,
    timelinesAligned,
    allSegmentsStartOnKeyframe: video.every((rung) => rung.segments.every((s) => s.keyframe)),
    audio,
    mediaPresentationDuration: presentation.mediaPresentationDuration,
    videoDuration
  }
}

/** Counts the frames of one video rung (init + all segments back to back) and checks the pts step. */
export const frameCount = async (mpdPath: string, rungId: string): Promise<FrameCountReport> => {
  const rep = representationsOf(await readPresentation(mpdPath), "video").find((r) => r.id === rungId)
  if (!rep) throw new Error(`no video representation "${rungId}" in ${mpdPath}`)
  const first = rep.segments[0]
  if (!first) return { rungId, frames: 0, firstPts: undefined, lastPts: undefined, steps: [], constantStep: true, keyframeTimes: [] }
  // Packets only (no decoding): integer pts avoid rounding noise when comparing steps.
  const out = await ffprobe(
    ["-select_streams", "v:0", "-show_entries", "stream=time_base:packet=pts,flags"],
    [first.initUrl, ...rep.segments.map((s) => s.url)]
  )
  const [n = "1", d = "1"] = (out.streams?.[0]?.time_base ?? "1/1").split("/")
  const tick = Number(n) / Number(d)
  const pts = (out.packets ?? []).map((p) => Number(p.pts)).filter(Number.isFinite).sort((a, b) => a - b)
  const deltas = [...new Set(pts.slice(1).map((p, i) => p - (pts[i] as number)))].sort((a, b) => a - b)
  return {
    rungId,
    frames: pts.length,
    firstPts: pts.length > 0 ? (pts[0] as number) * tick : undefined,
    lastPts: pts.length > 0 ? (pts.at(-1) as number) * tick : undefined,
    steps: deltas.map((delta) => delta * tick),
    constantStep: deltas.length === 0 || ((deltas[0] as number) > 0 && (deltas.at(-1) as number) - (deltas[0] as number) <= 1),
    keyframeTimes: (out.packets ?? [])
      .filter((p) => p.flags?.startsWith("K") === true)
      .map((p) => Number(p.pts) * tick)
      .sort((a, b) => a - b)
  }
}

/**
 * When the first representation of each kind starts, as ffprobe reads its init segment and first
 * media segment (edit lists applied; an AAC track starts with its priming frame).
 */
export const firstPresentationTimes = async (mpdPath: string): Promise<{ readonly video: number | undefined; readonly audio: number | undefined }> => {
  const presentation = await readPresentation(mpdPath)
  const startOf = async (contentType: string) => {
    const segment = representationsOf(presentation, contentType)[0]?.segments[0]
    if (!segment) return undefined
    const out = await ffprobe(["-show_entries", "stream=start_time"], [segment.initUrl, segment.url])
    return num(out.streams?.[0]?.start_time)
  }
  return { video: await startOf("video"), audio: await startOf("audio") }
}

/**
 * PSNR (dB, all planes) of every frame of one rung against a reference video of the same size,
 * frames paired by timestamp: a frame shown at the wrong time (dropped, doubled or shifted) scores
 * far lower than coding loss does. Identical frames score Infinity.
 */
export const framePsnr = async (mpdPath: string, rungId: string, reference: string): Promise<ReadonlyArray<number>> => {
  const rep = representationsOf(await readPresentation(mpdPath), "video").find((r) => r.id === rungId)
  if (!rep?.segments[0]) throw new Error(`no video representation "${rungId}" with segments in ${mpdPath}`)
  const dir = await mkdtemp(path.join(tmpdir(), "vidpipe-psnr-"))
  try {
    const stats = path.join(dir, "psnr.log")
    const result = await run(
      "ffmpeg",
      ["-v", "error", "-i", "pipe:0", "-i", reference, "-lavfi", `[0:v][1:v]psnr=stats_file=${stats}`, "-f", "null", "-"],
      [rep.segments[0].initUrl, ...rep.segments.map((s) => s.url)]
    )
    if (result.code !== 0) throw new Error(`ffmpeg psnr exited ${result.code}: ${result.stderr.trim()}`)
    return (await readFile(stats, "utf8")).split("\n").filter((line) => line.includes("psnr_avg:")).map((line) => {
      const value = /psnr_avg:(\S+)/.exec(line)?.[1] ?? "nan"
      return value === "inf" ? Infinity : Number(value)
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Frames of a file's first video stream, decoded and counted by ffprobe (`-count_frames`). */
export const sourceFrameCount = async (file: string): Promise<number> => {
  const result = await run("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", file])
  if (result.code !== 0) throw new Error(`ffprobe exited ${result.code}: ${result.stderr.trim()}`)
  return Number(result.stdout.trim())
}
