// @ts-check
// The web app of `vidpipe serve` (the page is webApp.ts). No build step, no external network: it
// talks to the same-origin /v1 API with the pasted key, uploads with XMLHttpRequest (for upload
// progress), polls the job, and plays a ready job with the shared player (player.js, dash.js).
//
// Every value from the server or the user reaches the DOM through textContent or attributes,
// never as markup.
//
// `window.__vidpipe` is for browser tests (test/e2e/webApp.e2e.test.ts; types.ts, WebAppState); its
// player fields are the /player page's (`window.__player`), kept by the same player module.
import { element } from "./dom.js"
import { createPlayer } from "./player.js"

/**
 * @typedef {import("./types.ts").CreatedJob} CreatedJob
 * @typedef {import("./types.ts").JobListPage} JobListPage
 * @typedef {import("./types.ts").JobStatus} JobStatus
 * @typedef {import("./types.ts").JobSummary} JobSummary
 * @typedef {import("./types.ts").TaskSummary} TaskSummary
 * @typedef {import("./types.ts").WebAppState} WebAppState
 */

/**
 * What went wrong with a request; status 0 means no response.
 * @typedef {object} Failure
 * @property {number} status
 * @property {string} tag
 * @property {string} message
 * @property {string | null} field
 * @property {"api" | "upload"} during
 */

/**
 * One job in the list of jobs.
 * @typedef {object} ListItem
 * @property {HTMLLIElement} li
 * @property {HTMLButtonElement} open
 * @property {HTMLElement} name
 * @property {HTMLElement} status
 * @property {HTMLElement} meta
 * @property {JobSummary} job
 */

const KEY_STORAGE = "vidpipe.apiKey"
const POLL_MS = 1000
/** @type {Record<string, string>} */
const STATUS_TEXT = {
  "awaiting-upload": "awaiting upload", queued: "queued", processing: "processing", ready: "ready", failed: "failed",
  running: "running", done: "done"
}
/** @param {JobStatus | null} status */
const isTerminal = (status) => status === "ready" || status === "failed"

/** @type {Array<string>} */
const errors = []
/** @param {string} message */
function report(message) {
  errors.push(String(message))
  console.warn("vidpipe:", String(message))
}
window.addEventListener("error", (e) => report("page error: " + e.message))

const el = {
  key: element("api-key", HTMLInputElement),
  keyToggle: element("key-toggle", HTMLButtonElement),
  keyForget: element("key-forget", HTMLButtonElement),
  keyForm: element("key-form", HTMLFormElement),
  keyMessage: element("key-message", HTMLElement),
  uploadForm: element("upload-form", HTMLFormElement),
  file: element("file", HTMLInputElement),
  ladder: element("ladder", HTMLInputElement),
  upload: element("upload", HTMLButtonElement),
  uploadRow: element("upload-row", HTMLElement),
  uploadBar: element("upload-progress", HTMLProgressElement),
  uploadText: element("upload-progress-text", HTMLElement),
  uploadMessage: element("upload-message", HTMLElement),
  jobPanel: element("job-panel", HTMLElement),
  jobTitle: element("job-title", HTMLElement),
  jobStatus: element("job-status", HTMLElement),
  jobMeta: element("job-meta", HTMLElement),
  jobBar: element("job-progress", HTMLProgressElement),
  jobPercent: element("job-progress-text", HTMLElement),
  tasks: element("tasks-body", HTMLTableSectionElement),
  jobError: element("job-error", HTMLElement),
  jobMessage: element("job-message", HTMLElement),
  retry: element("job-retry", HTMLButtonElement),
  close: element("job-close", HTMLButtonElement),
  playerArea: element("player-area", HTMLElement),
  video: element("video", HTMLVideoElement),
  quality: element("quality", HTMLSelectElement),
  captions: element("captions", HTMLSelectElement),
  format: element("format", HTMLSelectElement),
  scrub: element("scrub", HTMLElement),
  playerStatus: element("player-status", HTMLElement),
  playerLink: element("player-link", HTMLAnchorElement),
  playerErrors: element("player-errors", HTMLElement),
  jobsList: element("jobs-list", HTMLUListElement),
  jobsMessage: element("jobs-message", HTMLElement),
  jobsRefresh: element("jobs-refresh", HTMLButtonElement),
  jobsMore: element("jobs-more", HTMLButtonElement)
}

