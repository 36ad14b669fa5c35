// @ts-check
// Shaka Player behind the player's engine interface (types.ts, StartEngine; player.js drives it).
// The page loads Shaka's compiled UMD bundle with a plain <script> from the route
// playerBundles.ts serves; it defines `window.shaka`.
//
// Shaka lists variants (video x audio pairs); a representation here is one video stream. Its id is
// the MPD's Representation@id (track.originalVideoId), or for HLS the rung folder of the media
// playlist Shaka gives as that id (playlistRung.js), falling back to "<height>p". The representation "on screen" is the variant Shaka is streaming (it has
// no "rendered" event like dash.js): compare video.videoWidth to be sure.

import { playlistRung } from "./playlistRung.js"

/** @typedef {typeof import("shaka-player").default} Shaka */
/** @typedef {import("shaka-player").default.extern.Track} Track */

/** The bundle's global, or undefined when it did not load. */
const loadedShaka = () => ("shaka" in window ? /** @type {Shaka} */ (window.shaka) : undefined)

/**
 * @param {Shaka} shaka
 * @param {unknown} error
 */
const describeShakaError = (shaka, error) => {
  if (!error) return "unknown"
  if (!(error instanceof shaka.util.Error)) return String(error)
  return "code " + error.code + " (category " + error.category + ", severity " + error.severity + ")" +
    (error.data && error.data.length ? " " + JSON.stringify(error.data).slice(0, 300) : "")
}

/** @param {Track} track */
const representationId = (track) =>
  playlistRung(track.originalVideoId) || track.originalVideoId || (track.height ? track.height + "p" : "video-" + track.videoId)

/** @type {import("./types.ts").StartEngine} */
export const startShaka = (video, src, events) => {
  const shaka = loadedShaka()
  if (shaka === undefined) {
    events.error("Shaka Player failed to load")
    return undefined
  }
  shaka.polyfill.installAll()
  if (!shaka.Player.isBrowserSupported()) {
    events.error("Shaka Player: browser not supported")
    return undefined
  }
  const player = new shaka.Player()
  /** @param {unknown} error */
  const describe = (error) => describeShakaError(shaka, error)

  const videoVariants = () => player.getVariantTracks().filter((t) => t.videoId !== null && t.videoId !== undefined)
  const refreshCurrent = () => {
    const active = videoVariants().find((t) => t.active)
    events.rendered(active ? representationId(active) : null)
  }

  player.addEventListener("error", (event) => events.error("shaka error " + describe("detail" in event ? event.detail : event)))
  player.addEventListener("adaptation", refreshCurrent)
  player.addEventListener("variantchanged", refreshCurrent)

  player.attach(video).then(() => player.load(src)).then(() => {
    /** @type {Map<string, import("./types.ts").Representation>} */
    const unique = new Map()
    for (const track of videoVariants()) {
      const id = representationId(track)
      if (!unique.has(id)) {
        unique.set(id, { id, width: track.width ?? 0, height: track.height ?? 0, bandwidth: track.videoBandwidth || track.bandwidth })
      }
    }
    events.ready([...unique.values()], player.getTextTracks().map((t) => ({ language: t.language || "und", label: t.label || t.language || "captions" })))
    refreshCurrent()
    return video.play().catch((e) => events.error("play() rejected: " + e))
  }).catch((e) => events.error("shaka load failed: " + describe(e)))

  return {
    select: (id) => {
      if (id === "auto") {
        player.configure({ abr: { enabled: true } })
        return
      }
      const track = videoVariants().find((t) => representationId(t) === id)
      if (!track) {
        events.error("no video representation " + id)
        return
      }
      player.configure({ abr: { enabled: false } })
      // Clearing the buffer shows the new rung at once; with nothing buffered yet (a pin right as
      // playback starts) there is nothing to clear, and asking for it then can leave Shaka with
      // an empty buffer for good (seen with HLS in Shaka 4.x: readyState 1, nothing fetched).
      player.selectVariantTrack(track, video.buffered.length > 0)
      refreshCurrent()
    },
    selectText: (index) => {
      // This Shaka shows the selected track; null unloads it.
      player.selectTextTrack(player.getTextTracks()[index] ?? null)
    },
    destroy: () => {
      player.destroy().catch(() => undefined)
    }
  }
}
