// The /player page: a muted <video>, a quality selector and `window.__player`
// state for browser tests, driven by one of two engines from installed
// packages: dash.js (default) or Shaka Player (`/player?src=...&engine=shaka`).
import { dashJsFile, dashJsGlue, dashJsRoute } from "./dashJsPlayerScript.ts"
import { shakaFile, shakaGlue, shakaRoute } from "./shakaPlayerScript.ts"

export interface PlayerEngine {
  /** URL path the page loads the engine's bundle from. */
  readonly route: string
  /** Absolute path of that bundle inside the installed package. */
  readonly file: string
  /** Page script run inside the shared prelude (see `pageHtml`). */
  readonly glue: string
}

export const playerEngines = {
  dashjs: { route: dashJsRoute, file: dashJsFile, glue: dashJsGlue },
  shaka: { route: shakaRoute, file: shakaFile, glue: shakaGlue }
} as const satisfies Record<string, PlayerEngine>

export type PlayerEngineName = keyof typeof playerEngines

/** `?engine=` value -> engine; absent or empty means dash.js; unknown is undefined. */
export const parsePlayerEngine = (value: string | null): PlayerEngineName | undefined => {
  if (value === null || value === "") return "dashjs"
  return Object.hasOwn(playerEngines, value) ? (value as PlayerEngineName) : undefined
}

/**
 * Shape of `window.__player` (read by test/support/browser.ts), the same for
 * every engine. `errors` collects engine, playback and page errors as strings.
 */
export interface PlayerState {
  readonly engine: PlayerEngineName
  readonly src: string | null
  readonly ready: boolean
  readonly errors: ReadonlyArray<string>
  readonly representations: ReadonlyArray<{ id: string; width: number; height: number; bandwidth: number }>
  readonly currentRepresentation: string | null
  readonly selection: string
}

// Static pages (one per engine): the manifest URL is read client-side from
// ?src=, so nothing from the request is interpolated into the HTML.
const pageHtml = (name: PlayerEngineName, engine: PlayerEngine): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vidpipe player (${name})</title>
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
  <span>${name}</span>
</div>
<pre id="errors"></pre>
<script src="${engine.route}"></script>
<script>
(function () {
  var video = document.getElementById("video");
  var quality = document.getElementById("quality");
  var status = document.getElementById("status");
  var errorsView = document.getElementById("errors");
  // Assigned by the engine glue: function (id | "auto"), false if it refused.
  var selectEngine = null;
  var state = {
    engine: ${JSON.stringify(name)},
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
  video.addEventListener("error", function () { report("video error " + describeMediaError(video.error)); });

  function select(id) {
    if (!state.player || !selectEngine) return;
    if (selectEngine(id) === false) return;
    state.selection = id;
    quality.value = id;
  }
  function setRepresentations(list) {
    state.representations = list;
    list.forEach(function (r) {
      var option = document.createElement("option");
      option.value = r.id;
      option.textContent = r.id + " (" + r.width + "x" + r.height + ", " + Math.round(r.bandwidth / 1000) + " kbps)";
      quality.appendChild(option);
    });
  }
  video.addEventListener("timeupdate", function () {
    status.textContent = video.currentTime.toFixed(1) + " s, " + video.videoWidth + "x" + video.videoHeight +
      (state.currentRepresentation ? " (" + state.currentRepresentation + ")" : "");
  });
  quality.addEventListener("change", function () { select(quality.value); });

  if (!state.src) { report("missing ?src=<url of a manifest.mpd>"); return; }
${engine.glue}
})();
</script>
</body>
</html>
`

const pages: Record<PlayerEngineName, string> = {
  dashjs: pageHtml("dashjs", playerEngines.dashjs),
  shaka: pageHtml("shaka", playerEngines.shaka)
}

export const playerPageHtml = (engine: PlayerEngineName = "dashjs"): string => pages[engine]