// The player's errors are listed under the video (the last three), and in `errors` with the rest.
/** @type {Array<string>} */
let playerMessages = []
/** @param {string} message */
function playerError(message) {
  report(message)
  playerMessages.push(message)
  el.playerErrors.textContent = playerMessages.slice(-3).join("\n")
}
const player = createPlayer({
  engine: "dashjs",
  video: el.video,
  quality: el.quality,
  captions: el.captions,
  scrub: el.scrub,
  status: el.playerStatus,
  report: playerError
})

/** @type {WebAppState} */
const state = Object.assign(player.state, {
  jobId: /** @type {string | null} */ (null),
  status: /** @type {JobStatus | null} */ (null),
  progress: 0,
  job: /** @type {JobSummary | null} */ (null),
  uploadProgress: 0,
  errors
})
Object.assign(window, { __vidpipe: state })

/**
 * @param {HTMLElement} target
 * @param {string} text
 * @param {"error" | "info"} [kind]
 */
function say(target, text, kind) {
  target.textContent = text || ""
  target.className = "message" + (kind ? " " + kind : "")
}
/** @param {number | undefined} fraction */
const percent = (fraction) => Math.floor(Math.max(0, Math.min(1, fraction || 0)) * 100) + "%"
/** @param {number} n */
function bytes(n) {
  if (n < 1024) return n + " B"
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB"
  if (n < 1024 * 1024 * 1024) return (n / 1024 / 1024).toFixed(1) + " MB"
  return (n / 1024 / 1024 / 1024).toFixed(2) + " GB"
}
/** @param {string | undefined} iso */
function when(iso) {
  const d = new Date(iso ?? "")
  if (isNaN(d.getTime())) return ""
  const sameDay = d.toDateString() === new Date().toDateString()
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString()
}
/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string | null} [className]
 * @param {string | null} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function node(tag, className, text) {
  const n = document.createElement(tag)
  if (className) n.className = className
  if (text !== undefined && text !== null) n.textContent = text
  return n
}
/** @param {string} status */
const badge = (status) => node("span", "badge " + status, STATUS_TEXT[status] || status)

// ---------------------------------------------------------------- API key
const currentKey = () => el.key.value.trim()
try { el.key.value = localStorage.getItem(KEY_STORAGE) || "" } catch { /* storage disabled */ }
/** @type {number | undefined} */
let keyTimer
el.key.addEventListener("input", () => {
  const key = currentKey()
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key)
    else localStorage.removeItem(KEY_STORAGE)
  } catch { /* ignore */ }
  el.key.removeAttribute("aria-invalid")
  clearTimeout(keyTimer)
  keyTimer = setTimeout(() => {
    keyTimer = undefined
    keyChanged()
  }, 500)
})
// A key change not acted on yet (the pause after typing) is acted on now, before a request with
// the new key: else the delayed reaction would clear that request's answer (a refusal flickered).
function settleKey() {
  if (keyTimer === undefined) return false
  clearTimeout(keyTimer)
  keyTimer = undefined
  keyChanged()
  return true
}
el.keyForm.addEventListener("submit", (e) => {
  e.preventDefault()
  if (!settleKey()) keyChanged()
})
el.keyToggle.addEventListener("click", () => {
  const show = el.key.type === "password"
  el.key.type = show ? "text" : "password"
  el.keyToggle.textContent = show ? "Hide" : "Show"
  el.keyToggle.setAttribute("aria-pressed", String(show))
})
el.keyForget.addEventListener("click", () => {
  el.key.value = ""
  try { localStorage.removeItem(KEY_STORAGE) } catch { /* ignore */ }
  keyChanged()
  el.key.focus()
})
function keyChanged() {
  if (!currentKey()) {
    say(el.keyMessage, "Paste the API key that vidpipe serve printed (kept in this browser's local storage).", "info")
    clearJobsList("No API key yet.")
    return
  }
  say(el.keyMessage, "")
  refreshJobs(false)
  if (state.jobId && !isTerminal(state.status)) watch(state.jobId)
}
/** @param {Failure} err */
function keyRejected(err) {
  el.key.setAttribute("aria-invalid", "true")
  say(el.keyMessage, explain(err), "error")
}
function keyAccepted() {
  if (el.key.getAttribute("aria-invalid") === "true") say(el.keyMessage, "")
  el.key.removeAttribute("aria-invalid")
}

