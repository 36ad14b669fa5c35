// @ts-check
// The web app of `vidpipe serve` (the page is webApp.ts). No build step, no external network: it
// talks to the same-origin /v1 API with the pasted key, uploads with XMLHttpRequest (for upload
// progress), polls the job, and plays a ready job with the shared player (player.js, dash.js).
//
// A large file (the create answer says `multipart`) goes in parts, PARTS_IN_FLIGHT at a time, each
// part's URL asked for just before it is sent (they expire within seconds), a failed part tried
// again a few times; then the upload is completed. The job of an upload in progress is remembered
// in localStorage: after a reload the page says so, and choosing the same file again (a page
// cannot keep a File across reloads) sends only the parts the server does not have.
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
 * @typedef {import("./types.ts").MultipartLayout} MultipartLayout
 * @typedef {import("./types.ts").PartUrlList} PartUrlList
 * @typedef {import("./types.ts").PendingUpload} PendingUpload
 * @typedef {import("./types.ts").SignedPut} SignedPut
 * @typedef {import("./types.ts").StoredUpload} StoredUpload
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
 * @property {number} [retryAfter] seconds, from a 429's Retry-After
 * @property {number} [part] the part of a multipart upload it is about
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
/** The upload in progress (PendingUpload), kept across reloads. */
const PENDING_STORAGE = "vidpipe.pendingUpload"
/** Part PUTs at once. */
const PARTS_IN_FLIGHT = 4
/** The most part URLs the API hands out in one call (maxPartsPerRequest in Api.ts). */
const MAX_PARTS_PER_REQUEST = 100
/** Tries of one request (a part, an API call) before the upload stops. */
const PART_ATTEMPTS = 6
/** A part URL is used only this long before its expiry: the PUT must reach the server by then. */
const EXPIRY_MARGIN_MS = 1000
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
  resumeNotice: element("resume-notice", HTMLElement),
  resumeText: element("resume-text", HTMLElement),
  resumeDiscard: element("resume-discard", HTMLButtonElement),
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
  upload: /** @type {import("./types.ts").UploadState | null} */ (null),
  pendingUpload: /** @type {PendingUpload | null} */ (null),
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
 * @param {string | null} [retryAfter] the Retry-After header
 * @returns {Failure}
 */
