/**
 * Caption tracks: sidecar SubRip and WebVTT files read and checked (a bad file is refused naming
 * its line), written as WebVTT, the one text format both manifests point at (DASH: an
 * AdaptationSet of `text/vtt`; HLS: a `TYPE=SUBTITLES` rendition). Pure: no I/O.
 *
 * Rules followed:
 * - WebVTT (W3C, 4.1 "WebVTT file body"): the file starts with "WEBVTT" (after an optional BOM),
 *   followed by a space, tab or line end; a cue's timing line is `start --> end` with timestamps
 *   `(hh:)mm:ss.ttt`, the end greater than the start (4.1 "WebVTT cue timings").
 * - SubRip: numbered blocks, `hh:mm:ss,mmm --> hh:mm:ss,mmm`, text lines, a blank line between.
 * - Language: RFC 5646 tags, as DASH's @lang and HLS's LANGUAGE take them ("und": undetermined).
 */
import { Result, Schema } from "effect"
import { CaptionsInvalid } from "./Errors.ts"

/** Where caption files go, relative to the job's output prefix. */
export const captionsDirectory = "captions"

/** The WebVTT file a source's subtitle stream `0:s:N` becomes, in the captions folder. */
export const embeddedCaptionFile = (stream: number) => `s${stream}.vtt`
/** The WebVTT file the `n`th sidecar (from 1) becomes, in the captions folder. */
export const sidecarCaptionFile = (n: number) => `sidecar-${n}.vtt`

/** A caption track the presentation lists: its WebVTT file (relative to the output prefix) and language. */
export const CaptionTrack = Schema.Struct({
  file: Schema.String,
  language: Schema.String,
  /** What a player's menu shows. */
  label: Schema.String
})
export type CaptionTrack = typeof CaptionTrack.Type

/** A subtitle stream of the source that becomes a caption track (text formats only). */
export const SourceCaption = Schema.Struct({
  /** Index among the source's subtitle streams (`0:s:N`). */
  stream: Schema.Int,
  language: Schema.String
})
export type SourceCaption = typeof SourceCaption.Type

/** Subtitle codecs ffmpeg converts to WebVTT; bitmap ones (PGS, DVD, DVB) cannot become text. */
export const textSubtitleCodecs: ReadonlySet<string> = new Set(["mov_text", "subrip", "srt", "ass", "ssa", "webvtt", "text"])

const languageTag = /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$/

/**
 * An RFC 5646 language tag in its canonical form, or undefined when `text` is not one. RFC 5646
 * 2.2.1: the shortest ISO 639 code is used, so the ISO 639-2 codes containers carry ("eng", "fra")
 * become "en", "fr" — the form players list and match a viewer's language against.
 */
export const languageOf = (text: string | undefined): string | undefined => {
  if (text === undefined || !languageTag.test(text)) return undefined
  try {
    return Intl.getCanonicalLocales(text)[0] ?? text
  } catch {
    return undefined
  }
}

interface Cue {
  readonly start: number
  readonly end: number
  readonly text: ReadonlyArray<string>
}

const lines = (text: string) => text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n").split("\n")

const subRipTime = /^(\d{1,2}):(\d{2}):(\d{2})[,.](\d{1,3})$/
const webVttTime = /^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})$/

const secondsOf = (match: RegExpExecArray) =>
  Number(match[1] ?? 0) * 3600 + Number(match[2]) * 60 + Number(match[3]) + Number(match[4]!.padEnd(3, "0")) / 1000

/** `start --> end` with an optional cue-settings tail; undefined when the line is not a timing line. */
const timing = (line: string, pattern: RegExp) => {
  const [left, right] = line.split("-->")
  if (right === undefined) return undefined
  const start = pattern.exec(left!.trim())
  const end = pattern.exec(right.trim().split(/[ \t]+/)[0] ?? "")
  return start === null || end === null ? undefined : { start: secondsOf(start), end: secondsOf(end) }
}