// ---------------------------------------------------------------- HTTP
/**
 * @param {number} status
 * @param {string} text the response body
 * @param {Failure["during"]} during
 * @returns {Failure}
 */
function failure(status, text, during) {
  let body = null
  try { body = text ? JSON.parse(text) : null } catch { body = null }
  const error = body && body.error ? body.error : null
  return {
    status,
    tag: error && error._tag ? String(error._tag) : "HttpError",
    message: error && error.message ? String(error.message) : (text && text.length < 300 ? text.trim() : ""),
    field: error && error.field ? String(error.field) : null,
    during
  }
}
/** @param {Failure} err */
function explain(err) {
  const detail = err.message ? ": " + err.message : ""
  const field = err.field ? " (field " + err.field + ")" : ""
  switch (err.status) {
    case 0: return err.message || "Could not reach the server."
    case 401: return "The API key was not accepted (401)" + detail + ". Paste the key that vidpipe serve printed."
    case 403:
      if (err.tag === "RequestExpired") return "The upload link expired before the upload started (403). Choose Upload again."
      if (err.during === "upload") return "The upload was refused (403)" + detail + "."
      if (err.tag === "InvalidApiKey") return "The API key was refused (403)" + detail + ". Paste the key that vidpipe serve printed."
      return "This API key is not allowed to do that (403)" + detail + "."
    case 400: return (err.during === "upload" ? "The upload was rejected (400)" : "The request was rejected (400)") + detail + field + "."
    case 404: return "Not found (404)" + detail + "."
    case 409: return "Not possible right now (409)" + detail + "."
    case 413: return "The file is too large (413)" + detail + "."
    default:
      return (err.status >= 500 ? "Server error (" : "Request failed (") + err.status + ")" + detail + field + "."
  }
}
/** @param {Failure} err */
const isKeyProblem = (err) => err.during !== "upload" && (err.status === 401 || err.status === 403)

/**
 * A call to the API with the pasted key: the parsed JSON answer (null when empty), or a Failure.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
function api(method, path, body) {
  const key = currentKey()
  if (!key) return Promise.reject(/** @type {Failure} */ ({ status: 0, tag: "NoKey", message: "Paste your API key first.", field: null, during: "api" }))
  /** @type {Record<string, string>} */
  const headers = { "x-api-key": key, accept: "application/json" }
  /** @type {RequestInit} */
  const init = { method, headers, cache: "no-store" }
  if (body !== undefined) {
    headers["content-type"] = "application/json"
    init.body = JSON.stringify(body)
  }
  return fetch(path, init).then((response) =>
    response.text().then((text) => {
      if (!response.ok) throw failure(response.status, text, "api")
      keyAccepted()
      if (!text) return null
      try {
        return JSON.parse(text)
      } catch {
        throw /** @type {Failure} */ ({ status: response.status, tag: "BadJson", message: "the server sent something that is not JSON", field: null, during: "api" })
      }
    }), (cause) => {
    throw /** @type {Failure} */ ({ status: 0, tag: "NetworkError", message: "Could not reach the server (" + (cause && cause.message || cause) + ").", field: null, during: "api" })
  })
}

// ---------------------------------------------------------------- upload
// Headers a page may not set (the browser sets Content-Length itself for a File body).
const FORBIDDEN = /^(content-length|host|connection|keep-alive|transfer-encoding|upgrade|te|trailer|expect|date|cookie2?|origin|referer|via|accept-charset|accept-encoding|access-control-request-.*|proxy-.*|sec-.*)$/i
let uploading = false

/**
 * The short sides typed in the ladder field: undefined when empty, null when not a ladder.
 * @param {string} text
 * @returns {Array<number> | undefined | null}
 */
function parseLadder(text) {
  const parts = text.split(/[\s,]+/).filter((p) => p !== "")
  if (parts.length === 0) return undefined
  const rungs = parts.map((p) => /^\d+$/.test(p.replace(/p$/i, "")) ? Number(p.replace(/p$/i, "")) : NaN)
  if (rungs.some((r) => !(r >= 2 && r <= 8640))) return null
  return rungs
}

/**
 * @param {number} fraction
 * @param {string} text
 */
function setUploadProgress(fraction, text) {
  state.uploadProgress = fraction
  el.uploadRow.hidden = false
  el.uploadBar.value = fraction
  el.uploadBar.className = fraction >= 1 ? "done" : ""
  el.uploadText.textContent = text
}