function failure(status, text, during, retryAfter) {
  let body = null
  try { body = text ? JSON.parse(text) : null } catch { body = null }
  const error = body && body.error ? body.error : null
  return {
    status,
    tag: error && error._tag ? String(error._tag) : "HttpError",
    message: error && error.message ? String(error.message) : (text && text.length < 300 ? text.trim() : ""),
    field: error && error.field ? String(error.field) : null,
    during,
    ...(retryAfter && Number(retryAfter) >= 0 ? { retryAfter: Math.min(60, Number(retryAfter)) } : {})
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
    case 429: return "Too many requests for this API key (429)" + detail + ". Wait a moment and try again."
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
      if (!response.ok) throw failure(response.status, text, "api", response.headers.get("retry-after"))
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
  const pending = state.pendingUpload
  if (pending !== null && sameFile(pending, file)) {
    runUpload(file, () => resumeUpload(pending, file))
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
  runUpload(file, () => newUpload(file, ladder))
})

// Choosing the file of an unfinished upload again resumes it at once.
el.file.addEventListener("change", () => {
  const pending = state.pendingUpload
  const file = el.file.files && el.file.files[0]
  if (uploading || pending === null || !file) return
  if (sameFile(pending, file)) {
    if (!currentKey()) {
      say(el.uploadMessage, "Paste your API key first (at the top of the page), then choose Upload to resume.", "error")
      return
    }
    say(el.uploadMessage, "")
    runUpload(file, () => resumeUpload(pending, file))
  } else if (file.name === pending.fileName && file.size === pending.size) {
    say(el.uploadMessage, file.name + " has changed since its upload began, so its stored parts cannot be used. Upload starts a new upload of it.", "error")
  } else {
    say(el.uploadMessage, "This is not " + pending.fileName + ": Upload starts a new upload (the unfinished one stays in the list of jobs).", "info")
  }
})

/**
 * Runs an upload, then shows how it went.
 * @param {File} file
 * @param {() => Promise<string>} work resolves with the job id once the upload is in
 */
function runUpload(file, work) {
  uploading = true
  el.upload.disabled = true
  showPending()
  work().then((jobId) => {
    setUploadProgress(1, "uploaded " + bytes(file.size))
    say(el.uploadMessage, "Uploaded " + file.name + ".", "info")
    el.file.value = ""
    if (jobId === state.jobId) watch(jobId)
    refreshJobs(false)
  }).catch(/** @param {Failure} err */ (err) => {
    const resumable = state.pendingUpload !== null && state.upload !== null && state.pendingUpload.jobId === state.upload.jobId
    const message = (err.part !== undefined ? "Part " + err.part + ": " : "") + explain(err) +
      (resumable ? " The parts sent so far are kept: choose Upload (or, after a reload, the same file) to send the rest." : "")
    report((err.during === "upload" ? "upload: " : "create job: ") + message)
    say(el.uploadMessage, message, "error")
    if (isKeyProblem(err)) keyRejected(err)
    el.uploadText.textContent = "upload failed"
    el.uploadBar.className = "failed"
    const jobId = state.upload ? state.upload.jobId : null
    if (jobId !== null && jobId === state.jobId) watch(jobId)
  }).then(() => {
    uploading = false
    el.upload.disabled = false
    showPending()
  })
}

/**
 * @param {File} file
 * @param {Array<number> | undefined} ladder
 * @returns {Promise<string>}
 */
async function newUpload(file, ladder) {
  setUploadProgress(0, "creating the job…")
  /** @type {{ fileName: string, contentLength: number, contentType?: string, ladder?: Array<number> }} */
  const request = { fileName: file.name, contentLength: file.size }
  if (file.type) request.contentType = file.type
  if (ladder) request.ladder = ladder
  /** @type {CreatedJob} */
  const created = await apiRetrying("POST", "/v1/jobs", request)
  const jobId = created.jobId
  showJob(jobId, { jobId, status: "awaiting-upload", fileName: file.name, progress: 0, tasks: [] })
  refreshJobs(false)
  const target = created.upload
  if (target.kind !== "multipart") {
    state.upload = { jobId, kind: "single", partCount: 1, resumed: false, storedAtStart: [], partsSent: [], done: false }
    setUploadProgress(0, "0% of " + bytes(file.size))
    await put(target, file)
    state.upload.done = true
    return jobId
  }
  checkLayout(target, file)
  rememberPending({ jobId, fileName: file.name, size: file.size, lastModified: file.lastModified, partCount: target.partCount })
  state.upload = { jobId, kind: "multipart", partCount: target.partCount, resumed: false, storedAtStart: [], partsSent: [], done: false }
  const parts = await sendParts(jobId, target, file, [])
  await completeUpload(jobId, parts)
  return jobId
}

/**
 * Sends what the server does not have yet of an unfinished upload, then completes it.
 * @param {PendingUpload} pending
 * @param {File} file
 * @returns {Promise<string>}
 */
async function resumeUpload(pending, file) {
  const jobId = pending.jobId
  showJob(jobId)
  watch(jobId)
  setUploadProgress(0, "checking what is stored…")
  /** @type {StoredUpload} */
  let stored
  try {
    stored = await apiRetrying("GET", jobPath(jobId) + "/upload")
  } catch (cause) {
    const err = /** @type {Failure} */ (cause)
    if (err.status === 404) {
      forgetPending(jobId)
      throw { ...err, message: "the job of the unfinished upload of " + pending.fileName + " no longer exists (deleted, or made with another API key); choose Upload to start again" }
    }
    if (err.status === 409) {
      // Nothing left to send: the upload was completed (before the reload, or from another tab).
      /** @type {JobSummary} */
      const job = await apiRetrying("GET", jobPath(jobId))
      if (job.status !== "awaiting-upload") {
        forgetPending(jobId)
        state.upload = { jobId, kind: "multipart", partCount: pending.partCount, resumed: true, storedAtStart: [], partsSent: [], done: true }
        return jobId
      }
    }
    throw err
  }
  checkLayout(stored, file)
  state.upload = {
    jobId, kind: "multipart", partCount: stored.partCount, resumed: true,
    storedAtStart: stored.parts.map((p) => p.partNumber), partsSent: [], done: false
  }
  const parts = await sendParts(jobId, stored, file, stored.parts)
  await completeUpload(jobId, parts)
  return jobId
}

/** @param {string} jobId */
const jobPath = (jobId) => "/v1/jobs/" + encodeURIComponent(jobId)

/**
 * @param {MultipartLayout} layout
 * @param {File} file
 */
function checkLayout(layout, file) {
  if (layout.contentLength !== file.size || !(layout.partSize > 0) || layout.partCount !== Math.ceil(file.size / layout.partSize)) {
    throw /** @type {Failure} */ ({ status: 0, tag: "BadLayout", message: "The server's parts (" + layout.partCount + " of " + bytes(layout.partSize) + ") do not fit this file of " + bytes(file.size) + ".", field: null, during: "upload" })
  }
}

/**
 * The exact length of part `n` (1-based): every part but the last is `partSize` bytes.
 * @param {MultipartLayout} layout
 * @param {number} n
 */
const partLength = (layout, n) => n < layout.partCount ? layout.partSize : layout.contentLength - layout.partSize * (layout.partCount - 1)

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** @param {number} failures */
const backoff = (failures) => Math.min(8000, 500 * 2 ** Math.max(0, failures - 1)) * (0.75 + Math.random() * 0.5)

/**
 * Worth trying again: no answer, a server failure, too many requests, a body cut short.
 * @param {Failure} err
 */
const isTransient = (err) =>
  (err.status === 0 && err.tag === "NetworkError") || err.status >= 500 || err.status === 429 || err.status === 408 ||
  (err.status === 400 && err.tag === "IncompleteBody")

/**
 * An API call, tried again (a few times, backing off; after Retry-After for a 429) when that may help.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
async function apiRetrying(method, path, body) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await api(method, path, body)
    } catch (cause) {
      const err = /** @type {Failure} */ (cause)
      if (!isTransient(err) || attempt >= PART_ATTEMPTS) throw err
      await sleep(err.retryAfter !== undefined ? err.retryAfter * 1000 : backoff(attempt))
    }
  }
}

