// Content-Type and Cache-Control for files inside a presentation folder.
// Pure so it can be tested without a server.

export interface MediaPolicy {
  /** undefined: keep whatever the static file server guessed. */
  readonly contentType: string | undefined
  readonly cacheControl: string
}

// Segment and init names never change meaning once written: cache forever.
export const immutableCache = "public, max-age=31536000, immutable"
// Manifests are small and may be rewritten (re-processing): revalidate quickly.
export const manifestCache = "public, max-age=5"
const otherCache = "no-cache"

const manifestTypes: Record<string, string> = {
  ".mpd": "application/dash+xml",
  ".m3u8": "application/vnd.apple.mpegurl",
  // Captions and the storyboard's cues (WebVTT), the poster and storyboard sheets: small, and
  // written again when a presentation is processed again into the same folder.
  ".vtt": "text/vtt",
  ".jpg": "image/jpeg"
}

// Fragmented MP4 flavours written by packagers (DASH, CMAF).
const mediaExtensions = new Set([".m4s", ".mp4", ".m4v", ".m4a", ".cmfv", ".cmfa"])
const audioOnlyExtensions = new Set([".m4a", ".cmfa"])

const extensionOf = (segment: string): string => {
  const dot = segment.lastIndexOf(".")
  return dot <= 0 ? "" : segment.slice(dot).toLowerCase()
}

/** `pathname` is the decoded URL path, e.g. `/movie/audio/seg-00001.m4s`. */
export const mediaPolicyFor = (pathname: string): MediaPolicy => {
  const segments = pathname.split("/").filter((s) => s.length > 0)
  const extension = extensionOf(segments.at(-1) ?? "")
  const manifestType = manifestTypes[extension]
  if (manifestType !== undefined) {
    return { contentType: manifestType, cacheControl: manifestCache }
  }
  if (mediaExtensions.has(extension)) {
    // Audio renditions live under an `audio/` directory; players check the MIME major type.
    const isAudio = audioOnlyExtensions.has(extension) || segments.slice(0, -1).some((s) => s.toLowerCase() === "audio")
    return { contentType: isAudio ? "audio/mp4" : "video/mp4", cacheControl: immutableCache }
  }
  return { contentType: undefined, cacheControl: otherCache }
}
