/**
 * What a viewer gets beside the video, end to end (issue 19): the poster and the storyboard's scrub
 * thumbnails on the player page, and captions.
 *
 * Captions: a Matroska source with two SubRip streams (English, French) and
 * a sidecar .srt (Spanish) given to `vidpipe process --captions`, and what players make of it: the
 * MPD (schema-valid, three text/vtt AdaptationSets) in dash.js and Shaka Player, the HLS master
 * (three TYPE=SUBTITLES renditions, RFC 8216 checker) in hls.js, each listing the three tracks and
 * showing a cue of the one chosen. Languages are written as RFC 5646 prefers ("eng" → "en"). A malformed sidecar is refused naming its line, before
 * anything is stored.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { execFile } from "node:child_process"
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { presentationServerUrl, servePresentations } from "../../src/entry/http/presentationServer.ts"
import type { PlayerEngineName, PlayerPageState } from "../../src/entry/http/web/types.ts"
import { launchChromium, withEngine } from "../support/browser.ts"
import { lastJsonLine, runVidpipe } from "../support/cli.ts"
import { makeClip } from "../support/clips.ts"
import { checkPresentation } from "../support/dashInspect.ts"
import { checkHls } from "../support/hlsInspect.ts"

const run = promisify(execFile)

const subRip = (cues: ReadonlyArray<readonly [string, string, string]>) =>
  cues.map(([from, to, text], i) => `${i + 1}\n${from} --> ${to}\n${text}\n`).join("\n")

class Fixture extends Context.Service<Fixture, { readonly root: string; readonly tmp: string }>()("vidpipe/test/captions/Fixture") {}

const FixtureLive = Layer.effect(
  Fixture,
  Effect.acquireRelease(
    Effect.promise(async () => {
      const tmp = await mkdtemp(join(tmpdir(), "vidpipe-captions-"))
      const clip = await makeClip({ output: join(tmp, "clip.mp4"), durationSeconds: 8, width: 640, height: 360, audioChannels: 2 })
      await writeFile(join(tmp, "en.srt"), subRip([["00:00:00,500", "00:00:07,500", "English line"]]))
      await writeFile(join(tmp, "fr.srt"), subRip([["00:00:00,500", "00:00:07,500", "Ligne en français"]]))
      await writeFile(join(tmp, "es.srt"), subRip([["00:00:00,500", "00:00:07,500", "Línea en español"]]))
      const source = join(tmp, "subs.mkv")
      await run("ffmpeg", [
        "-hide_banner", "-loglevel", "error", "-y", "-i", clip, "-i", join(tmp, "en.srt"), "-i", join(tmp, "fr.srt"),
        "-map", "0", "-map", "1", "-map", "2", "-c:v", "copy", "-c:a", "copy", "-c:s", "srt",
        "-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=fra", source
      ])
      const root = join(tmp, "root")
      const result = await runVidpipe(["process", source, "--out", join(root, "demo"), "--ladder", "360", "--captions", `${join(tmp, "es.srt")}:es`, "--json"], {
        env: { VIDPIPE_DATA_DIR: join(tmp, "data") }
      })
      if (result.code !== 0) throw new Error(`vidpipe process failed: ${result.stderr}`)
      return { tmp, root, summary: lastJsonLine(result.stdout) }
    }),
    ({ tmp }) => Effect.promise(() => rm(tmp, { recursive: true, force: true }))
  )
)

const ServerLive = Layer.unwrap(Effect.map(Fixture, ({ root }) => servePresentations({ root, port: 0, logAddress: false })))

interface CaptionsSeen {
  readonly errors: ReadonlyArray<string>
  readonly tracks: ReadonlyArray<{ language: string; label: string }>
  /** Text of the cues of the track shown once the second one was chosen. */
  readonly shown: ReadonlyArray<string>
}

/** Opens the player page, waits for the stream, chooses the second caption track and reads what it shows. */
const captionsIn = async (playerUrl: string, engine: PlayerEngineName): Promise<CaptionsSeen> => {
  const browser = await launchChromium()
  try {
    const page = await browser.newPage()
    await page.goto(withEngine(playerUrl, engine), { waitUntil: "load", timeout: 60_000 })
    await page.waitForFunction(() => {
      const state = (window as unknown as { __player?: PlayerPageState }).__player
      return state !== undefined && (state.playerReady || state.errors.length > 0)
    }, undefined, { timeout: 60_000, polling: 50 })
    await page.evaluate(() => (window as unknown as { __player: PlayerPageState }).__player.selectText(1))
    // Each engine shows WebVTT through the video's own text tracks: the chosen one is "showing" with its cues.
    await page.waitForFunction(() => {
      const state = (window as unknown as { __player: PlayerPageState }).__player
      const video = document.querySelector("video")
      const showing = Array.from(video?.textTracks ?? []).filter((track) => track.mode === "showing")
      return state.errors.length > 0 || showing.some((track) => (track.cues?.length ?? 0) > 0)
    }, undefined, { timeout: 60_000, polling: 100 })
    return await page.evaluate(() => {
      const state = (window as unknown as { __player: PlayerPageState }).__player
      const video = document.querySelector("video")
      const showing = Array.from(video?.textTracks ?? []).filter((track) => track.mode === "showing")
      const cues = showing.flatMap((track) => Array.from(track.cues ?? []).map((cue) => ("text" in cue ? String(cue.text) : "")))
      return { errors: [...state.errors], tracks: [...state.textTracks], shown: cues }
    })
  } finally {
    await browser.close()
  }
}

