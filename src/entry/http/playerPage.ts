// The /player page: a muted <video>, a quality selector and `window.__player` (state for browser
// tests), driven by one of three engines from installed packages: dash.js (default), Shaka Player
// (`/player?src=...&engine=shaka`, DASH or HLS) or hls.js (`&engine=hlsjs`, HLS). The page's code is web/playerPage.js with the shared player
// (web/player.js); this module only writes the markup.
import { type PlayerBundle, playerBundles } from "./playerBundles.ts"
import type { WebAssets } from "./webAssets.ts"
import type { PlayerEngineName } from "./web/types.ts"

/** `?engine=` value -> engine; absent or empty means dash.js; unknown is undefined. */
export const parsePlayerEngine = (value: string | null): PlayerEngineName | undefined => {
  if (value === null || value === "") return "dashjs"
  return Object.hasOwn(playerBundles, value) ? (value as PlayerEngineName) : undefined
}

// One static page per engine: the manifest URL is read client-side from ?src=, so nothing from the
// request is interpolated into the HTML.
const pageHtml = (name: PlayerEngineName, bundle: PlayerBundle, assets: WebAssets): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vidpipe player (${name})</title>
<link rel="stylesheet" href="${assets.url("playerPage.css")}">
<link rel="stylesheet" href="${assets.url("storyboard.css")}">
</head>
<body data-engine="${name}">
<video id="video" controls muted playsinline></video>
<div id="scrub" class="scrub-area"></div>
<div class="bar">
  <label>Quality <select id="quality"><option value="auto">auto</option></select></label>
  <label>Captions <select id="captions"><option value="-1">none</option></select></label>
  <span id="status"></span>
  <span>${name}</span>
</div>
<pre id="errors"></pre>
<script src="${bundle.route}"></script>
<script type="module" src="${assets.url("playerPage.js")}"></script>
</body>
</html>
`

/** The page of each engine. */
export const playerPages = (assets: WebAssets): Record<PlayerEngineName, string> => ({
  dashjs: pageHtml("dashjs", playerBundles.dashjs, assets),
  shaka: pageHtml("shaka", playerBundles.shaka, assets),
  hlsjs: pageHtml("hlsjs", playerBundles.hlsjs, assets)
})
