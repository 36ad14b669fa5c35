// Shaka Player glue for the /player page (see playerPage.ts for the variables
// it may use: video, state, report, describeMediaError, setRepresentations and
// the `selectEngine` hook it must assign).
import { createRequire } from "node:module"

export const shakaRoute = "/_player/shaka-player.compiled.js"

// The package has no "exports" map; this compiled bundle (its "main") is a UMD
// build that defines `window.shaka` when loaded with a plain <script>.
export const shakaFile: string = createRequire(import.meta.url).resolve("shaka-player/dist/shaka-player.compiled.js")

// Shaka lists variants (video x audio pairs); a representation here is one
// video stream. Its id is the MPD's Representation@id (track.originalVideoId),
// falling back to "<height>p" for manifests Shaka gives no id for.
// `currentRepresentation` is the variant Shaka is streaming (it has no
// "rendered" event like dash.js): compare video.videoWidth to be sure.
export const shakaGlue = `
  if (typeof shaka === "undefined") { report("Shaka Player failed to load"); return; }
  shaka.polyfill.installAll();
  if (!shaka.Player.isBrowserSupported()) { report("Shaka Player: browser not supported"); return; }

  var player = new shaka.Player();
  state.player = player;

  function describeShakaError(e) {
    if (!e) return "unknown";
    if (e.code === undefined) return String(e);
    return "code " + e.code + " (category " + e.category + ", severity " + e.severity + ")" +
      (e.data && e.data.length ? " " + JSON.stringify(e.data).slice(0, 300) : "");
  }
  function representationId(track) {
    return track.originalVideoId || (track.height ? track.height + "p" : "video-" + track.videoId);
  }
  function videoVariants() {
    return player.getVariantTracks().filter(function (t) { return t.videoId !== null && t.videoId !== undefined; });
  }
  function refreshCurrent() {
    var active = videoVariants().filter(function (t) { return t.active; })[0];
    state.currentRepresentation = active ? representationId(active) : null;
  }

  selectEngine = function (id) {
    if (id === "auto") { player.configure({ abr: { enabled: true } }); return; }
    var track = videoVariants().filter(function (t) { return representationId(t) === id; })[0];
    if (!track) { report("no video representation " + id); return false; }
    player.configure({ abr: { enabled: false } });
    player.selectVariantTrack(track, true);
    refreshCurrent();
  };

  player.addEventListener("error", function (event) { report("shaka error " + describeShakaError(event.detail)); });
  player.addEventListener("adaptation", refreshCurrent);
  player.addEventListener("variantchanged", refreshCurrent);

  player.attach(video).then(function () { return player.load(state.src); }).then(function () {
    var seen = {};
    setRepresentations(videoVariants().filter(function (t) {
      var id = representationId(t);
      return seen[id] ? false : (seen[id] = true);
    }).map(function (t) {
      return { id: representationId(t), width: t.width, height: t.height, bandwidth: t.videoBandwidth || t.bandwidth };
    }).sort(function (a, b) { return a.bandwidth - b.bandwidth; }));
    refreshCurrent();
    state.ready = true;
    return video.play().catch(function (e) { report("play() rejected: " + e); });
  }).catch(function (e) { report("shaka load failed: " + describeShakaError(e)); });
`