el.uploadForm.addEventListener("submit", (e) => {
  e.preventDefault()
  if (uploading) return
  say(el.uploadMessage, "")
  const file = el.file.files && el.file.files[0]
  if (!currentKey()) {
    say(el.uploadMessage, "Paste your API key first (at the top of the page).", "error")
    el.key.focus()
    return
  }
  if (!file) {
    say(el.uploadMessage, "Choose a video file first.", "error")
    el.file.focus()
    return
  }
  const ladder = parseLadder(el.ladder.value)
  if (ladder === null) {
    say(el.uploadMessage, "The ladder is a list of short sides such as 1080,720,480,360.", "error")
    el.ladder.setAttribute("aria-invalid", "true")
    el.ladder.focus()
    return
  }
  el.ladder.removeAttribute("aria-invalid")
  upload(file, ladder)
})

/**
 * @param {File} file
 * @param {Array<number> | undefined} ladder
 */
function upload(file, ladder) {
  uploading = true
  el.upload.disabled = true
  setUploadProgress(0, "creating the job…")
  /** @type {{ fileName: string, contentLength: number, contentType?: string, ladder?: Array<number> }} */
  const request = { fileName: file.name, contentLength: file.size }
  if (file.type) request.contentType = file.type
  if (ladder) request.ladder = ladder
  /** @type {string | null} */
  let jobId = null
  api("POST", "/v1/jobs", request).then(/** @param {CreatedJob} created */ (created) => {
    const id = created.jobId
    jobId = id
    showJob(id, { jobId: id, status: "awaiting-upload", fileName: file.name, progress: 0, tasks: [] })
    refreshJobs(false)
    setUploadProgress(0, "0% of " + bytes(file.size))
    return put(created.upload, file)
  }).then(() => {
    setUploadProgress(1, "uploaded " + bytes(file.size))
    say(el.uploadMessage, "Uploaded " + file.name + ".", "info")
    el.file.value = ""
    if (jobId !== null && jobId === state.jobId) watch(jobId)
    refreshJobs(false)
  }).catch(/** @param {Failure} err */ (err) => {
    const message = explain(err)
    report((err.during === "upload" ? "upload: " : "create job: ") + message)
    say(el.uploadMessage, message, "error")
    if (isKeyProblem(err)) keyRejected(err)
    el.uploadText.textContent = "upload failed"
    el.uploadBar.className = "failed"
    if (jobId !== null && jobId === state.jobId) watch(jobId)
  }).then(() => {
    uploading = false
    el.upload.disabled = false
  })
}

/**
 * @param {CreatedJob["upload"]} target
 * @param {File} file
 * @returns {Promise<void>}
 */
function put(target, file) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open(target.method || "PUT", target.url)
    const headers = target.headers || {}
    for (const name of Object.keys(headers)) {
      if (!FORBIDDEN.test(name)) xhr.setRequestHeader(name, String(headers[name]))
    }
    xhr.upload.onprogress = (e) => {
      const total = e.lengthComputable ? e.total : file.size
      if (total > 0 && e.loaded < total) setUploadProgress(e.loaded / total, percent(e.loaded / total) + " of " + bytes(total))
    }
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve()
      else reject(failure(xhr.status, xhr.responseText, "upload"))
    }
    xhr.onerror = () => reject(/** @type {Failure} */ ({ status: 0, tag: "NetworkError", message: "The upload was cut off (network error).", field: null, during: "upload" }))
    xhr.onabort = () => reject(/** @type {Failure} */ ({ status: 0, tag: "Aborted", message: "The upload was cancelled.", field: null, during: "upload" }))
    xhr.send(file)
  })
}

// ---------------------------------------------------------------- the shown job
/** @type {number | undefined} */
let pollTimer
let pollGeneration = 0
/** @type {string | null} */
let reportedFailure = null

function stopWatching() {
  pollGeneration++
  clearTimeout(pollTimer)
  pollTimer = undefined
}

/**
 * Leaves the shown job (its polling and its video) for another, or for none.
 * @param {string | null} jobId
 */
function switchJob(jobId) {
  stopWatching()
  stopPlayer()
  state.jobId = jobId
  state.status = null
  state.progress = 0
  state.job = null
}

/**
 * @param {string} jobId
 * @param {JobSummary} [view]
 */
