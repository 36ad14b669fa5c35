// @ts-check
// hls.js behind the player's engine interface (types.ts, StartEngine; player.js drives it), for
// HLS playlists in browsers without native HLS (everything but Safari). The page loads hls.js's
// UMD bundle with a plain <script> from the route playerBundles.ts serves; it defines `window.Hls`.
//
// A representation here is one level (variant stream) of the master playlist. Its id is the folder
// of the level's media playlist, which vidpipe names after the rung ("video/720p/index.m3u8":
// "720p", the MPD's Representation@id too), falling back to "<height>p".
import { playlistRung } from "./playlistRung.js"

/** @typedef {typeof import("hls.js").default} HlsJs */
/** @typedef {import("hls.js").Level} Level */

/** The bundle's global, or undefined when it did not load. */
const loadedHls = () => ("Hls" in window ? /** @type {HlsJs} */ (window.Hls) : undefined)

/** @param {Level} level */
const representationId = (level) => playlistRung(level.uri) ?? level.height + "p"

/** @type {import("./types.ts").StartEngine} */
export const startHlsJs = (video, src, events) => {
  const Hls = loadedHls()
  if (Hls === undefined) {
    events.error("hls.js failed to load")
    return undefined
  }
  if (!Hls.isSupported()) {
    events.error("hls.js: this browser has no Media Source Extensions")
    return undefined
  }
  const hls = new Hls()
  hls.on(Hls.Events.ERROR, (_event, data) => {
    // Non-fatal errors are retried by hls.js itself.
    if (data.fatal) events.error("hls.js error " + data.type + ": " + data.details + (data.error ? " (" + data.error.message + ")" : ""))
  })
  hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
    events.ready(
      hls.levels.map((level) => ({ id: representationId(level), width: level.width, height: level.height, bandwidth: level.bitrate })),
      // The event's own list: `hls.subtitleTracks` is filled by a controller after this handler may run.
      data.subtitleTracks.map((t) => ({ language: t.lang || "und", label: t.name }))
    )
    // As the other engines do (dash.js's autoplay, Shaka's play()): start once the playlist is read.
    video.play().catch((e) => events.error("play() rejected: " + e))
  })
  // Switched: the level whose fragments now play.
  hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
    const level = hls.levels[data.level]
    events.rendered(level ? representationId(level) : null)
  })
  hls.loadSource(src)
  hls.attachMedia(video)
  return {
    select: (id) => {
      // -1: adaptive. A level index: switch now (what is buffered of another level is dropped).
      hls.currentLevel = id === "auto" ? -1 : hls.levels.findIndex((level) => representationId(level) === id)
    },
    selectText: (index) => {
      hls.subtitleDisplay = index >= 0
      hls.subtitleTrack = index
    },
    destroy: () => hls.destroy()
  }
}