/** A WebVTT cue timestamp, `hh:mm:ss.ttt` (WebVTT 4.1 "WebVTT timestamp"). */
export const webVttTimestamp = (seconds: number) => {
  const millis = Math.round(seconds * 1000)
  const pad = (value: number, width = 2) => String(value).padStart(width, "0")
  return `${pad(Math.floor(millis / 3_600_000))}:${pad(Math.floor(millis / 60_000) % 60)}:${pad(Math.floor(millis / 1000) % 60)}.${pad(millis % 1000, 3)}`
}

/** Cues as a WebVTT file. */
const webVttOf = (cues: ReadonlyArray<Cue>) =>
  ["WEBVTT", "", ...cues.flatMap((cue) => [`${webVttTimestamp(cue.start)} --> ${webVttTimestamp(cue.end)}`, ...cue.text, ""])].join("\n")

/** A SubRip file as WebVTT, or the first line that is not SubRip. */
export const subRipToWebVtt = (file: string, text: string): Result.Result<string, CaptionsInvalid> => {
  const all = lines(text)
  const cues: Array<Cue> = []
  let i = 0
  const fail = (line: number, reason: string) => Result.fail(new CaptionsInvalid({ file, line: line + 1, reason }))
  while (i < all.length) {
    if (all[i]!.trim() === "") {
      i++
      continue
    }
    if (!/^\d+$/.test(all[i]!.trim())) return fail(i, `expected a cue number, found ${JSON.stringify(all[i]!.slice(0, 40))}`)
    const times = timing(all[i + 1] ?? "", subRipTime)
    if (times === undefined) return fail(i + 1, `expected a timing like 00:00:01,000 --> 00:00:02,500, found ${JSON.stringify((all[i + 1] ?? "").slice(0, 40))}`)
    if (!(times.end > times.start)) return fail(i + 1, "the cue ends before it starts")
    const body: Array<string> = []
    i += 2
    while (i < all.length && all[i]!.trim() !== "") body.push(all[i++]!.replace(/-->/g, "->"))
    cues.push({ ...times, text: body })
  }
  if (cues.length === 0) return fail(0, "no cues")
  return Result.succeed(webVttOf(cues))
}

/** A WebVTT file checked (header and every timing line), as it was but with plain line ends. */
export const checkWebVtt = (file: string, text: string): Result.Result<string, CaptionsInvalid> => {
  const all = lines(text)
  if (!/^WEBVTT(?:[ \t].*)?$/.test(all[0] ?? "")) {
    return Result.fail(new CaptionsInvalid({ file, line: 1, reason: "a WebVTT file starts with WEBVTT" }))
  }
  for (const [i, line] of all.entries()) {
    if (!line.includes("-->")) continue
    const times = timing(line, webVttTime)
    if (times === undefined) return Result.fail(new CaptionsInvalid({ file, line: i + 1, reason: `expected a timing like 00:01.000 --> 00:02.500, found ${JSON.stringify(line.slice(0, 40))}` }))
    if (!(times.end > times.start)) return Result.fail(new CaptionsInvalid({ file, line: i + 1, reason: "the cue ends before it starts" }))
  }
  return Result.succeed(all.join("\n"))
}

/** A sidecar file as WebVTT, by its extension (.srt or .vtt). */
export const sidecarToWebVtt = (file: string, text: string): Result.Result<string, CaptionsInvalid> => {
  const lower = file.toLowerCase()
  if (lower.endsWith(".srt")) return subRipToWebVtt(file, text)
  if (lower.endsWith(".vtt")) return checkWebVtt(file, text)
  return Result.fail(new CaptionsInvalid({ file, line: 1, reason: "captions must be a .srt (SubRip) or .vtt (WebVTT) file" }))
}

/** A readable name for a language tag in a player's menu ("en" → "English"), the tag itself when unknown. */
export const captionLabel = (language: string, ordinal: number) => {
  const name = language === "und" ? undefined : safeDisplayName(language)
  return `${name ?? language}${ordinal > 1 ? ` ${ordinal}` : ""}`
}

const safeDisplayName = (language: string) => {
  try {
    return new Intl.DisplayNames(["en"], { type: "language" }).of(language)
  } catch {
    return undefined
  }
}