/**
 * Part URLs, asked for just before use: the part about to go, and the next few not started yet
 * when they are likely to start before the URLs expire (all of them at first, when every slot is
 * about to start; later as many as the parts' pace allows).
 * @param {string} jobId
 * @param {ReadonlyArray<number>} todo
 */
function partSigner(jobId, todo) {
  /** @type {Map<number, { target: SignedPut, usableUntil: number }>} */
  const cache = new Map()
  /** @type {Set<number>} */
  const started = new Set()
  /** @type {number | undefined} */
  let partSeconds
  let lifetimeMs = 5000
  /** @type {Promise<unknown>} */
  let queue = Promise.resolve()

  /**
   * @param {number} n
   * @param {number} now
   */
  const batchFor = (n, now) => {
    const perStartMs = partSeconds === undefined ? 0 : partSeconds * 1000 / PARTS_IN_FLIGHT
    const batch = [n]
    for (const next of todo) {
      // One per part in flight until a part was timed; then as many as start within half the
      // URLs' lifetime (a fast link would otherwise run into the API's rate limit).
      if (batch.length >= (partSeconds === undefined ? PARTS_IN_FLIGHT : MAX_PARTS_PER_REQUEST)) break
      if (next <= n || started.has(next)) continue
      const cached = cache.get(next)
      if (cached && cached.usableUntil > now) continue
      if (perStartMs * batch.length > (lifetimeMs - EXPIRY_MARGIN_MS) / 2) break
      batch.push(next)
    }
    return batch
  }

  /**
   * @param {number} n
   * @param {boolean} fresh
   * @returns {Promise<SignedPut>}
   */
  const fetchFor = async (n, fresh) => {
    started.add(n)
    const now = Date.now()
    const cached = cache.get(n)
    cache.delete(n)
    if (!fresh && cached && cached.usableUntil > now) return cached.target
    const partNumbers = batchFor(n, now)
    /** @type {PartUrlList} */
    const answer = await apiRetrying("POST", jobPath(jobId) + "/upload/parts", { partNumbers })
    /** @type {SignedPut | null} */
    let own = null
    for (const part of answer.parts || []) {
      const expiresAt = Date.parse(part.expiresAt)
      if (isFinite(expiresAt)) lifetimeMs = Math.max(EXPIRY_MARGIN_MS, expiresAt - now)
      if (part.partNumber === n) own = part
      else if (partNumbers.includes(part.partNumber)) cache.set(part.partNumber, { target: part, usableUntil: isFinite(expiresAt) ? expiresAt - EXPIRY_MARGIN_MS : 0 })
    }
    // Used at once whatever the clocks say (this computer's may differ from the server's).
    if (own === null) throw /** @type {Failure} */ ({ status: 0, tag: "NoPartUrl", message: "the server sent no URL for part " + n + ".", field: null, during: "api" })
    return own
  }

  return {
    /**
     * One request at a time, so that parts starting together share one.
     * @param {number} n
     * @param {boolean} fresh
     */
    urlFor: (n, fresh) => {
      const run = queue.then(() => fetchFor(n, fresh))
      queue = run.catch(() => undefined)
      return run
    },
    /** @param {number} seconds */
    partTook: (seconds) => {
      partSeconds = partSeconds === undefined ? seconds : partSeconds * 0.7 + seconds * 0.3
    }
  }
}

