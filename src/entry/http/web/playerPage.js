// @ts-check
// The /player page (`vidpipe play`, and the web app's "Open in the player page" link): plays the
// manifest or playlist at ?src= with the engine the server put in <body data-engine> (dash.js, or
// Shaka Player for ?engine=shaka, hls.js for ?engine=hlsjs). `window.__player` is the state for tests (types.ts, PlayerPageState).
import { element } from "./dom.js"
import { createPlayer } from "./player.js"

const errorsView = element("errors", HTMLPreElement)
/** @type {Array<string>} */
const errors = []
/** @param {string} message */
const report = (message) => {
  errors.push(String(message))
  errorsView.textContent = errors.join("\n")
}
window.addEventListener("error", (e) => report("page error: " + e.message))

/**
 * @param {string | undefined} name
 * @returns {import("./types.ts").PlayerEngineName}
 */
function engineOf(name) {
  return name === "shaka" || name === "hlsjs" ? name : "dashjs"
}

const player = createPlayer({
  engine: engineOf(document.body.dataset["engine"]),
  video: element("video", HTMLVideoElement),
  quality: element("quality", HTMLSelectElement),
  captions: element("captions", HTMLSelectElement),
  scrub: element("scrub", HTMLElement),
  status: element("status", HTMLElement),
  report
})
/** @type {import("./types.ts").PlayerPageState} */
const state = Object.assign(player.state, { errors })
Object.assign(window, { __player: state })

const src = new URLSearchParams(location.search).get("src")
if (src) player.play(src)
else report("missing ?src=<url of a manifest.mpd>")
