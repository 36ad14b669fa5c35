// Browser script of the web app page (see webApp.ts). Plain ES2017 in one IIFE, no build
// step, no external network: it talks to the same-origin /v1 API with the pasted key,
// uploads with XMLHttpRequest (for upload progress), polls the job, and plays a ready job
// with dash.js (loaded by the page from the /player bundle route, `window.dashjs`).
//
// Every value from the server or the user reaches the DOM through textContent or
// attributes, never as markup.
//
// `window.__vidpipe` is for browser tests (test/webApp.e2e.test.ts); its player fields are
// named as on the /player page's `window.__player` (representations, currentRepresentation,
// selection, select).

/** Shape of `window.__vidpipe`. */
export interface WebAppState {
  /** The job shown in the job panel (just uploaded, or opened from the list). */
  readonly jobId: string | null
  readonly status: "awaiting-upload" | "queued" | "processing" | "ready" | "failed" | null
  /** Overall progress of the shown job, 0..1. */
  readonly progress: number
  /** The last JobView received for the shown job. */
  readonly job: unknown
  /** Fraction of the file the last upload from this page has sent, 0..1. */
  readonly uploadProgress: number
  /** Everything that went wrong since the page loaded (API, upload, job failures, player, page errors). */
  readonly errors: ReadonlyArray<string>
  /** dash.js has initialized the stream of a ready job (representations are known). */
  readonly playerReady: boolean
  readonly src: string | null
  readonly representations: ReadonlyArray<{ id: string; width: number; height: number; bandwidth: number }>
  /** The video representation on screen (dash.js QUALITY_CHANGE_RENDERED). */
  readonly currentRepresentation: string | null
  /** "auto" or a pinned representation id. */
  readonly selection: string
  readonly videoWidth: number
  readonly videoHeight: number
  readonly currentTime: number
  /** Pins a video representation (or "auto" for ABR); false if there is no player or no such id. */
  readonly select: (id: string) => boolean
}