/**
 * Sends the parts of `layout` the server does not have (`stored`), PARTS_IN_FLIGHT at a time,
 * each retried a few times; resolves with every part's ETag, in order. The progress bar counts the
 * stored parts and what the parts in flight have sent.
 * @param {string} jobId
 * @param {MultipartLayout} layout
 * @param {File} file
 * @param {StoredUpload["parts"]} stored
 * @returns {Promise<Array<{ partNumber: number, etag: string }>>}
 */
function sendParts(jobId, layout, file, stored) {
  return new Promise((resolve, reject) => {
    /** @type {Map<number, string>} */
    const etags = new Map()
    let storedBytes = 0
    for (const part of stored) {
      if (part.partNumber >= 1 && part.partNumber <= layout.partCount && part.size === partLength(layout, part.partNumber)) {
        etags.set(part.partNumber, part.etag)
        storedBytes += part.size
      }
    }
    /** @type {Array<number>} */
    const todo = []
    for (let n = 1; n <= layout.partCount; n++) if (!etags.has(n)) todo.push(n)
    /** @type {Map<number, number>} bytes sent by the attempt in flight of each part */
    const loaded = new Map()
    /** @type {Set<XMLHttpRequest>} */
    const active = new Set()
    const signer = partSigner(jobId, todo)
    let next = 0
    let failed = false
    let lastShown = 0

    /** @param {boolean} [now] */
    const show = (now) => {
      const t = Date.now()
      if (!now && t - lastShown < 100) return
      lastShown = t
      let sent = storedBytes
      for (const bytesSent of loaded.values()) sent += bytesSent
      const fraction = Math.min(1, sent / layout.contentLength)
      setUploadProgress(fraction, percent(fraction) + " of " + bytes(layout.contentLength) + " · parts " + etags.size + "/" + layout.partCount)
    }
    const done = () => {
      /** @type {Array<{ partNumber: number, etag: string }>} */
      const parts = []
      for (let n = 1; n <= layout.partCount; n++) parts.push({ partNumber: n, etag: etags.get(n) || "" })
      resolve(parts)
    }
    /** @param {Failure} err */
    const fail = (err) => {
      if (failed) return
      failed = true
      for (const xhr of active) xhr.abort()
      reject(err)
    }

    /**
     * @param {number} n
     * @returns {Promise<string>}
     */
    const sendPart = async (n) => {
      const start = (n - 1) * layout.partSize
      const blob = file.slice(start, start + partLength(layout, n))
      const began = Date.now()
      let failures = 0
      let expiries = 0
      let limited = 0
      let fresh = false
      for (;;) {
        const target = await signer.urlFor(n, fresh)
        if (failed) throw aborted
        try {
          const xhr = await send(target, blob, (sent) => {
            loaded.set(n, sent)
            show()
          }, active)
          const etag = xhr.getResponseHeader("ETag")
          if (!etag) throw /** @type {Failure} */ ({ status: xhr.status, tag: "NoEtag", message: "the server stored the part but its ETag header cannot be read (a proxy, or CORS not exposing ETag)", field: null, during: "upload" })
          signer.partTook((Date.now() - began) / 1000)
          return etag
        } catch (cause) {
          const err = /** @type {Failure} */ (cause)
          loaded.delete(n)
          show(true)
          if (failed) throw err
          // The URL expired before the PUT reached the server: a fresh one at once.
          if (err.status === 403 && err.tag === "RequestExpired") {
            if (++expiries >= PART_ATTEMPTS) throw { ...err, part: n }
            fresh = true
            continue
          }
          // Too many uploads of this key at once (another tab?): wait as told, for longer.
          if (err.status === 429 && ++limited < PART_ATTEMPTS * 4) {
            await sleep(err.retryAfter !== undefined ? err.retryAfter * 1000 : backoff(limited))
            fresh = true
            continue
          }
          if (!isTransient(err) || ++failures >= PART_ATTEMPTS) throw { ...err, part: n }
          report("part " + n + ": " + explain(err) + " (trying again)")
          await sleep(backoff(failures))
          fresh = true
        }
      }
    }

    let running = 0
    const launch = () => {
      while (!failed && running < PARTS_IN_FLIGHT && next < todo.length) {
        const n = todo[next++]
        if (n === undefined) break
        running++
        sendPart(n).then((etag) => {
          running--
          etags.set(n, etag)
          storedBytes += partLength(layout, n)
          loaded.delete(n)
          if (state.upload) state.upload.partsSent.push(n)
          show(true)
          if (etags.size === layout.partCount) done()
          else launch()
        }, (err) => {
          running--
          fail(err)
        })
      }
    }
    show(true)
    if (todo.length === 0) done()
    else launch()
  })
}

