/**
 * Minimal types for mpd-parser (videojs), which ships none: only what test/support/dashInspect.ts uses.
 * Shapes as in mpd-parser 1.4.0 src/inheritAttributes.js, src/toPlaylists.js and src/segment/*.js.
 */
declare module "mpd-parser" {
  /** A byte range of a URL (SegmentBase, SegmentList@mediaRange, Initialization@range). */
  export interface ByteRange {
    readonly length: number
    readonly offset: number
  }

  /** An initialization segment (`segment.map`). */
  export interface InitSegment {
    readonly uri: string
    readonly resolvedUri: string // uri resolved against the manifest URI and BaseURLs
    readonly byterange?: ByteRange
  }

  /** One media segment of a DASH playlist, before toM3u8 renumbers it. */
  export interface DashSegment {
    readonly uri: string // template expanded
    readonly resolvedUri: string
    readonly duration: number // seconds
    readonly number: number // the DASH $Number$ (startNumber-based)
    readonly timeline: number // Period start, seconds
    readonly presentationTime?: number // seconds: Period start + (time - presentationTimeOffset) / timescale
    readonly map?: InitSegment
    readonly byterange?: ByteRange
  }

  /**
   * Attributes of the MPD, Period, AdaptationSet and Representation merged (inner wins), with the ones
   * mpd-parser knows parsed (numbers, xs:duration in seconds) and the rest left as strings.
   */
  export interface DashAttributes {
    readonly [name: string]: unknown
    readonly id?: string
    readonly type?: string // "static" | "dynamic"
    readonly mediaPresentationDuration?: number // seconds
    readonly periodDuration?: number // seconds, from Period@duration
    readonly periodStart?: number | null
    readonly contentType?: string
    readonly mimeType?: string
    readonly codecs?: string
    readonly bandwidth?: number
    readonly width?: number
    readonly height?: number
    readonly frameRate?: number
    readonly audioSamplingRate?: string
    readonly media?: string
    readonly baseUrl?: string
  }

  export interface RepresentationInformation {
    readonly attributes: DashAttributes
    readonly segmentInfo: unknown
  }

  export interface DashPlaylist {
    readonly attributes: DashAttributes
    readonly segments?: ReadonlyArray<DashSegment>
    readonly sidx?: DashSegment // SegmentBase with @indexRange: segments come from the sidx box
  }

  export interface InheritOptions {
    readonly manifestUri?: string
    readonly NOW?: number
    readonly clientOffset?: number
    readonly eventHandler?: (event: { readonly type: string; readonly message: string }) => void
  }

  /** Parses the manifest text with @xmldom/xmldom; throws DASH_EMPTY_MANIFEST or DASH_INVALID_XML. */
  export function stringToMpdXml(manifest: string): Element
  /** One entry per Representation (per resolved BaseURL), in document order; throws INVALID_NUMBER_OF_PERIOD. */
  export function inheritAttributes(
    mpd: Element,
    options?: InheritOptions
  ): { readonly representationInfo: ReadonlyArray<RepresentationInformation>; readonly locations?: ReadonlyArray<string> }
  /** Expands each representation's SegmentTemplate / SegmentTimeline / SegmentList / SegmentBase into segments. */
  export function toPlaylists(representations: ReadonlyArray<RepresentationInformation>): Array<DashPlaylist>
}