function showJob(jobId, view) {
  if (state.jobId !== jobId) {
    switchJob(jobId)
    say(el.jobMessage, "")
    el.jobPanel.hidden = false
    try { history.replaceState(null, "", "#job=" + encodeURIComponent(jobId)) } catch { /* ignore */ }
    markCurrentInList()
  }
  if (view) renderJob(view)
}

function closeJob() {
  switchJob(null)
  el.jobPanel.hidden = true
  try { history.replaceState(null, "", location.pathname + location.search) } catch { /* ignore */ }
  markCurrentInList()
}
el.close.addEventListener("click", closeJob)

/** @param {string} jobId */
function watch(jobId) {
  stopWatching()
  const generation = pollGeneration
  const tick = () => {
    api("GET", "/v1/jobs/" + encodeURIComponent(jobId)).then(/** @param {JobSummary} job */ (job) => {
      if (generation !== pollGeneration) return
      say(el.jobMessage, "")
      renderJob(job)
      // A job nobody is uploading to from this page changes rarely: look less often.
      if (!isTerminal(job.status)) pollTimer = setTimeout(tick, job.status === "awaiting-upload" && !uploading ? POLL_MS * 5 : POLL_MS)
    }, /** @param {Failure} err */ (err) => {
      if (generation !== pollGeneration) return
      const message = explain(err)
      say(el.jobMessage, message, "error")
      report("job " + jobId + ": " + message)
      if (isKeyProblem(err)) {
        keyRejected(err)
        return
      }
      if (err.status === 404 || err.tag === "NoKey") return
      pollTimer = setTimeout(tick, POLL_MS * 3)
    })
  }
  tick()
}

/** @param {JobSummary} job */
function renderJob(job) {
  const previous = state.status
  state.job = job
  state.status = job.status
  state.progress = job.progress || 0

  el.jobTitle.textContent = job.fileName || job.jobId
  el.jobTitle.title = job.fileName || ""
  el.jobStatus.replaceChildren(badge(job.status))
  let meta = "job " + job.jobId
  if (job.createdAt) meta += " · created " + when(job.createdAt)
  if (job.renditions && job.renditions.length > 0) {
    meta += " · " + job.renditions.map((r) => r.width + "x" + r.height).join(", ")
  }
  el.jobMeta.textContent = meta
  el.jobBar.value = state.progress
  el.jobBar.className = job.status === "ready" ? "done" : job.status === "failed" ? "failed" : ""
  el.jobPercent.textContent = percent(state.progress)
  renderTasks(job.tasks || [], job.status)

  const failed = job.status === "failed"
  el.retry.hidden = !failed
  if (failed) {
    const reason = failureReason(job)
    el.jobError.hidden = false
    el.jobError.textContent = "Failed: " + reason
    if (reportedFailure !== job.jobId) {
      reportedFailure = job.jobId
      report("job " + job.jobId + " failed: " + reason)
    }
  } else {
    el.jobError.hidden = true
    el.jobError.textContent = ""
  }

  if (job.status === "ready" && job.playback && state.src !== playbackOf(job.playback).src) startPlayer(job.playback)
  if (previous !== null && previous !== job.status) refreshJobs(false)
  updateListEntry(job)
}

/**
 * What the player plays of a ready job: the MPD in dash.js, or with the HLS format chosen (and a
 * master written) the HLS master in hls.js.
 * @param {NonNullable<JobSummary["playback"]>} playback
 * @returns {{ src: string, engine: import("./types.ts").PlayerEngineName }}
 */
function playbackOf(playback) {
  return el.format.value === "hls" && playback.hls !== undefined
    ? { src: absolute(playback.hls), engine: "hlsjs" }
    : { src: absolute(playback.manifest), engine: "dashjs" }
}

// The manifest may be relative to this page (no public URL configured) or on a CDN origin.
/** @param {string} url */
function absolute(url) {
  try { return new URL(url, location.href).href } catch { return url }
}

/** @param {JobSummary} job */
function failureReason(job) {
  if (job.error) return job.error.message + (job.error._tag ? " (" + job.error._tag + ")" : "")
  const failedTask = (job.tasks || []).find((t) => t.error)
  if (failedTask && failedTask.error) return failedTask.label + ": " + failedTask.error.message
  return "no reason given"
}

/**
 * @param {ReadonlyArray<TaskSummary>} tasks
 * @param {JobStatus} jobStatus
 */