/** @type {Failure} */
const aborted = { status: 0, tag: "Aborted", message: "The upload was cancelled.", field: null, during: "upload" }

/**
 * Joins the parts into the source; the job goes on as after a single upload. A retry that finds
 * the job past its upload (the first try's answer lost) counts as done.
 * @param {string} jobId
 * @param {Array<{ partNumber: number, etag: string }>} parts
 */
async function completeUpload(jobId, parts) {
  setUploadProgress(1, "all parts sent; completing…")
  for (let attempt = 1; ; attempt++) {
    try {
      /** @type {JobSummary} */
      const job = await api("POST", jobPath(jobId) + "/upload/complete", { parts })
      forgetPending(jobId)
      if (state.upload) state.upload.done = true
      if (state.jobId === jobId) renderJob(job)
      return
    } catch (cause) {
      const err = /** @type {Failure} */ (cause)
      if (err.status === 409 && attempt > 1) {
        /** @type {JobSummary} */
        const job = await apiRetrying("GET", jobPath(jobId))
        if (job.status !== "awaiting-upload") {
          forgetPending(jobId)
          if (state.upload) state.upload.done = true
          return
        }
      }
      if (!isTransient(err) || attempt >= PART_ATTEMPTS) throw { ...err, during: "upload" }
      await sleep(err.retryAfter !== undefined ? err.retryAfter * 1000 : backoff(attempt))
    }
  }
}

/**
 * The single PUT of a whole file.
 * @param {SignedPut} target
 * @param {File} file
 * @returns {Promise<void>}
 */
function put(target, file) {
  return send(target, file, (sent) => {
    if (file.size > 0 && sent < file.size) setUploadProgress(sent / file.size, percent(sent / file.size) + " of " + bytes(file.size))
  }, new Set()).then(() => undefined)
}