layer(ServerLive.pipe(Layer.provideMerge(FixtureLive)), { timeout: "180 seconds", excludeTestServices: true })("captions", (it) => {
  it.effect("both manifests list the source's two subtitle streams and the sidecar, by language", () =>
    Effect.gen(function*() {
      const { root } = yield* Fixture
      const report = yield* Effect.promise(() => checkPresentation(join(root, "demo", "manifest.mpd")))
      expect(report.problems).toEqual([])
      expect(report.schemaValid, report.schemaOutput).toBe(true)
      const mpd = yield* Effect.promise(() => readFile(join(root, "demo", "manifest.mpd"), "utf8"))
      expect([...mpd.matchAll(/<AdaptationSet[^>]*contentType="text"[^>]*mimeType="text\/vtt"[^>]*lang="([^"]+)"/g)].map((m) => m[1])).toEqual(["en", "fr", "es"])
      const hls = yield* Effect.promise(() => checkHls(join(root, "demo", "master.m3u8")))
      expect(hls.problems).toEqual([])
      expect(hls.subtitles.map((s) => [s.attributes["LANGUAGE"], s.attributes["NAME"]])).toEqual([["en", "English"], ["fr", "French"], ["es", "Spanish"]])
      expect((yield* Effect.promise(() => readdir(join(root, "demo", "captions")))).sort()).toEqual(
        ["s0.m3u8", "s0.vtt", "s1.m3u8", "s1.vtt", "sidecar-1.m3u8", "sidecar-1.vtt"]
      )
    }))

  it.effect("the player page shows the poster and, over its seek bar, the storyboard's thumbnail of the time pointed at", () =>
    Effect.gen(function*() {
      const base = yield* presentationServerUrl
      const playerUrl = `${base}/player?src=${encodeURIComponent(`${base}/demo/manifest.mpd`)}`
      const seen = yield* Effect.promise(async () => {
        const browser = await launchChromium()
        try {
          const page = await browser.newPage()
          await page.goto(playerUrl, { waitUntil: "load", timeout: 60_000 })
          await page.waitForFunction(() => {
            const state = (window as unknown as { __player?: PlayerPageState }).__player
            return state !== undefined && (state.storyboardCues > 0 || state.errors.length > 0)
          }, undefined, { timeout: 60_000, polling: 50 })
          return await page.evaluate(async () => {
            const state = (window as unknown as { __player: PlayerPageState }).__player
            const loads = (src: string) => new Promise<number>((resolve) => {
              const image = new Image()
              image.onload = () => resolve(image.naturalWidth)
              image.onerror = () => resolve(0)
              image.src = src
            })
            const preview = state.previewAt(3)
            const shown = document.querySelector<HTMLElement>(".scrub-preview")
            return {
              errors: [...state.errors],
              poster: document.querySelector("video")?.poster ?? "",
              posterWidth: await loads(document.querySelector("video")?.poster ?? ""),
              cues: state.storyboardCues,
              preview,
              sheetWidth: preview === null ? 0 : await loads(preview.image),
              previewShown: shown !== null && !shown.hidden && shown.style.backgroundImage.includes("storyboard/")
            }
          })
        } finally {
          await browser.close()
        }
      })
      expect(seen.errors).toEqual([])
      expect(seen.poster).toBe(`${base}/demo/poster.jpg`)
      expect(seen.posterWidth).toBe(640)
      // Every cue of the file (a thumbnail every 2 s of the 8 s video); 3 s is the second one, next to the first on its sheet.
      const { root } = yield* Fixture
      const vtt = yield* Effect.promise(() => readFile(join(root, "demo", "storyboard.vtt"), "utf8"))
      expect(seen.cues).toBe(vtt.split("-->").length - 1)
      expect(seen.cues).toBeGreaterThanOrEqual(4)
      expect(seen.preview).toMatchObject({ x: 160, y: 0, w: 160, h: 90 })
      expect(seen.preview?.image).toMatch(new RegExp(`^${base}/demo/storyboard/c0001-001\\.jpg$`))
      expect(seen.sheetWidth).toBeGreaterThan(0)
      expect(seen.previewShown).toBe(true)
    }), 120_000)

  for (const [engine, file] of [["dashjs", "manifest.mpd"], ["shaka", "manifest.mpd"], ["hlsjs", "master.m3u8"]] as const) {
    it.effect(`${engine} lists three caption tracks from ${file} and shows the one chosen`, () =>
      Effect.gen(function*() {
        const base = yield* presentationServerUrl
        const playerUrl = `${base}/player?src=${encodeURIComponent(`${base}/demo/${file}`)}`
        const seen = yield* Effect.promise(() => captionsIn(playerUrl, engine))
        expect(seen.errors).toEqual([])
        expect(seen.tracks.map((t) => t.language)).toEqual(["en", "fr", "es"])
        expect(seen.shown).toContain("Ligne en français")
      }), 120_000)
  }
})

describe("a malformed sidecar", () => {
  it("is refused naming the file and line, and nothing is written", async () => {
    const tmp = await mkdtemp(join(tmpdir(), "vidpipe-captions-bad-"))
    try {
      const clip = await makeClip({ output: join(tmp, "clip.mp4"), durationSeconds: 2, width: 320, height: 180, audioChannels: 0 })
      await writeFile(join(tmp, "bad.srt"), "1\n00:00:01,000 --> 00:00:02,000\nfine\n\n2\n00:00:03,000 -> 00:00:04,000\nbroken arrow\n")
      const out = join(tmp, "out")
      const result = await runVidpipe(["process", clip, "--out", out, "--captions", `${join(tmp, "bad.srt")}:en`], { env: { VIDPIPE_DATA_DIR: join(tmp, "data") } })
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("captions bad.srt, line 6: expected a timing")
      expect(await readdir(out).catch(() => "absent")).toBe("absent")
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
  }, 60_000)
})
