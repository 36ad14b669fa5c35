// @ts-check
// The player of both pages: the web app's job panel and the /player page (`vidpipe play`). One
// engine (dash.js or Shaka Player for DASH or HLS, hls.js for HLS) plays one manifest in a <video>; the stream's video
// representations fill a quality <select> ("auto" first), its caption tracks a captions <select>
// ("off" first); a status line shows the time, the size
// and the representation on screen. `state` is the player's part of the page's test hook
// (types.ts, PlayerState).
import { startDashJs } from "./dashjsEngine.js"
import { startHlsJs } from "./hlsjsEngine.js"
import { describeMediaError } from "./mediaError.js"
import { startShaka } from "./shakaEngine.js"
import { createScrubBar } from "./storyboard.js"

/**
 * @typedef {import("./types.ts").Engine} Engine
 * @typedef {import("./types.ts").PlayerEngineName} PlayerEngineName
 * @typedef {import("./types.ts").PlayerState} PlayerState
 * @typedef {import("./types.ts").Representation} Representation
 */

/** @type {Record<PlayerEngineName, import("./types.ts").StartEngine>} */
const engines = { dashjs: startDashJs, shaka: startShaka, hlsjs: startHlsJs }

/**
 * @param {object} options
 * @param {PlayerEngineName} options.engine
 * @param {HTMLVideoElement} options.video
 * @param {HTMLSelectElement} options.quality
 * @param {HTMLSelectElement} options.captions
 * @param {HTMLElement} options.scrub  receives a seek bar with the storyboard's thumbnails
 * @param {HTMLElement} options.status
 * @param {(message: string) => void} options.report  engine, playback and video errors go here
 */
export function createPlayer({ engine, video, quality, captions, scrub, status, report }) {
  const scrubBar = createScrubBar(video, scrub)
  /** @type {Engine | undefined} */
  let playing
  // Events from an engine that has since been stopped are dropped: one counter per play().
  let generation = 0

  /** @type {PlayerState} */
  const state = {
    engine,
    src: null,
    playerReady: false,
    representations: [],
    currentRepresentation: null,
    selection: "auto",
    get videoWidth() { return video.videoWidth },
    get videoHeight() { return video.videoHeight },
    get currentTime() { return video.currentTime },
    select,
    textTracks: [],
    textTrack: -1,
    selectText,
    poster: null,
    storyboardCues: 0,
    previewAt: (t) => {
      const cue = state.storyboardCues > 0 ? scrubBar.preview(t) : undefined
      return cue === undefined ? null : { image: cue.image, x: cue.x, y: cue.y, w: cue.w, h: cue.h }
    }
  }

  /** @param {number} index a caption track's index, or -1 for none */
  function selectText(index) {
    if (!playing || !state.playerReady) return false
    if (index < -1 || index >= state.textTracks.length) return false
    playing.selectText(index)
    state.textTrack = index
    captions.value = String(index)
    return true
  }

  /** @param {ReadonlyArray<import("./types.ts").TextTrackInfo>} list */
  function listTextTracks(list) {
    state.textTracks = [...list]
    state.textTrack = -1
    const off = document.createElement("option")
    off.value = "-1"
    off.textContent = list.length === 0 ? "none" : "off"
    captions.replaceChildren(off, ...list.map((track, i) => {
      const option = document.createElement("option")
      option.value = String(i)
      option.textContent = track.label + (track.label === track.language ? "" : " (" + track.language + ")")
      return option
    }))
    captions.value = "-1"
    captions.disabled = list.length === 0
  }

  /** @param {string} id "auto" or a representation id */
  function select(id) {
    if (!playing || !state.playerReady) return false
    if (id !== "auto" && !state.representations.some((r) => r.id === id)) return false
    playing.select(id)
    state.selection = id
    quality.value = id
    return true
  }

  function showStatus() {
    status.textContent = state.src === null ? "" : video.currentTime.toFixed(1) + " s · " + video.videoWidth + "x" +
      video.videoHeight + (state.currentRepresentation ? " (" + state.currentRepresentation + ")" : "")
  }

  function resetQuality() {
    const auto = document.createElement("option")
    auto.value = "auto"
    auto.textContent = "auto"
    quality.replaceChildren(auto)
    quality.value = "auto"
    quality.disabled = true
  }

  /** @param {ReadonlyArray<Representation>} list */
  function listRepresentations(list) {
    state.representations = [...list].sort((a, b) => b.width - a.width || b.bandwidth - a.bandwidth)
    resetQuality()
    for (const r of state.representations) {
      const option = document.createElement("option")
      option.value = r.id
      option.textContent = r.id + " (" + r.width + "x" + r.height + ", " + Math.round(r.bandwidth / 1000) + " kbps)"
      quality.appendChild(option)
    }
    quality.disabled = false
    state.playerReady = true
  }

  video.addEventListener("error", () => {
    if (state.src !== null) report("video error " + describeMediaError(video.error))
  })
  video.addEventListener("timeupdate", showStatus)
  video.addEventListener("resize", showStatus)
  quality.addEventListener("change", () => select(quality.value))
  captions.addEventListener("change", () => selectText(Number(captions.value)))
  resetQuality()
  listTextTracks([])

  /** Stops playing (if anything plays) and empties the video. */
  function stop() {
    const engineWas = playing
    playing = undefined
    generation++
    state.src = null
    state.playerReady = false
    state.representations = []
    state.currentRepresentation = null
    state.selection = "auto"
    resetQuality()
    listTextTracks([])
    if (engineWas) {
      try { engineWas.destroy() } catch { /* already gone */ }
    }
    video.removeAttribute("src")
    video.removeAttribute("poster")
    state.poster = null
    state.storyboardCues = 0
    scrubBar.load(null)
    try { video.load() } catch { /* nothing to reset */ }
    showStatus()
  }

  /**
   * @param {string} src the manifest's URL
   * @param {{ readonly poster?: string | undefined, readonly storyboard?: string | undefined }} [pictures]
   *   the presentation's poster and storyboard; by default the files vidpipe writes beside the manifest
   * @param {PlayerEngineName} [engineName] another engine than the page's (hls.js for an HLS master)
   */
  function play(src, pictures, engineName) {
    stop()
    state.src = src
    state.engine = engineName ?? engine
    const beside = (/** @type {string} */ name) => new URL(name, new URL(src, location.href)).href
    state.poster = pictures?.poster ?? beside("poster.jpg")
    video.poster = state.poster
    const storyboardUrl = pictures?.storyboard ?? beside("storyboard.vtt")
    scrubBar.load(storyboardUrl).then((count) => { if (state.src === src) state.storyboardCues = count })
    const mine = generation
    const live = () => generation === mine
    playing = engines[state.engine](video, src, {
      error: (message) => { if (live()) report(message) },
      ready: (list, textTracks) => {
        if (!live()) return
        listTextTracks(textTracks)
        listRepresentations(list)
      },
      rendered: (id) => {
        if (!live()) return
        state.currentRepresentation = id
        showStatus()
      }
    })
  }

  return { state, play, stop }
}
