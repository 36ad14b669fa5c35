// GET / : the web app of `vidpipe serve`. With the pasted API key (kept in localStorage) it
// creates a job (POST /v1/jobs), uploads the file to the signed same-origin URL with
// XMLHttpRequest (real upload progress; a large file in parts, a few at a time, resumable after a
// reload by choosing the same file again), polls GET /v1/jobs/{id} every second (overall and
// per-task progress, the failure reason), plays a ready job with dash.js and a quality
// selector, and lists earlier jobs (open, delete, retry). No external network.
//
// This module writes the markup only: the code and the styles are web/app.js (with the player
// shared with the /player page, web/player.js) and web/app.css, served by the player routes
// (presentationServer.ts, `playerRoutes`, which `vidpipe serve` mounts beside this one), as is
// the dash.js and hls.js bundles.
import { Effect } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { playerBundles } from "./playerBundles.ts"
import { loadWebAssets, type WebAssets } from "./webAssets.ts"

// Static for a given version of the assets: nothing from the request is interpolated (the job
// comes from #job=<id>, read client-side).
export const webAppHtml = (assets: WebAssets): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vidpipe</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assets.url("app.css")}">
<link rel="stylesheet" href="${assets.url("storyboard.css")}">
</head>
<body>
<header class="top">
  <h1>vidpipe</h1>
  <form id="key-form" class="key" autocomplete="off">
    <label for="api-key">API key</label>
    <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false"
      placeholder="paste the key printed by vidpipe serve" aria-describedby="key-message">
    <button type="button" id="key-toggle" aria-pressed="false" aria-controls="api-key">Show</button>
    <button type="button" id="key-forget">Forget</button>
  </form>
  <p id="key-message" class="message" role="status" aria-live="polite"></p>
</header>
<main class="layout">
  <div class="primary">
    <section class="card" aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload a video</h2>
      <div id="resume-notice" class="resume" hidden>
        <p id="resume-text" role="status" aria-live="polite"></p>
        <button type="button" id="resume-discard">Discard it</button>
      </div>
      <form id="upload-form" novalidate>
        <div class="field">
          <label for="file">Video file</label>
          <input id="file" name="file" type="file" accept="video/*,.mp4,.m4v,.mov,.mkv,.webm,.avi,.ts">
        </div>
        <div class="field">
          <label for="ladder">Ladder <span class="hint">(short sides, optional)</span></label>
          <input id="ladder" name="ladder" type="text" inputmode="numeric" autocomplete="off" placeholder="1080,720,480,360">
        </div>
        <button type="submit" id="upload" class="primary">Upload</button>
      </form>
      <div id="upload-row" class="upload-progress" hidden>
        <label for="upload-progress">Upload</label>
        <progress id="upload-progress" max="1" value="0"></progress>
        <span id="upload-progress-text"></span>
      </div>
      <p id="upload-message" class="message" role="status" aria-live="polite"></p>
    </section>

    <section id="job-panel" class="card" aria-labelledby="job-title" hidden>
      <div class="job-head">
        <h2 id="job-title">Job</h2>
        <span id="job-status"></span>
        <div class="actions">
          <button type="button" id="job-retry" hidden>Retry</button>
          <button type="button" id="job-close" aria-label="Close this job">Close</button>
        </div>
      </div>
      <p id="job-meta" class="meta"></p>
      <div class="overall">
        <label for="job-progress">Overall</label>
        <progress id="job-progress" max="1" value="0"></progress>
        <span id="job-progress-text"></span>
      </div>
      <p id="job-error" class="message error" role="alert" hidden></p>
      <p id="job-message" class="message" role="status" aria-live="polite"></p>
      <div id="player-area" class="player" hidden>
        <video id="video" controls muted playsinline></video>
        <div id="scrub" class="scrub-area"></div>
        <div class="player-bar">
          <label for="quality">Quality</label>
          <select id="quality"><option value="auto">auto</option></select>
          <label for="format">Format</label>
          <select id="format"><option value="dash">DASH (dash.js)</option><option value="hls">HLS (hls.js)</option></select>
          <label for="captions">Captions</label>
          <select id="captions"><option value="-1">none</option></select>
          <span id="player-status" aria-live="off"></span>
          <a id="player-link" target="_blank" rel="noopener" hidden>Open in the player page</a>
        </div>
        <p id="player-errors" class="message error" role="alert"></p>
      </div>
      <table>
        <caption class="sr-only">Tasks of this job</caption>
        <thead><tr><th scope="col">Task</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col" class="num"><span class="sr-only">Percent</span></th><th scope="col" class="num">Attempts</th></tr></thead>
        <tbody id="tasks-body"></tbody>
      </table>
    </section>
  </div>

  <aside class="card" aria-labelledby="jobs-heading">
    <div class="jobs-head">
      <h2 id="jobs-heading">Jobs</h2>
      <button type="button" id="jobs-refresh">Refresh</button>
    </div>
    <p id="jobs-message" class="message" role="status" aria-live="polite"></p>
    <ul id="jobs-list" aria-labelledby="jobs-heading"></ul>
    <button type="button" id="jobs-more" hidden>Load more</button>
  </aside>
</main>
<script src="${playerBundles.dashjs.route}"></script>
<script src="${playerBundles.hlsjs.route}"></script>
<script type="module" src="${assets.url("app.js")}"></script>
</body>
</html>
`

/** `GET /` (the page only; the API, upload, /cdn, the assets and the dash.js bundle are mounted elsewhere). */
export const webAppRoutes = HttpRouter.use(Effect.fnUntraced(function*(router) {
  const html = webAppHtml(yield* loadWebAssets)
  yield* router.add(
    "GET",
    "/",
    HttpServerResponse.html(html).pipe(
      HttpServerResponse.setHeaders({
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        // No framing (the page holds an API key); scripts, styles and connections are the page's
        // own or same-origin, except media and manifests, which may come from a CDN origin.
        "content-security-policy": "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"
      })
    )
  )
}))