function renderTasks(tasks, jobStatus) {
  const rows = tasks.map((task) => {
    const tr = document.createElement("tr")
    const name = node("td")
    name.appendChild(node("span", null, task.label))
    if (task.error) {
      name.appendChild(document.createElement("br"))
      name.appendChild(node("span", "task-error", task.error.message))
    }
    const status = node("td")
    status.appendChild(badge(task.status))
    const bar = node("td", "bar")
    const progress = document.createElement("progress")
    progress.max = 1
    progress.value = task.progress || 0
    progress.className = task.status === "done" ? "done" : task.status === "failed" ? "failed" : ""
    progress.setAttribute("aria-label", task.label + " progress")
    bar.appendChild(progress)
    tr.appendChild(name)
    tr.appendChild(status)
    tr.appendChild(bar)
    tr.appendChild(node("td", "num", percent(task.progress)))
    tr.appendChild(node("td", "num", String(task.attempts)))
    return tr
  })
  if (rows.length === 0) {
    const tr = document.createElement("tr")
    const td = node("td", "empty", jobStatus === "awaiting-upload" ? "Tasks appear once the upload is in." : jobStatus === "failed" ? "No tasks." : "Planning…")
    td.colSpan = 5
    tr.appendChild(td)
    rows.push(tr)
  }
  el.tasks.replaceChildren(...rows)
}

el.retry.addEventListener("click", () => {
  const jobId = state.jobId
  if (!jobId) return
  el.retry.disabled = true
  api("POST", "/v1/jobs/" + encodeURIComponent(jobId) + "/retry").then(() => {
    reportedFailure = null
    say(el.jobMessage, "Retrying.", "info")
    watch(jobId)
    refreshJobs(false)
  }, /** @param {Failure} err */ (err) => {
    const message = explain(err)
    say(el.jobMessage, message, "error")
    report("retry " + jobId + ": " + message)
    if (isKeyProblem(err)) keyRejected(err)
  }).then(() => { el.retry.disabled = false })
})

// ---------------------------------------------------------------- player
function stopPlayer() {
  player.stop()
  playerMessages = []
  el.playerErrors.textContent = ""
  el.playerArea.hidden = true
}

/** @param {NonNullable<JobSummary["playback"]>} playback */
function startPlayer(playback) {
  stopPlayer()
  el.playerArea.hidden = false
  if (playback.player) {
    el.playerLink.href = playback.player
    el.playerLink.hidden = false
  } else el.playerLink.hidden = true
  const { engine, src } = playbackOf(playback)
  player.play(src, {
    ...(playback.poster === undefined ? {} : { poster: absolute(playback.poster) }),
    ...(playback.storyboard === undefined ? {} : { storyboard: absolute(playback.storyboard) })
  }, engine)
}

// DASH or HLS: the shown job plays again in the other format.
el.format.addEventListener("change", () => {
  const playback = state.job && state.job.status === "ready" ? state.job.playback : undefined
  if (playback) startPlayer(playback)
})

// ---------------------------------------------------------------- list of jobs
/** @type {string | null} */
let listCursor = null
let listLoading = false
/** @type {Map<string, ListItem>} */
let listed = new Map()

/** @param {string} text */
function clearJobsList(text) {
  listed = new Map()
  listCursor = null
  el.jobsMore.hidden = true
  el.jobsList.replaceChildren(node("li", "empty", text))
}

/** @param {boolean} more the next page, rather than the first */
function refreshJobs(more) {
  if (listLoading || !currentKey()) return
  if (more && !listCursor) return
  listLoading = true
  el.jobsRefresh.disabled = true
  const path = "/v1/jobs?limit=20" + (more && listCursor ? "&cursor=" + encodeURIComponent(listCursor) : "")
  api("GET", path).then(/** @param {JobListPage | null} page */ (page) => {
    say(el.jobsMessage, "")
    const jobs = page && page.jobs || []
    if (!more) {
      el.jobsList.replaceChildren()
      listed = new Map()
    }
    for (const job of jobs) {
      if (listed.has(job.jobId)) continue
      const item = listItem(job)
      listed.set(job.jobId, item)
      el.jobsList.appendChild(item.li)
    }
    if (!el.jobsList.firstChild) el.jobsList.appendChild(node("li", "empty", "No jobs yet. Upload a video to start one."))
    listCursor = page && page.nextCursor ? page.nextCursor : null
    el.jobsMore.hidden = listCursor === null
    markCurrentInList()
  }, /** @param {Failure} err */ (err) => {
    const message = explain(err)
    report("list jobs: " + message)
    // A key problem is told once, next to the key.
    if (isKeyProblem(err)) {
      keyRejected(err)
      say(el.jobsMessage, "")
      clearJobsList("Jobs appear here once the API key is accepted.")
    } else say(el.jobsMessage, message, "error")
  }).then(() => {
    listLoading = false
    el.jobsRefresh.disabled = false
  })
}