export const webAppScript = String.raw`
(function () {
  "use strict";
  var KEY_STORAGE = "vidpipe.apiKey";
  var POLL_MS = 1000;
  var TERMINAL = { ready: true, failed: true };
  var STATUS_TEXT = {
    "awaiting-upload": "awaiting upload", queued: "queued", processing: "processing", ready: "ready", failed: "failed",
    running: "running", done: "done"
  };

  function $(id) { return document.getElementById(id); }
  var el = {
    key: $("api-key"), keyToggle: $("key-toggle"), keyForget: $("key-forget"), keyForm: $("key-form"), keyMessage: $("key-message"),
    uploadForm: $("upload-form"), file: $("file"), ladder: $("ladder"), upload: $("upload"),
    uploadRow: $("upload-row"), uploadBar: $("upload-progress"), uploadText: $("upload-progress-text"), uploadMessage: $("upload-message"),
    jobPanel: $("job-panel"), jobTitle: $("job-title"), jobStatus: $("job-status"), jobMeta: $("job-meta"),
    jobBar: $("job-progress"), jobPercent: $("job-progress-text"), tasks: $("tasks-body"), jobError: $("job-error"),
    jobMessage: $("job-message"), retry: $("job-retry"), close: $("job-close"),
    playerArea: $("player-area"), video: $("video"), quality: $("quality"), playerStatus: $("player-status"),
    playerLink: $("player-link"), playerErrors: $("player-errors"),
    jobsList: $("jobs-list"), jobsMessage: $("jobs-message"), jobsRefresh: $("jobs-refresh"), jobsMore: $("jobs-more")
  };
  var video = el.video;

  var state = {
    jobId: null, status: null, progress: 0, job: null, uploadProgress: 0, errors: [],
    playerReady: false, src: null, representations: [], currentRepresentation: null, selection: "auto",
    player: null,
    get videoWidth() { return video.videoWidth; },
    get videoHeight() { return video.videoHeight; },
    get currentTime() { return video.currentTime; },
    select: select
  };
  window.__vidpipe = state;

  function report(message) {
    state.errors.push(String(message));
    if (window.console) console.warn("vidpipe:", String(message));
  }
  window.addEventListener("error", function (e) { report("page error: " + e.message); });

  function say(node, text, kind) {
    node.textContent = text || "";
    node.className = "message" + (kind ? " " + kind : "");
  }
  function percent(fraction) { return Math.floor(Math.max(0, Math.min(1, fraction || 0)) * 100) + "%"; }
  function bytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
    if (n < 1024 * 1024 * 1024) return (n / 1024 / 1024).toFixed(1) + " MB";
    return (n / 1024 / 1024 / 1024).toFixed(2) + " GB";
  }
  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    var sameDay = d.toDateString() === new Date().toDateString();
    return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
  }
  function node(tag, className, text) {
    var n = document.createElement(tag);
    if (className) n.className = className;
    if (text !== undefined && text !== null) n.textContent = text;
    return n;
  }
  function badge(status) { return node("span", "badge " + status, STATUS_TEXT[status] || status); }

  // ---------------------------------------------------------------- API key
  function currentKey() { return el.key.value.trim(); }
  try { el.key.value = localStorage.getItem(KEY_STORAGE) || ""; } catch (e) { /* storage disabled */ }
  var keyTimer = null;
  el.key.addEventListener("input", function () {
    var key = currentKey();
    try { if (key) localStorage.setItem(KEY_STORAGE, key); else localStorage.removeItem(KEY_STORAGE); } catch (e) { /* ignore */ }
    el.key.removeAttribute("aria-invalid");
    clearTimeout(keyTimer);
    keyTimer = setTimeout(function () { keyTimer = null; keyChanged(); }, 500);
  });
  // A key change not acted on yet (the pause after typing) is acted on now, before a request with
  // the new key: else the delayed reaction would clear that request's answer (a refusal flickered).
  function settleKey() {
    if (keyTimer === null) return false;
    clearTimeout(keyTimer);
    keyTimer = null;
    keyChanged();
    return true;
  }
  el.keyForm.addEventListener("submit", function (e) { e.preventDefault(); if (!settleKey()) keyChanged(); });
  el.keyToggle.addEventListener("click", function () {
    var show = el.key.type === "password";
    el.key.type = show ? "text" : "password";
    el.keyToggle.textContent = show ? "Hide" : "Show";
    el.keyToggle.setAttribute("aria-pressed", String(show));
  });
  el.keyForget.addEventListener("click", function () {
    el.key.value = "";
    try { localStorage.removeItem(KEY_STORAGE); } catch (e) { /* ignore */ }
    keyChanged();
    el.key.focus();
  });
  function keyChanged() {
    if (!currentKey()) {
      say(el.keyMessage, "Paste the API key that vidpipe serve printed (kept in this browser's local storage).", "info");
      clearJobsList("No API key yet.");
      return;
    }
    say(el.keyMessage, "");
    refreshJobs(false);
    if (state.jobId && !TERMINAL[state.status]) watch(state.jobId);
  }
  function keyRejected(err) {
    el.key.setAttribute("aria-invalid", "true");
    say(el.keyMessage, explain(err), "error");
  }
  function keyAccepted() {
    if (el.key.getAttribute("aria-invalid") === "true") say(el.keyMessage, "");
    el.key.removeAttribute("aria-invalid");
  }

  // ---------------------------------------------------------------- HTTP
  // Errors are plain objects { status, tag, message, field? }; status 0 means no response.
  function failure(status, text, during) {
    var body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
    var error = body && body.error ? body.error : null;
    return {
      status: status,
      tag: error && error._tag ? String(error._tag) : "HttpError",
      message: error && error.message ? String(error.message) : (text && text.length < 300 ? text.trim() : ""),
      field: error && error.field ? String(error.field) : null,
      during: during || "api"
    };
  }
  function explain(err) {
    var detail = err.message ? ": " + err.message : "";
    var field = err.field ? " (field " + err.field + ")" : "";
    switch (err.status) {
      case 0: return err.message || "Could not reach the server.";
      case 401: return "The API key was not accepted (401)" + detail + ". Paste the key that vidpipe serve printed.";
      case 403:
        if (err.tag === "RequestExpired") return "The upload link expired before the upload started (403). Choose Upload again.";
        if (err.during === "upload") return "The upload was refused (403)" + detail + ".";
        if (err.tag === "InvalidApiKey") return "The API key was refused (403)" + detail + ". Paste the key that vidpipe serve printed.";
        return "This API key is not allowed to do that (403)" + detail + ".";
      case 400: return (err.during === "upload" ? "The upload was rejected (400)" : "The request was rejected (400)") + detail + field + ".";
      case 404: return "Not found (404)" + detail + ".";
      case 409: return "Not possible right now (409)" + detail + ".";
      case 413: return "The file is too large (413)" + detail + ".";
      default:
        return (err.status >= 500 ? "Server error (" : "Request failed (") + err.status + ")" + detail + field + ".";
    }
  }
  function isKeyProblem(err) { return err.during !== "upload" && (err.status === 401 || err.status === 403); }

  function api(method, path, body) {
    var key = currentKey();
    if (!key) return Promise.reject({ status: 0, tag: "NoKey", message: "Paste your API key first.", field: null, during: "api" });
    var headers = { "x-api-key": key, accept: "application/json" };
    var init = { method: method, headers: headers, cache: "no-store" };
    if (body !== undefined) { headers["content-type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (response) {
      return response.text().then(function (text) {
        if (!response.ok) throw failure(response.status, text, "api");
        keyAccepted();
        if (!text) return null;
        try { return JSON.parse(text); } catch (e) { throw { status: response.status, tag: "BadJson", message: "the server sent something that is not JSON", field: null, during: "api" }; }
      });
    }, function (cause) {
      throw { status: 0, tag: "NetworkError", message: "Could not reach the server (" + (cause && cause.message || cause) + ").", field: null, during: "api" };
    });
  }

  // ---------------------------------------------------------------- upload
  // Headers a page may not set (the browser sets Content-Length itself for a File body).
  var FORBIDDEN = /^(content-length|host|connection|keep-alive|transfer-encoding|upgrade|te|trailer|expect|date|cookie2?|origin|referer|via|accept-charset|accept-encoding|access-control-request-.*|proxy-.*|sec-.*)$/i;
  var uploading = false;
  var uploadXhr = null;

  function parseLadder(text) {
    var parts = text.split(/[\s,]+/).filter(function (p) { return p !== ""; });
    if (parts.length === 0) return undefined;
    var rungs = parts.map(function (p) { return /^\d+$/.test(p.replace(/p$/i, "")) ? Number(p.replace(/p$/i, "")) : NaN; });
    if (rungs.some(function (r) { return !(r >= 2 && r <= 8640); })) return null;
    return rungs;
  }

  function setUploadProgress(fraction, text) {
    state.uploadProgress = fraction;
    el.uploadRow.hidden = false;
    el.uploadBar.value = fraction;
    el.uploadBar.className = fraction >= 1 ? "done" : "";
    el.uploadText.textContent = text;
  }

  el.uploadForm.addEventListener("submit", function (e) {
    e.preventDefault();
    if (uploading) return;
    say(el.uploadMessage, "");
    var file = el.file.files && el.file.files[0];
    if (!currentKey()) { say(el.uploadMessage, "Paste your API key first (at the top of the page).", "error"); el.key.focus(); return; }
    if (!file) { say(el.uploadMessage, "Choose a video file first.", "error"); el.file.focus(); return; }
    var ladder = parseLadder(el.ladder.value);
    if (ladder === null) {
      say(el.uploadMessage, "The ladder is a list of short sides such as 1080,720,480,360.", "error");
      el.ladder.setAttribute("aria-invalid", "true");
      el.ladder.focus();
      return;
    }
    el.ladder.removeAttribute("aria-invalid");
    upload(file, ladder);
  });

  function upload(file, ladder) {
    uploading = true;
    el.upload.disabled = true;
    setUploadProgress(0, "creating the job…");
    var request = { fileName: file.name, contentLength: file.size };
    if (file.type) request.contentType = file.type;
    if (ladder) request.ladder = ladder;
    var jobId = null;
    api("POST", "/v1/jobs", request).then(function (created) {
      jobId = created.jobId;
      showJob(jobId, { jobId: jobId, status: "awaiting-upload", fileName: file.name, progress: 0, tasks: [] });
      refreshJobs(false);
      setUploadProgress(0, "0% of " + bytes(file.size));
      return put(created.upload, file);
    }).then(function () {
      setUploadProgress(1, "uploaded " + bytes(file.size));
      say(el.uploadMessage, "Uploaded " + file.name + ".", "info");
      el.file.value = "";
      if (jobId === state.jobId) watch(jobId);
      refreshJobs(false);
    }).catch(function (err) {
      var message = explain(err);
      report((err.during === "upload" ? "upload: " : "create job: ") + message);
      say(el.uploadMessage, message, "error");
      if (isKeyProblem(err)) keyRejected(err);
      el.uploadText.textContent = "upload failed";
      el.uploadBar.className = "failed";
      if (jobId !== null && jobId === state.jobId) watch(jobId);
    }).then(function () {
      uploading = false;
      uploadXhr = null;
      el.upload.disabled = false;
    });
  }

  function put(target, file) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      uploadXhr = xhr;
      xhr.open(target.method || "PUT", target.url);
      var headers = target.headers || {};
      Object.keys(headers).forEach(function (name) {
        if (!FORBIDDEN.test(name)) xhr.setRequestHeader(name, String(headers[name]));
      });
      xhr.upload.onprogress = function (e) {
        var total = e.lengthComputable ? e.total : file.size;
        if (total > 0 && e.loaded < total) setUploadProgress(e.loaded / total, percent(e.loaded / total) + " of " + bytes(total));
      };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) resolve();
        else reject(failure(xhr.status, xhr.responseText, "upload"));
      };
      xhr.onerror = function () { reject({ status: 0, tag: "NetworkError", message: "The upload was cut off (network error).", field: null, during: "upload" }); };
      xhr.onabort = function () { reject({ status: 0, tag: "Aborted", message: "The upload was cancelled.", field: null, during: "upload" }); };
      xhr.send(file);
    });
  }

  // ---------------------------------------------------------------- the shown job
  var pollTimer = null;
  var pollGeneration = 0;
  var reportedFailure = null;

  function stopWatching() { pollGeneration++; clearTimeout(pollTimer); pollTimer = null; }

  function showJob(jobId, view) {
    if (state.jobId !== jobId) {
      stopWatching();
      stopPlayer();
      state.jobId = jobId;
      state.status = null;
      state.progress = 0;
      state.job = null;
      say(el.jobMessage, "");
      el.jobPanel.hidden = false;
      try { history.replaceState(null, "", "#job=" + encodeURIComponent(jobId)); } catch (e) { /* ignore */ }
      markCurrentInList();
    }
    if (view) renderJob(view);
  }

  function closeJob() {
    stopWatching();
    stopPlayer();
    state.jobId = null; state.status = null; state.progress = 0; state.job = null;
    el.jobPanel.hidden = true;
    try { history.replaceState(null, "", location.pathname + location.search); } catch (e) { /* ignore */ }
    markCurrentInList();
  }
  el.close.addEventListener("click", closeJob);

  function watch(jobId) {
    stopWatching();
    var generation = pollGeneration;
    var tick = function () {
      api("GET", "/v1/jobs/" + encodeURIComponent(jobId)).then(function (job) {
        if (generation !== pollGeneration) return;
        say(el.jobMessage, "");
        renderJob(job);
        // A job nobody is uploading to from this page changes rarely: look less often.
        if (!TERMINAL[job.status]) pollTimer = setTimeout(tick, job.status === "awaiting-upload" && !uploading ? POLL_MS * 5 : POLL_MS);
      }, function (err) {
        if (generation !== pollGeneration) return;
        var message = explain(err);
        say(el.jobMessage, message, "error");
        report("job " + jobId + ": " + message);
        if (isKeyProblem(err)) { keyRejected(err); return; }
        if (err.status === 404 || err.tag === "NoKey") return;
        pollTimer = setTimeout(tick, POLL_MS * 3);
      });
    };
    tick();
  }

  function renderJob(job) {
    var previous = state.status;
    state.job = job;
    state.status = job.status;
    state.progress = job.progress || 0;

    el.jobTitle.textContent = job.fileName || job.jobId;
    el.jobTitle.title = job.fileName || "";
    el.jobStatus.replaceChildren(badge(job.status));
    var meta = "job " + job.jobId;
    if (job.createdAt) meta += " · created " + when(job.createdAt);
    if (job.renditions && job.renditions.length > 0) {
      meta += " · " + job.renditions.map(function (r) { return r.width + "x" + r.height; }).join(", ");
    }
    el.jobMeta.textContent = meta;
    el.jobBar.value = state.progress;
    el.jobBar.className = job.status === "ready" ? "done" : job.status === "failed" ? "failed" : "";
    el.jobPercent.textContent = percent(state.progress);
    renderTasks(job.tasks || [], job.status);

    var failed = job.status === "failed";
    el.retry.hidden = !failed;
    if (failed) {
      var reason = failureReason(job);
      el.jobError.hidden = false;
      el.jobError.textContent = "Failed: " + reason;
      if (reportedFailure !== job.jobId) { reportedFailure = job.jobId; report("job " + job.jobId + " failed: " + reason); }
    } else {
      el.jobError.hidden = true;
      el.jobError.textContent = "";
    }

    if (job.status === "ready" && job.playback && state.src !== absolute(job.playback.manifest)) {
      startPlayer(absolute(job.playback.manifest), job.playback.player);
    }
    if (previous !== null && previous !== job.status) refreshJobs(false);
    updateListEntry(job);
  }

  // The manifest may be relative to this page (no public URL configured) or on a CDN origin.
  function absolute(url) {
    try { return new URL(url, location.href).href; } catch (e) { return url; }
  }

  function failureReason(job) {
    if (job.error) return job.error.message + (job.error._tag ? " (" + job.error._tag + ")" : "");
    var failedTask = (job.tasks || []).filter(function (t) { return t.error; })[0];
    if (failedTask) return failedTask.label + ": " + failedTask.error.message;
    return "no reason given";
  }

  function renderTasks(tasks, jobStatus) {
    var rows = tasks.map(function (task) {
      var tr = document.createElement("tr");
      var name = node("td");
      name.appendChild(node("span", null, task.label));
      if (task.error) {
        name.appendChild(document.createElement("br"));
        name.appendChild(node("span", "task-error", task.error.message));
      }
      var status = node("td");
      status.appendChild(badge(task.status));
      var bar = node("td", "bar");
      var progress = document.createElement("progress");
      progress.max = 1;
      progress.value = task.progress || 0;
      progress.className = task.status === "done" ? "done" : task.status === "failed" ? "failed" : "";
      progress.setAttribute("aria-label", task.label + " progress");
      bar.appendChild(progress);
      tr.appendChild(name);
      tr.appendChild(status);
      tr.appendChild(bar);
      tr.appendChild(node("td", "num", percent(task.progress)));
      tr.appendChild(node("td", "num", String(task.attempts)));
      return tr;
    });
    if (rows.length === 0) {
      var tr = document.createElement("tr");
      var td = node("td", "empty", jobStatus === "awaiting-upload" ? "Tasks appear once the upload is in." : jobStatus === "failed" ? "No tasks." : "Planning…");
      td.colSpan = 5;
      tr.appendChild(td);
      rows.push(tr);
    }
    el.tasks.replaceChildren.apply(el.tasks, rows);
  }

  el.retry.addEventListener("click", function () {
    var jobId = state.jobId;
    if (!jobId) return;
    el.retry.disabled = true;
    api("POST", "/v1/jobs/" + encodeURIComponent(jobId) + "/retry").then(function () {
      reportedFailure = null;
      say(el.jobMessage, "Retrying.", "info");
      watch(jobId);
      refreshJobs(false);
    }, function (err) {
      var message = explain(err);
      say(el.jobMessage, message, "error");
      report("retry " + jobId + ": " + message);
      if (isKeyProblem(err)) keyRejected(err);
    }).then(function () { el.retry.disabled = false; });
  });

  // ---------------------------------------------------------------- player (dash.js)
  function playerError(message) {
    report(message);
    el.playerErrors.textContent = state.errors.filter(function (m) { return /^(dash\.js|playback|video)/.test(m); }).slice(-3).join("\n");
  }
  function describeMediaError(error) {
    return error ? "code " + error.code + (error.message ? ": " + error.message : "") : "unknown";
  }
  video.addEventListener("error", function () { if (state.src) playerError("video error " + describeMediaError(video.error)); });
  video.addEventListener("timeupdate", updatePlayerStatus);
  video.addEventListener("resize", updatePlayerStatus);
  el.quality.addEventListener("change", function () { select(el.quality.value); });

  function updatePlayerStatus() {
    if (!state.src) { el.playerStatus.textContent = ""; return; }
    el.playerStatus.textContent = video.currentTime.toFixed(1) + " s · " + video.videoWidth + "x" + video.videoHeight +
      (state.currentRepresentation ? " (" + state.currentRepresentation + ")" : "");
  }

  function resetQualityOptions() {
    var auto = node("option", null, "auto");
    auto.value = "auto";
    el.quality.replaceChildren(auto);
    el.quality.value = "auto";
    el.quality.disabled = true;
  }

  function stopPlayer() {
    var player = state.player;
    state.player = null;
    state.playerReady = false;
    state.src = null;
    state.representations = [];
    state.currentRepresentation = null;
    state.selection = "auto";
    resetQualityOptions();
    el.playerErrors.textContent = "";
    el.playerArea.hidden = true;
    if (player) { try { player.destroy(); } catch (e) { /* already gone */ } }
    video.removeAttribute("src");
    try { video.load(); } catch (e) { /* ignore */ }
    updatePlayerStatus();
  }

  function startPlayer(manifest, playerPage) {
    stopPlayer();
    state.src = manifest;
    el.playerArea.hidden = false;
    if (playerPage) { el.playerLink.href = playerPage; el.playerLink.hidden = false; } else el.playerLink.hidden = true;
    if (typeof dashjs === "undefined") { playerError("dash.js failed to load"); return; }
    var player = dashjs.MediaPlayer().create();
    var events = dashjs.MediaPlayer.events;
    state.player = player;
    var current = function () { return state.player === player; };
    player.on(events.ERROR, function (e) {
      if (!current()) return;
      var err = e && e.error;
      playerError("dash.js error " + (err ? err.code + ": " + err.message : String(e)));
    });
    player.on(events.PLAYBACK_ERROR, function (e) { if (current()) playerError("playback error " + describeMediaError(e.error)); });
    player.on(events.STREAM_INITIALIZED, function () {
      if (!current()) return;
      var list = player.getRepresentationsByType("video").map(function (r) {
        return { id: r.id, width: r.width, height: r.height, bandwidth: r.bandwidth };
      }).sort(function (a, b) { return b.width - a.width; });
      state.representations = list;
      resetQualityOptions();
      list.forEach(function (r) {
        var option = node("option", null, r.id + " (" + r.width + "x" + r.height + ", " + Math.round(r.bandwidth / 1000) + " kbps)");
        option.value = r.id;
        el.quality.appendChild(option);
      });
      el.quality.disabled = false;
      state.playerReady = true;
    });
    // Rendered, not just requested: fires once the new quality is on screen.
    player.on(events.QUALITY_CHANGE_RENDERED, function (e) {
      if (current() && e.mediaType === "video" && e.newRepresentation) {
        state.currentRepresentation = e.newRepresentation.id;
        updatePlayerStatus();
      }
    });
    player.initialize(video, manifest, true);
  }

  function select(id) {
    var player = state.player;
    if (!player || !state.playerReady) return false;
    var auto = id === "auto";
    if (!auto && !state.representations.some(function (r) { return r.id === id; })) return false;
    player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } });
    if (!auto) player.setRepresentationForTypeById("video", id, true);
    state.selection = id;
    el.quality.value = id;
    return true;
  }

  // ---------------------------------------------------------------- list of jobs
  var listCursor = null;
  var listLoading = false;
  var listed = {};

  function clearJobsList(text) {
    listed = {};
    listCursor = null;
    el.jobsMore.hidden = true;
    el.jobsList.replaceChildren(node("li", "empty", text));
  }

  function refreshJobs(more) {
    if (listLoading || !currentKey()) return;
    if (more && !listCursor) return;
    listLoading = true;
    el.jobsRefresh.disabled = true;
    var path = "/v1/jobs?limit=20" + (more ? "&cursor=" + encodeURIComponent(listCursor) : "");
    api("GET", path).then(function (page) {
      say(el.jobsMessage, "");
      var jobs = page && page.jobs || [];
      if (!more) { el.jobsList.replaceChildren(); listed = {}; }
      jobs.forEach(function (job) {
        if (listed[job.jobId]) return;
        var item = listItem(job);
        listed[job.jobId] = item;
        el.jobsList.appendChild(item.li);
      });
      if (!el.jobsList.firstChild) el.jobsList.appendChild(node("li", "empty", "No jobs yet. Upload a video to start one."));
      listCursor = page && page.nextCursor ? page.nextCursor : null;
      el.jobsMore.hidden = listCursor === null;
      markCurrentInList();
    }, function (err) {
      var message = explain(err);
      report("list jobs: " + message);
      // A key problem is told once, next to the key.
      if (isKeyProblem(err)) { keyRejected(err); say(el.jobsMessage, ""); clearJobsList("Jobs appear here once the API key is accepted."); }
      else say(el.jobsMessage, message, "error");
    }).then(function () {
      listLoading = false;
      el.jobsRefresh.disabled = false;
    });
  }

  function listItem(job) {
    var li = document.createElement("li");
    var open = node("button", "job-open");
    open.type = "button";
    var name = node("span", "name");
    var line = node("span", "line");
    var status = node("span");
    var meta = node("span", "meta");
    line.appendChild(status);
    line.appendChild(meta);
    open.appendChild(name);
    open.appendChild(line);
    open.addEventListener("click", function () { showJob(job.jobId); watch(job.jobId); });

    var remove = node("button", "danger", "Delete");
    remove.type = "button";
    var armed = null;
    remove.addEventListener("click", function () {
      if (armed === null) {
        remove.textContent = "Confirm";
        remove.classList.add("armed");
        remove.setAttribute("aria-label", "Confirm deleting " + (job.fileName || job.jobId));
        armed = setTimeout(disarm, 4000);
        return;
      }
      disarm();
      remove.disabled = true;
      api("DELETE", "/v1/jobs/" + encodeURIComponent(job.jobId)).then(function () {
        if (state.jobId === job.jobId) closeJob();
        li.remove();
        delete listed[job.jobId];
        refreshJobs(false);
      }, function (err) {
        var message = explain(err);
        say(el.jobsMessage, "Could not delete " + (job.fileName || job.jobId) + ": " + message, "error");
        report("delete " + job.jobId + ": " + message);
        if (isKeyProblem(err)) keyRejected(err);
        remove.disabled = false;
      });
    });
    function disarm() {
      clearTimeout(armed);
      armed = null;
      remove.textContent = "Delete";
      remove.classList.remove("armed");
      remove.setAttribute("aria-label", "Delete " + (job.fileName || job.jobId));
    }
    disarm();
    li.appendChild(open);
    li.appendChild(remove);
    var item = { li: li, open: open, name: name, status: status, meta: meta, job: job };
    fillListItem(item, job);
    return item;
  }

  function fillListItem(item, job) {
    item.job = job;
    item.name.textContent = job.fileName || job.jobId;
    item.status.replaceChildren(badge(job.status));
    var meta = when(job.createdAt);
    if (!TERMINAL[job.status] && job.status !== "awaiting-upload") meta = percent(job.progress) + " · " + meta;
    if (job.status === "failed" && job.error) meta += " · " + job.error.message;
    item.meta.textContent = meta;
    item.open.setAttribute("aria-label", (job.fileName || job.jobId) + ", " + (STATUS_TEXT[job.status] || job.status) + (meta ? ", " + meta : ""));
  }

  function updateListEntry(job) {
    var item = listed[job.jobId];
    if (item) fillListItem(item, job);
  }

  function markCurrentInList() {
    Object.keys(listed).forEach(function (id) {
      if (id === state.jobId) listed[id].open.setAttribute("aria-current", "true");
      else listed[id].open.removeAttribute("aria-current");
    });
  }

  el.jobsRefresh.addEventListener("click", function () { if (!settleKey()) refreshJobs(false); });
  el.jobsMore.addEventListener("click", function () { refreshJobs(true); });

  // Jobs started elsewhere (the CLI, another tab) move on too: refresh now and then while
  // something listed is unfinished and the page is visible.
  setInterval(function () {
    if (document.hidden || !currentKey() || el.key.getAttribute("aria-invalid") === "true") return;
    var unfinished = Object.keys(listed).some(function (id) { return !TERMINAL[listed[id].job.status]; });
    if (unfinished) refreshJobs(false);
  }, 5000);

  // ---------------------------------------------------------------- start
  resetQualityOptions();
  var linked = /^#job=(.+)$/.exec(location.hash);
  keyChanged();
  if (linked && currentKey()) {
    var id = decodeURIComponent(linked[1]);
    showJob(id);
    watch(id);
  }
})();
`
