/**
 * HLS playlists for a finished job, over the very files the MPD names (fMP4/CMAF segments: one
 * copy serves both formats). Pure: no I/O. The rules followed, from RFC 8216:
 *
 * - 4.3.1.2: "A Playlist file MUST NOT contain more than one EXT-X-VERSION tag"; 7: "The
 *   EXT-X-MAP tag ... MUST use version 6 or higher" in a Media Playlist without
 *   EXT-X-I-FRAMES-ONLY, and floating-point EXTINF durations need version 3 or higher. So 6.
 * - 4.3.3.1: "The EXTINF duration of each Media Segment in the Playlist file, when rounded to the
 *   nearest integer, MUST be less than or equal to the target duration".
 * - 4.3.4.2: BANDWIDTH is "the peak segment bit rate of the Variant Stream" (`peakBitrate`): with
 *   an audio group, the largest sum of peak segment bit rates of any playable combination of renditions;
 *   AVERAGE-BANDWIDTH the same sum of average segment bit rates. CODECS lists every format of the
 *   variant (video and audio); RESOLUTION and FRAME-RATE describe its video.
 * - 4.3.4.1: an EXT-X-MEDIA rendition of TYPE=AUDIO is in the GROUP-ID the variant's AUDIO names.
 * - 4.3.3.4, 4.3.3.5: EXT-X-ENDLIST (nothing will be added) and PLAYLIST-TYPE VOD.
 */
import { Result } from "effect"
import { ManifestInvalid } from "./Errors.ts"
import type { ManifestInput } from "./Mpd.ts"
import { checkAlignment } from "./Mpd.ts"
import type { CaptionTrack } from "./Captions.ts"
import type { Track } from "./Track.ts"
import { expandTimeline, trackDurationSeconds } from "./Track.ts"

/** The master playlist, beside the MPD (`hlsKeyOf` in Job.ts). */
export const masterPlaylistName = "master.m3u8"
/** RFC 8216 4: a Playlist is identified by a path ending in .m3u8 or by this Content-Type. */
export const hlsContentType = "application/vnd.apple.mpegurl"
/** Each track's playlist, in the track's own folder beside its init and media segments. */
export const mediaPlaylistName = "index.m3u8"
const version = 6
const audioGroup = "audio"
const subtitleGroup = "subtitles"

/** A playlist to write: its path relative to the presentation (the MPD's folder). */
export interface PlaylistFile {
  readonly path: string
  readonly body: string
}

export interface HlsInput extends ManifestInput {
  /** The folder a track's files are in, relative to the presentation ("video/720p", "audio"). */
  readonly folderOf: (track: Track) => string
  /** Bytes of one of a track's files (by its name in the track's folder), as stored. */
  readonly sizeOf: (track: Track, file: string) => number | undefined
}

/** `seg-$Number%05d$.m4s` with segment number `n` → `seg-00007.m4s` (the DASH template rules the muxer writes). */
export const mediaFileName = (template: string, n: number) =>
  template.replace(/\$Number(?:%0(\d+)d)?\$/g, (_, width: string | undefined) => String(n).padStart(Number(width ?? 0), "0"))

const quoted = (value: string) => `"${value.replace(/"/g, "'")}"`

/** "30000/1001" → "29.970": FRAME-RATE is a decimal-floating-point with three decimals at most. */
const frameRateDecimal = (rate: string | undefined) => {
  if (rate === undefined) return undefined
  const [num, den = "1"] = rate.split("/")
  const value = Number(num) / Number(den)
  return Number.isFinite(value) && value > 0 ? value.toFixed(3) : undefined
}

interface TrackSegments {
  readonly track: Track
  readonly segments: ReadonlyArray<{ readonly file: string; readonly seconds: number; readonly bytes: number }>
  readonly averageBitrate: number
}

/**
 * RFC 8216 4.3.4.2: "The peak segment bit rate of a Media Playlist is the largest bit rate of any
 * contiguous set of segments whose total duration is between 0.5 and 1.5 times the target
 * duration. The bit rate of a set is calculated by dividing the sum of the segment sizes by the sum
 * of the segment durations." (A playlist shorter than half a target: its whole rate.)
 */
const peakBitrate = (entry: TrackSegments, targetDuration: number) => {
  let peak = 0
  const { segments } = entry
  for (let i = 0; i < segments.length; i++) {
    let bytes = 0
    let seconds = 0
    for (let j = i; j < segments.length && seconds + segments[j]!.seconds <= 1.5 * targetDuration; j++) {
      bytes += segments[j]!.bytes
      seconds += segments[j]!.seconds
      if (seconds >= 0.5 * targetDuration) peak = Math.max(peak, (bytes * 8) / seconds)
    }
  }
  return Math.ceil(peak > 0 ? peak : entry.averageBitrate)
}

const segmentsOf = (input: HlsInput, track: Track): Result.Result<TrackSegments, ManifestInvalid> => {
  const segments: Array<TrackSegments["segments"][number]> = []
  for (const [i, segment] of expandTimeline(track.timeline).entries()) {
    const file = mediaFileName(track.media, track.startNumber + i)
    const bytes = input.sizeOf(track, file)
    if (bytes === undefined) {
      return Result.fail(new ManifestInvalid({ reason: `${input.folderOf(track)}/${file} is named by the playlist but not stored` }))
    }
    segments.push({ file, seconds: segment.duration / track.timescale, bytes })
  }
  const bytes = segments.reduce((sum, s) => sum + s.bytes, 0)
  const seconds = segments.reduce((sum, s) => sum + s.seconds, 0)
  return Result.succeed({ track, segments, averageBitrate: seconds > 0 ? Math.round((bytes * 8) / seconds) : 0 })
}

