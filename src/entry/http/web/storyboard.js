// @ts-check
// Scrub thumbnails from a presentation's storyboard: the WebVTT file beside the manifest whose
// cues name a region of a sprite sheet (`sheet.jpg#xywh=x,y,w,h`, W3C Media Fragments 4.2.1).
// A seek bar under the video shows the thumbnail of the time under the pointer.

/**
 * @typedef {object} StoryboardCue
 * @property {number} start
 * @property {number} end
 * @property {string} image  absolute URL of the sheet
 * @property {number} x
 * @property {number} y
 * @property {number} w
 * @property {number} h
 */

/** @param {string} stamp "hh:mm:ss.ttt" or "mm:ss.ttt" */
const seconds = (stamp) => {
  const parts = stamp.trim().split(":").map(Number)
  return parts.reduce((total, part) => total * 60 + part, 0)
}

/**
 * The cues of a storyboard WebVTT file; sheet URLs resolved against `base` (the file's URL).
 * @param {string} text
 * @param {string} base
 * @returns {Array<StoryboardCue>}
 */
export const parseStoryboard = (text, base) => {
  /** @type {Array<StoryboardCue>} */
  const cues = []
  const lines = text.replace(/\r\n?/g, "\n").split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ""
    if (!line.includes("-->")) continue
    const [from = "", to = ""] = line.split("-->")
    const match = /^(.+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec((lines[i + 1] ?? "").trim())
    if (match === null) continue
    cues.push({
      start: seconds(from), end: seconds(to.trim().split(/\s+/)[0] ?? ""), image: new URL(match[1] ?? "", base).href,
      x: Number(match[2]), y: Number(match[3]), w: Number(match[4]), h: Number(match[5])
    })
  }
  return cues
}

/**
 * The cue showing time `t`, if any.
 * @param {ReadonlyArray<StoryboardCue>} cues
 * @param {number} t
 */
export const cueAt = (cues, t) => cues.find((cue) => t >= cue.start && t < cue.end) ?? cues.at(-1)

/**
 * A seek bar for `video` in `container` with a thumbnail preview over it.
 * @param {HTMLVideoElement} video
 * @param {HTMLElement} container
 */
export function createScrubBar(video, container) {
  const bar = document.createElement("input")
  bar.type = "range"
  bar.min = "0"
  bar.step = "0.1"
  bar.value = "0"
  bar.className = "scrub"
  bar.setAttribute("aria-label", "Seek")
  const preview = document.createElement("div")
  preview.className = "scrub-preview"
  preview.hidden = true
  container.replaceChildren(bar, preview)
  /** @type {Array<StoryboardCue>} */
  let cues = []
  let loading = 0

  video.addEventListener("durationchange", () => { bar.max = String(video.duration || 0) })
  video.addEventListener("timeupdate", () => { if (document.activeElement !== bar) bar.value = String(video.currentTime) })
  bar.addEventListener("input", () => { video.currentTime = Number(bar.value) })

  /** @param {number} t */
  const show = (t) => {
    const cue = cueAt(cues, t)
    if (cue === undefined) {
      preview.hidden = true
      return undefined
    }
    preview.hidden = false
    preview.style.width = cue.w + "px"
    preview.style.height = cue.h + "px"
    preview.style.backgroundImage = "url(\"" + cue.image.replace(/"/g, "%22") + "\")"
    preview.style.backgroundPosition = -cue.x + "px " + -cue.y + "px"
    return cue
  }
  bar.addEventListener("pointermove", (event) => {
    const box = bar.getBoundingClientRect()
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / Math.max(1, box.width)))
    const cue = show(fraction * (video.duration || 0))
    if (cue !== undefined) preview.style.left = Math.max(0, event.clientX - box.left - cue.w / 2) + "px"
  })
  bar.addEventListener("pointerleave", () => { preview.hidden = true })

  return {
    /** Loads the storyboard at `url` (none when it is absent); resolves to its cue count. */
    load: async (/** @type {string | null} */ url) => {
      const mine = ++loading
      cues = []
      preview.hidden = true
      if (url === null) return 0
      const answer = await fetch(url).catch(() => undefined)
      if (mine !== loading || answer === undefined || !answer.ok) return 0
      const parsed = parseStoryboard(await answer.text(), answer.url || url)
      if (mine === loading) cues = parsed
      return cues.length
    },
    /** Shows the thumbnail for time `t` (as hovering there does); the cue shown. */
    preview: show
  }
}