/**
 * One PUT to a signed URL with XMLHttpRequest (upload progress); resolves with the finished
 * request on 2xx, rejects with a Failure otherwise.
 * @param {SignedPut} target
 * @param {Blob} body
 * @param {(sent: number) => void} onProgress bytes of `body` sent so far
 * @param {Set<XMLHttpRequest>} active holds the request while it runs (to abort it)
 * @returns {Promise<XMLHttpRequest>}
 */
function send(target, body, onProgress, active) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    active.add(xhr)
    xhr.open(target.method || "PUT", target.url)
    const headers = target.headers || {}
    for (const name of Object.keys(headers)) {
      if (!FORBIDDEN.test(name)) xhr.setRequestHeader(name, String(headers[name]))
    }
    xhr.upload.onprogress = (e) => onProgress(Math.min(body.size, e.loaded))
    xhr.onload = () => {
      active.delete(xhr)
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr)
      else reject(failure(xhr.status, xhr.responseText, "upload", xhr.getResponseHeader("Retry-After")))
    }
    xhr.onerror = () => {
      active.delete(xhr)
      reject(/** @type {Failure} */ ({ status: 0, tag: "NetworkError", message: "The upload was cut off (network error).", field: null, during: "upload" }))
    }
    xhr.onabort = () => {
      active.delete(xhr)
      reject(aborted)
    }
    xhr.send(body)
  })
}

// ---------------------------------------------------------------- an unfinished upload, across reloads
/** @returns {PendingUpload | null} */
function readPending() {
  try {
    const text = localStorage.getItem(PENDING_STORAGE)
    const v = text ? JSON.parse(text) : null
    if (v && typeof v.jobId === "string" && typeof v.fileName === "string" && typeof v.size === "number" &&
      typeof v.lastModified === "number" && typeof v.partCount === "number") {
      return { jobId: v.jobId, fileName: v.fileName, size: v.size, lastModified: v.lastModified, partCount: v.partCount }
    }
  } catch { /* storage disabled, or not ours */ }
  return null
}
/** @param {PendingUpload} pending */
function rememberPending(pending) {
  state.pendingUpload = pending
  try { localStorage.setItem(PENDING_STORAGE, JSON.stringify(pending)) } catch { /* storage disabled: no resume after a reload */ }
  showPending()
}
/** @param {string} [jobId] only if it is this job's */
function forgetPending(jobId) {
  if (state.pendingUpload === null || (jobId !== undefined && state.pendingUpload.jobId !== jobId)) return
  state.pendingUpload = null
  try { localStorage.removeItem(PENDING_STORAGE) } catch { /* ignore */ }
  showPending()
}
function showPending() {
  const pending = state.pendingUpload
  el.resumeNotice.hidden = pending === null || uploading
  el.resumeText.textContent = pending === null ? "" :
    "An upload of " + pending.fileName + " (" + bytes(pending.size) + ") is unfinished. Choose the same file again to send the rest."
}
/**
 * The same file as the unfinished upload's: name, size and modification time.
 * @param {PendingUpload} pending
 * @param {File} file
 */
const sameFile = (pending, file) => file.name === pending.fileName && file.size === pending.size && file.lastModified === pending.lastModified

el.resumeDiscard.addEventListener("click", () => {
  const pending = state.pendingUpload
  if (pending === null || uploading) return
  forgetPending()
  say(el.uploadMessage, "Discarded the unfinished upload of " + pending.fileName + ".", "info")
  if (!currentKey()) return
  // Its job would wait for an upload that never comes: delete it (and its stored parts).
  api("DELETE", jobPath(pending.jobId)).then(() => {
    if (state.jobId === pending.jobId) closeJob()
    refreshJobs(false)
  }, /** @param {Failure} err */ (err) => {
    if (err.status === 404) return
    const message = "Could not delete the job of " + pending.fileName + ": " + explain(err)
    say(el.uploadMessage, message, "error")
    report("discard " + pending.jobId + ": " + message)
  })
})

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
state.pendingUpload = readPending()
showPending()
keyChanged()
if (linked && linked[1] && currentKey()) {
  const id = decodeURIComponent(linked[1])
  showJob(id)
  watch(id)
}
