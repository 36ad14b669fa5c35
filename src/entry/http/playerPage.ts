// The /player page: dash.js from the installed `dashjs` package, a muted
// <video>, a quality selector, and `window.__player` state for browser tests.
import { createRequire } from "node:module"

export const dashJsRoute = "/_player/dash.all.min.js"

// The package's "require" export condition is the UMD bundle (defines
// `window.dashjs`); the "import" one is ESM and would need a module loader.
export const dashJsFile: string = createRequire(import.meta.url).resolve("dashjs")

/**
 * Shape of `window.__player` (read by test/support/browser.ts).
 * `errors` collects dash.js, playback and page errors as strings.
 */
export interface PlayerState {
  readonly src: string | null
  readonly ready: boolean
  readonly errors: ReadonlyArray<string>
  readonly representations: ReadonlyArray<{ id: string; width: number; height: number; bandwidth: number }>
  readonly currentRepresentation: string | null
  readonly selection: string
}

// Static page: the manifest URL is read client-side from ?src=, so nothing
// from the request is interpolated into the HTML.
export const playerPageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vidpipe player</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1rem; background: #111; color: #eee; }
  video { width: 100%; max-width: 960px; background: #000; display: block; }
  .bar { margin: .5rem 0; display: flex; gap: 1rem; align-items: center; }
  #errors { color: #f88; white-space: pre-wrap; }
</style>
</head>
<body>
<video id="video" controls muted playsinline></video>
<div class="bar">
  <label>Quality <select id="quality"><option value="auto">auto</option></select></label>
  <span id="status"></span>
</div>
<pre id="errors"></pre>
<script src="${dashJsRoute}"></script>
<script>
(function () {
  var video = document.getElementById("video");
  var quality = document.getElementById("quality");
  var status = document.getElementById("status");
  var errorsView = document.getElementById("errors");
  var state = {
    src: new URLSearchParams(location.search).get("src"),
    ready: false,
    errors: [],
    representations: [],
    currentRepresentation: null,
    selection: "auto",
    player: null,
    select: select
  };
  window.__player = state;

  function report(message) {
    state.errors.push(String(message));
    errorsView.textContent = state.errors.join("\\n");
  }
  function describeMediaError(error) {
    return error ? "code " + error.code + (error.message ? ": " + error.message : "") : "unknown";
  }
  window.addEventListener("error", function (e) { report("page error: " + e.message); });

  function select(id) {
    var player = state.player;
    if (!player) return;
    var auto = id === "auto";
    player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } });
    if (!auto) player.setRepresentationForTypeById("video", id, true);
    state.selection = id;
    quality.value = id;
  }

  if (!state.src) { report("missing ?src=<url of a manifest.mpd>"); return; }
  if (typeof dashjs === "undefined") { report("dash.js failed to load"); return; }

  var player = dashjs.MediaPlayer().create();
  var events = dashjs.MediaPlayer.events;
  state.player = player;

  player.on(events.ERROR, function (e) {
    var err = e && e.error;
    report("dash.js error " + (err ? err.code + ": " + err.message : String(e)));
  });
  player.on(events.PLAYBACK_ERROR, function (e) { report("playback error " + describeMediaError(e.error)); });
  video.addEventListener("error", function () { report("video error " + describeMediaError(video.error)); });

  player.on(events.STREAM_INITIALIZED, function () {
    state.representations = player.getRepresentationsByType("video").map(function (r) {
      return { id: r.id, width: r.width, height: r.height, bandwidth: r.bandwidth };
    });
    state.representations.forEach(function (r) {
      var option = document.createElement("option");
      option.value = r.id;
      option.textContent = r.id + " (" + r.width + "x" + r.height + ", " + Math.round(r.bandwidth / 1000) + " kbps)";
      quality.appendChild(option);
    });
    state.ready = true;
  });
  player.on(events.QUALITY_CHANGE_RENDERED, function (e) {
    if (e.mediaType === "video" && e.newRepresentation) state.currentRepresentation = e.newRepresentation.id;
  });
  video.addEventListener("timeupdate", function () {
    status.textContent = video.currentTime.toFixed(1) + " s, " + video.videoWidth + "x" + video.videoHeight +
      (state.currentRepresentation ? " (" + state.currentRepresentation + ")" : "");
  });
  quality.addEventListener("change", function () { select(quality.value); });

  player.initialize(video, state.src, true);
})();
</script>
</body>
</html>
`