/**
 * @param {JobSummary} job
 * @returns {ListItem}
 */
function listItem(job) {
  const li = document.createElement("li")
  const open = node("button", "job-open")
  open.type = "button"
  const name = node("span", "name")
  const line = node("span", "line")
  const status = node("span")
  const meta = node("span", "meta")
  line.appendChild(status)
  line.appendChild(meta)
  open.appendChild(name)
  open.appendChild(line)
  open.addEventListener("click", () => {
    showJob(job.jobId)
    watch(job.jobId)
  })

  const remove = node("button", "danger", "Delete")
  remove.type = "button"
  /** @type {number | undefined} */
  let armed
  const disarm = () => {
    clearTimeout(armed)
    armed = undefined
    remove.textContent = "Delete"
    remove.classList.remove("armed")
    remove.setAttribute("aria-label", "Delete " + (job.fileName || job.jobId))
  }
  remove.addEventListener("click", () => {
    if (armed === undefined) {
      remove.textContent = "Confirm"
      remove.classList.add("armed")
      remove.setAttribute("aria-label", "Confirm deleting " + (job.fileName || job.jobId))
      armed = setTimeout(disarm, 4000)
      return
    }
    disarm()
    remove.disabled = true
    api("DELETE", "/v1/jobs/" + encodeURIComponent(job.jobId)).then(() => {
      if (state.jobId === job.jobId) closeJob()
      li.remove()
      listed.delete(job.jobId)
      refreshJobs(false)
    }, /** @param {Failure} err */ (err) => {
      const message = explain(err)
      say(el.jobsMessage, "Could not delete " + (job.fileName || job.jobId) + ": " + message, "error")
      report("delete " + job.jobId + ": " + message)
      if (isKeyProblem(err)) keyRejected(err)
      remove.disabled = false
    })
  })
  disarm()
  li.appendChild(open)
  li.appendChild(remove)
  /** @type {ListItem} */
  const item = { li, open, name, status, meta, job }
  fillListItem(item, job)
  return item
}

/**
 * @param {ListItem} item
 * @param {JobSummary} job
 */
function fillListItem(item, job) {
  item.job = job
  item.name.textContent = job.fileName || job.jobId
  item.status.replaceChildren(badge(job.status))
  let meta = when(job.createdAt)
  if (!isTerminal(job.status) && job.status !== "awaiting-upload") meta = percent(job.progress) + " · " + meta
  if (job.status === "failed" && job.error) meta += " · " + job.error.message
  item.meta.textContent = meta
  item.open.setAttribute("aria-label", (job.fileName || job.jobId) + ", " + (STATUS_TEXT[job.status] || job.status) + (meta ? ", " + meta : ""))
}

/** @param {JobSummary} job */
function updateListEntry(job) {
  const item = listed.get(job.jobId)
  if (item) fillListItem(item, job)
}

function markCurrentInList() {
  for (const [id, item] of listed) {
    if (id === state.jobId) item.open.setAttribute("aria-current", "true")
    else item.open.removeAttribute("aria-current")
  }
}

el.jobsRefresh.addEventListener("click", () => { if (!settleKey()) refreshJobs(false) })
el.jobsMore.addEventListener("click", () => refreshJobs(true))

// Jobs started elsewhere (the CLI, another tab) move on too: refresh now and then while
// something listed is unfinished and the page is visible.
setInterval(() => {
  if (document.hidden || !currentKey() || el.key.getAttribute("aria-invalid") === "true") return
  const unfinished = [...listed.values()].some((item) => !isTerminal(item.job.status))
  if (unfinished) refreshJobs(false)
}, 5000)

// ---------------------------------------------------------------- start
const linked = /^#job=(.+)$/.exec(location.hash)
keyChanged()
if (linked && linked[1] && currentKey()) {
  const id = decodeURIComponent(linked[1])
  showJob(id)
  watch(id)
}
