// @ts-check
// dash.js behind the player's engine interface (types.ts, StartEngine; player.js drives it). The
// page loads dash.js's UMD bundle with a plain <script> from the route playerBundles.ts
// serves; it defines `window.dashjs`.
import { describeMediaError } from "./mediaError.js"

/** @typedef {typeof import("dashjs")} DashJs */

/** The bundle's global, or undefined when it did not load. */
const loadedDashJs = () => ("dashjs" in window ? /** @type {DashJs} */ (window.dashjs) : undefined)

/** @type {import("./types.ts").StartEngine} */
export const startDashJs = (video, src, events) => {
  const dashjs = loadedDashJs()
  if (dashjs === undefined) {
    events.error("dash.js failed to load")
    return undefined
  }
  const player = dashjs.MediaPlayer().create()
  const names = dashjs.MediaPlayer.events
  // Side-loaded WebVTT AdaptationSets of the MPD (text/vtt), in manifest order.
  const textTracks = () => player.getTracksFor("text")

  player.on(names.ERROR, (e) => {
    // Mostly { code, message }; some errors are only a word ("download", "mediasource", …).
    const err = e && e.error
    events.error("dash.js error " + (err && typeof err === "object" ? err.code + ": " + err.message : String(err || e)))
  })
  player.on(names.PLAYBACK_ERROR, (e) => events.error("playback error " + describeMediaError(e.error)))
  player.on(names.STREAM_INITIALIZED, () =>
    events.ready(
      player.getRepresentationsByType("video").map((r) => ({
        id: r.id,
        width: r.width,
        height: r.height,
        bandwidth: r.bandwidth
      })),
      textTracks().map((t) => ({ language: t.lang || "und", label: (t.labels && t.labels[0] && t.labels[0].text) || t.lang || "captions" }))
    )
  )
  // Rendered, not just requested: fires once the new quality is on screen.
  player.on(names.QUALITY_CHANGE_RENDERED, (e) => {
    if (e.mediaType === "video" && e.newRepresentation) events.rendered(e.newRepresentation.id)
  })

  player.initialize(video, src, true)
  return {
    select: (id) => {
      const auto = id === "auto"
      player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } })
      if (!auto) player.setRepresentationForTypeById("video", id, true)
    },
    selectText: (index) => {
      player.enableText(index >= 0)
      if (index >= 0) player.setTextTrack(index)
    },
    destroy: () => player.destroy()
  }
}