const mediaPlaylist = (entry: TrackSegments, targetDuration: number) =>
  [
    "#EXTM3U",
    `#EXT-X-VERSION:${version}`,
    `#EXT-X-TARGETDURATION:${targetDuration}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    "#EXT-X-PLAYLIST-TYPE:VOD",
    "#EXT-X-INDEPENDENT-SEGMENTS",
    `#EXT-X-MAP:URI=${quoted(entry.track.initialization)}`,
    ...entry.segments.flatMap((segment) => [`#EXTINF:${segment.seconds.toFixed(6)},`, segment.file]),
    "#EXT-X-ENDLIST",
    ""
  ].join("\n")

/** A caption's playlist, beside its WebVTT file: `captions/s0.vtt` → `captions/s0.m3u8`. */
const subtitlePlaylistPath = (caption: CaptionTrack) => caption.file.replace(/\.vtt$/, "") + ".m3u8"

/**
 * A caption's media playlist: its whole WebVTT file as one segment lasting the presentation.
 * RFC 3.5: with no X-TIMESTAMP-MAP, "the client MUST assume that the WebVTT cue time of 0 maps
 * to an MPEG-2 timestamp of 0" — the presentation's segments start at 0 too.
 */
const subtitlePlaylist = (caption: CaptionTrack, seconds: number) =>
  [
    "#EXTM3U",
    `#EXT-X-VERSION:${version}`,
    `#EXT-X-TARGETDURATION:${Math.max(1, Math.round(seconds))}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    "#EXT-X-PLAYLIST-TYPE:VOD",
    `#EXTINF:${seconds.toFixed(6)},`,
    caption.file.slice(caption.file.lastIndexOf("/") + 1),
    "#EXT-X-ENDLIST",
    ""
  ].join("\n")

/**
 * The master playlist and one media playlist per rung and for the audio, or why they cannot be
 * written (rungs not aligned, a named segment not stored).
 */
export const buildHls = (input: HlsInput): Result.Result<ReadonlyArray<PlaylistFile>, ManifestInvalid> =>
  Result.flatMap(checkAlignment(input.video), () => {
    const tracks = input.audio === undefined ? input.video : [...input.video, input.audio]
    const listed: Array<TrackSegments> = []
    for (const track of tracks) {
      const entry = segmentsOf(input, track)
      if (Result.isFailure(entry)) return Result.fail(entry.failure)
      listed.push(entry.success)
    }
    const longest = Math.max(...listed.flatMap((entry) => entry.segments.map((s) => s.seconds)))
    // One target for every playlist: no segment, rounded to the nearest integer, exceeds it.
    const targetDuration = Math.max(1, Math.round(longest))
    const audio = input.audio === undefined ? undefined : listed.at(-1)!
    // In the MPD's order: lowest DASH @bandwidth first.
    const video = listed.slice(0, input.video.length).sort((a, b) => a.track.bandwidth - b.track.bandwidth)
    const uriOf = (track: Track) => `${input.folderOf(track)}/${mediaPlaylistName}`
    const captions = input.captions ?? []
    const presentationSeconds = Math.max(...input.video.map(trackDurationSeconds))
    const master = [
      "#EXTM3U",
      `#EXT-X-VERSION:${version}`,
      "#EXT-X-INDEPENDENT-SEGMENTS",
      ...(audio === undefined ? [] : [
        `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=${quoted(audioGroup)},NAME=${quoted("audio")},LANGUAGE=${quoted("und")},DEFAULT=YES,AUTOSELECT=YES` +
        `${audio.track.channels === undefined ? "" : `,CHANNELS=${quoted(String(audio.track.channels))}`},URI=${quoted(uriOf(audio.track))}`
      ]),
      // RFC 8216 4.3.4.1: TYPE=SUBTITLES renditions are WebVTT; NAME unique within the group.
      ...captions.map((caption) =>
        `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=${quoted(subtitleGroup)},NAME=${quoted(caption.label)},LANGUAGE=${quoted(caption.language)},` +
        `DEFAULT=NO,AUTOSELECT=YES,URI=${quoted(subtitlePlaylistPath(caption))}`
      ),
      ...video.flatMap((entry) => {
        const rate = frameRateDecimal(entry.track.frameRate)
        const attributes = [
          `BANDWIDTH=${peakBitrate(entry, targetDuration) + (audio === undefined ? 0 : peakBitrate(audio, targetDuration))}`,
          `AVERAGE-BANDWIDTH=${entry.averageBitrate + (audio?.averageBitrate ?? 0)}`,
          `CODECS=${quoted([entry.track.codecs, ...(audio === undefined ? [] : [audio.track.codecs])].join(","))}`,
          ...(entry.track.width === undefined || entry.track.height === undefined ? [] : [`RESOLUTION=${entry.track.width}x${entry.track.height}`]),
          ...(rate === undefined ? [] : [`FRAME-RATE=${rate}`]),
          ...(audio === undefined ? [] : [`AUDIO=${quoted(audioGroup)}`]),
          ...(captions.length === 0 ? [] : [`SUBTITLES=${quoted(subtitleGroup)}`])
        ]
        return [`#EXT-X-STREAM-INF:${attributes.join(",")}`, uriOf(entry.track)]
      }),
      ""
    ].join("\n")
    return Result.succeed([
      ...listed.map((entry) => ({ path: uriOf(entry.track), body: mediaPlaylist(entry, targetDuration) })),
      ...captions.map((caption) => ({ path: subtitlePlaylistPath(caption), body: subtitlePlaylist(caption, presentationSeconds) })),
      { path: masterPlaylistName, body: master }
    ])
  })
