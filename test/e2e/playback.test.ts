// End-to-end check of the presentation server: HTTP semantics over real
// sockets, then actual DASH playback by three clients: dash.js and Shaka
// Player in Debian's headless Chromium, and ffmpeg's own DASH demuxer.
import { describe, expect, it, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { execFile } from "node:child_process"
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises"
import { request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { immutableCache, manifestCache, mediaPolicyFor } from "../../src/entry/http/mediaPolicy.ts"
import { presentationServerUrl, servePresentations } from "../../src/entry/http/presentationServer.ts"
import type { PlaybackResult } from "../support/browser.ts"
import { playDash } from "../support/browser.ts"
import type { PlayerEngineName } from "../../src/entry/http/web/types.ts"
import { runVidpipe } from "../support/cli.ts"
import { makeClip } from "../support/clips.ts"

// ---------------------------------------------------------------------------
// Fixture: what `vidpipe process` really writes, for a 720p clip with a two-rung ladder.
// ---------------------------------------------------------------------------

const fixtureRungs = [
  { id: "720p", width: 1280, height: 720 },
  { id: "360p", width: 640, height: 360 }
] as const

const buildVidpipePresentation = async (dir: string, workdir: string): Promise<void> => {
  const clip = await makeClip({ output: join(workdir, "clip.mp4"), durationSeconds: 10, width: 1280, height: 720, audioChannels: 2 })
  const result = await runVidpipe(["process", clip, "--out", dir, "--ladder", "720,360", "--json"], {
    env: { VIDPIPE_DATA_DIR: join(workdir, "data") }
  })
  if (result.code !== 0) throw new Error(`vidpipe process failed: ${result.stderr}`)
}

describe("mediaPolicyFor", () => {
  it("maps presentation files to DASH/HLS content types and cache lifetimes", () => {
    expect(mediaPolicyFor("/m/manifest.mpd")).toEqual({ contentType: "application/dash+xml", cacheControl: manifestCache })
    expect(mediaPolicyFor("/m/master.m3u8")).toEqual({
      contentType: "application/vnd.apple.mpegurl",
      cacheControl: manifestCache
    })
    expect(mediaPolicyFor("/m/video/720p/init.mp4")).toEqual({ contentType: "video/mp4", cacheControl: immutableCache })
    expect(mediaPolicyFor("/m/video/720p/seg-00001.m4s")).toEqual({ contentType: "video/mp4", cacheControl: immutableCache })
    expect(mediaPolicyFor("/m/audio/init.mp4")).toEqual({ contentType: "audio/mp4", cacheControl: immutableCache })
    expect(mediaPolicyFor("/m/audio/seg-00001.m4s")).toEqual({ contentType: "audio/mp4", cacheControl: immutableCache })
    // "audio" must be a directory, not part of a presentation or file name.
    expect(mediaPolicyFor("/audio-book/video/1080p/seg-00001.m4s").contentType).toBe("video/mp4")
    expect(mediaPolicyFor("/m/thumbs.json").contentType).toBeUndefined()
  })
})

// ---------------------------------------------------------------------------
// Served tree:  <tmp>/outside-secret.txt            (must never be served)
//               <tmp>/root/demo/...                 (the presentation)
//               <tmp>/root/escape.m4s -> ../outside-secret.txt
//               <tmp>/root/.staging/seg-00001.m4s   (hidden: never served)
// ---------------------------------------------------------------------------

const secret = "TOP SECRET: outside the served root"

class Fixture extends Context.Service<Fixture, { readonly root: string }>()("vidpipe/test/playback/Fixture") {}

const FixtureLive = Layer.effect(
  Fixture,
  Effect.acquireRelease(
    Effect.promise(async () => {
      const tmp = await mkdtemp(join(tmpdir(), "vidpipe-playback-"))
      const root = join(tmp, "root")
      await mkdir(join(root, ".staging"), { recursive: true })
      await writeFile(join(tmp, "outside-secret.txt"), secret)
      await writeFile(join(root, ".staging", "seg-00001.m4s"), secret)
      await symlink(join(tmp, "outside-secret.txt"), join(root, "escape.m4s"))
      await buildVidpipePresentation(join(root, "demo"), tmp)
      return { tmp, root }
    }),
    ({ tmp }) => Effect.promise(() => rm(tmp, { recursive: true, force: true }))
  )
)

const ServerLive = Layer.unwrap(
  Effect.map(Fixture, ({ root }) => servePresentations({ root, port: 0, logAddress: false }))
)

const get = (path: string, init?: RequestInit) =>
  Effect.flatMap(presentationServerUrl, (base) => Effect.promise(() => fetch(base + path, init)))

/** Runs ffmpeg/ffprobe to completion; never rejects on a non-zero exit. */
const runTool = (command: string, args: ReadonlyArray<string>) =>
  Effect.promise(() =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = execFile(command, args, { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== "number") reject(error)
        else resolve({ code: child.exitCode, stdout, stderr })
      })
    }))

/**
 * Per-stream summary of `-f framecrc` output: the header names each output
 * stream's media type and (video) dimensions, then one line per decoded frame
 * starting with its stream index.
 */
const framecrcStreams = (text: string) => {
  const streams = new Map<number, { mediaType: string; dimensions: string | null; frames: number }>()
  const stream = (index: number) => {
    const existing = streams.get(index)
    if (existing !== undefined) return existing
    const created = { mediaType: "", dimensions: null as string | null, frames: 0 }
    streams.set(index, created)
    return created
  }
  for (const line of text.split("\n")) {
    const header = /^#(media_type|dimensions) (\d+): (\S+)$/.exec(line)
    if (header !== null) {
      const entry = stream(Number(header[2]))
      if (header[1] === "media_type") entry.mediaType = header[3]!
      else entry.dimensions = header[3]!
      continue
    }
    const frame = /^(\d+),/.exec(line)
    if (frame !== null) stream(Number(frame[1])).frames += 1
  }
  return [...streams.values()]
}

const bytes = (response: Response) => Effect.promise(() => response.arrayBuffer()).pipe(Effect.map((b) => new Uint8Array(b)))

// fetch() normalises "..", so traversal attempts go out as raw request lines.
const rawGet = (path: string) =>
  Effect.flatMap(presentationServerUrl, (base) =>
    Effect.promise(() =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const { hostname, port } = new URL(base)
        const req = request({ host: hostname, port, path, method: "GET" }, (res) => {
          let body = ""
          res.setEncoding("utf8")
          res.on("data", (chunk: string) => (body += chunk))
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on("error", reject)
        req.end()
      })
    ))

layer(ServerLive.pipe(Layer.provideMerge(FixtureLive)), { timeout: "120 seconds", excludeTestServices: true })(
  "presentation server",
  (it) => {
    it.effect("serves manifests and segments with DASH content types and cache headers", () =>
      Effect.gen(function*() {
        const cases = [
          ["/demo/manifest.mpd", "application/dash+xml", "public, max-age=5"],
          ["/demo/video/720p/init.mp4", "video/mp4", "public, max-age=31536000, immutable"],
          ["/demo/video/360p/seg-00001.m4s", "video/mp4", "public, max-age=31536000, immutable"],
          ["/demo/audio/init.mp4", "audio/mp4", "public, max-age=31536000, immutable"],
          ["/demo/audio/seg-00002.m4s", "audio/mp4", "public, max-age=31536000, immutable"]
        ] as const
        for (const [path, contentType, cacheControl] of cases) {
          const response = yield* get(path)
          expect(response.status, path).toBe(200)
          expect(response.headers.get("content-type"), path).toBe(contentType)
          expect(response.headers.get("cache-control"), path).toBe(cacheControl)
          expect(response.headers.get("access-control-allow-origin"), path).toBe("*")
          const body = yield* bytes(response)
          expect(body.length, path).toBeGreaterThan(0)
          expect(Number(response.headers.get("content-length")), path).toBe(body.length)
        }
        const head = yield* get("/demo/manifest.mpd", { method: "HEAD" })
        expect(head.status).toBe(200)
        expect(head.headers.get("content-type")).toBe("application/dash+xml")
      }))

    it.effect("answers byte ranges with 206 and unsatisfiable ones with 416", () =>
      Effect.gen(function*() {
        const path = "/demo/video/720p/seg-00001.m4s"
        const whole = yield* bytes(yield* get(path))

        const partial = yield* get(path, { headers: { range: "bytes=100-199" } })
        expect(partial.status).toBe(206)
        expect(partial.headers.get("content-range")).toBe(`bytes 100-199/${whole.length}`)
        expect(partial.headers.get("content-type")).toBe("video/mp4")
        expect(yield* bytes(partial)).toEqual(whole.slice(100, 200))

        const suffix = yield* get(path, { headers: { range: "bytes=-16" } })
        expect(suffix.status).toBe(206)
        expect(yield* bytes(suffix)).toEqual(whole.slice(-16))

        const beyond = yield* get(path, { headers: { range: `bytes=${whole.length}-` } })
        expect(beyond.status).toBe(416)
        expect(beyond.headers.get("content-range")).toBe(`bytes */${whole.length}`)
      }))

    it.effect("answers CORS preflights and exposes range headers", () =>
      Effect.gen(function*() {
        const preflight = yield* get("/demo/video/720p/seg-00001.m4s", {
          method: "OPTIONS",
          headers: {
            origin: "http://player.example",
            "access-control-request-method": "GET",
            "access-control-request-headers": "range"
          }
        })
        expect(preflight.status).toBe(204)
        expect(preflight.headers.get("access-control-allow-origin")).toBe("*")
        expect(preflight.headers.get("access-control-allow-methods")).toContain("GET")
        expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("range")

        const ranged = yield* get("/demo/audio/init.mp4", { headers: { origin: "http://player.example", range: "bytes=0-3" } })
        const exposed = ranged.headers.get("access-control-expose-headers")?.toLowerCase() ?? ""
        expect(ranged.headers.get("access-control-allow-origin")).toBe("*")
        expect(exposed).toContain("content-length")
        expect(exposed).toContain("content-range")
      }))

    it.effect("refuses paths outside the root, hidden files and escaping symlinks", () =>
      Effect.gen(function*() {
        const attempts = [
          "/../outside-secret.txt",
          "/demo/../../outside-secret.txt",
          "/%2e%2e/outside-secret.txt",
          "/demo/..%2f..%2foutside-secret.txt",
          "/%2E%2E%5Coutside-secret.txt",
          "/escape.m4s",
          "/.staging/seg-00001.m4s",
          "/demo/%00manifest.mpd"
        ]
        for (const path of attempts) {
          const { status, body } = yield* rawGet(path)
          expect([400, 404], path).toContain(status)
          expect(body, path).not.toContain("TOP SECRET")
        }
      }))

    it.effect("404s missing files and directories", () =>
      Effect.gen(function*() {
        for (const path of ["/demo/video/720p/seg-99999.m4s", "/nope/manifest.mpd", "/demo", "/demo/video/"]) {
          expect((yield* get(path)).status, path).toBe(404)
        }
      }))

    it.effect("serves the player page, dash.js and an index of presentations", () =>
      Effect.gen(function*() {
        const page = yield* get("/player?src=/demo/manifest.mpd")
        expect(page.status).toBe(200)
        expect(page.headers.get("content-type")).toContain("text/html")
        const html = yield* Effect.promise(() => page.text())
        expect(html).toContain("/_player/dash.all.min.js")
        // The page's code is a module served beside it (a versioned URL), which sets window.__player.
        const pageScript = /<script type="module" src="(\/_web\/[0-9a-f]+\/playerPage\.js)"><\/script>/.exec(html)?.[1]
        expect(pageScript, html).toBeDefined()
        const pageCode = yield* get(pageScript!)
        expect(pageCode.status).toBe(200)
        expect(pageCode.headers.get("content-type")).toContain("javascript")
        expect(pageCode.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
        expect(yield* Effect.promise(() => pageCode.text())).toContain("__player")

        const script = yield* get("/_player/dash.all.min.js")
        expect(script.status).toBe(200)
        expect(script.headers.get("content-type")).toContain("javascript")
        expect(script.headers.get("cache-control")).toBe("public, max-age=3600")
        expect((yield* bytes(script)).length).toBeGreaterThan(100_000)

        const shakaPage = yield* get("/player?src=/demo/manifest.mpd&engine=shaka")
        expect(shakaPage.status).toBe(200)
        const shakaHtml = yield* Effect.promise(() => shakaPage.text())
        expect(shakaHtml).toContain("/_player/shaka-player.compiled.js")
        expect(shakaHtml).not.toContain("/_player/dash.all.min.js")
        const shakaScript = yield* get("/_player/shaka-player.compiled.js")
        expect(shakaScript.status).toBe(200)
        expect(shakaScript.headers.get("content-type")).toContain("javascript")
        expect((yield* bytes(shakaScript)).length).toBeGreaterThan(100_000)
        // A typo must not silently test dash.js instead.
        expect((yield* get("/player?src=/demo/manifest.mpd&engine=shaka2")).status).toBe(400)

        const index = yield* get("/")
        const indexHtml = yield* Effect.promise(() => index.text())
        expect(indexHtml).toContain(`/player?src=${encodeURIComponent("/demo/manifest.mpd")}`)
        expect(indexHtml).toContain(`/player?engine=hlsjs&amp;src=${encodeURIComponent("/demo/master.m3u8")}`)
      }))

    it.effect("plays the presentation in headless Chromium", () =>
      Effect.gen(function*() {
        const base = yield* presentationServerUrl
        const playerUrl = `${base}/player?src=${encodeURIComponent(`${base}/demo/manifest.mpd`)}`
        const result = yield* Effect.promise(() => playDash(playerUrl, { minAdvanceSeconds: 2, timeoutMs: 60_000 }))
        expect(result.errors).toEqual([])
        expect(result.currentTime).toBeGreaterThanOrEqual(2)
        expect(fixtureRungs.map((rung) => rung.width)).toContain(result.videoWidth)
        expect(fixtureRungs.map((rung) => rung.height)).toContain(result.videoHeight)
        expect(result.representations.map((r) => r.id).sort()).toEqual(["360p", "720p"])
      }), 150_000)

    it.effect("plays each rung when pinned from the quality selector", () =>
      Effect.gen(function*() {
        const base = yield* presentationServerUrl
        const playerUrl = `${base}/player?src=${encodeURIComponent("/demo/manifest.mpd")}`
        for (const rung of fixtureRungs) {
          const result = yield* Effect.promise(() =>
            playDash(playerUrl, { minAdvanceSeconds: 1, timeoutMs: 60_000, representation: rung.id })
          )
          expect(result.errors, rung.id).toEqual([])
          expect(result.currentRepresentation, rung.id).toBe(rung.id)
          expect([result.videoWidth, result.videoHeight], rung.id).toEqual([rung.width, rung.height])
        }
      }), 150_000)

    it.effect("plays the presentation in Shaka Player too", () =>
      Effect.gen(function*() {
        const base = yield* presentationServerUrl
        const playerUrl = `${base}/player?src=${encodeURIComponent(`${base}/demo/manifest.mpd`)}`
        const result = yield* Effect.promise(() =>
          playDash(playerUrl, { engine: "shaka", minAdvanceSeconds: 2, timeoutMs: 60_000 })
        )
        expect(result.errors).toEqual([])
        expect(result.engine).toBe("shaka")
        expect(result.currentTime).toBeGreaterThanOrEqual(2)
        expect(fixtureRungs.map((rung) => rung.width)).toContain(result.videoWidth)
        expect(fixtureRungs.map((rung) => rung.height)).toContain(result.videoHeight)
        expect(result.representations.map(({ id, width, height }) => ({ id, width, height })).sort((a, b) =>
          a.id.localeCompare(b.id)
        )).toEqual([...fixtureRungs].sort((a, b) => a.id.localeCompare(b.id)))
      }), 150_000)

    /**
     * Plays the demo's `file` in each engine with a switch down (browser.ts `switchDown`: the top
     * rung pinned and on screen, then the lowest), which must end with the lowest rung playing at
     * its own size: adaptation alone never goes down here, so a pin that does nothing fails.
     */
    const switchesDown = (file: string, engines: ReadonlyArray<PlayerEngineName>) =>
      Effect.gen(function*() {
        const base = yield* presentationServerUrl
        const playerUrl = `${base}/player?src=${encodeURIComponent(`${base}/demo/${file}`)}`
        const results: Array<PlaybackResult> = []
        for (const engine of engines) {
          const result = yield* Effect.promise(() =>
            playDash(playerUrl, { engine, minAdvanceSeconds: 1, timeoutMs: 60_000, switchDown: true })
          )
          expect(result.errors, engine).toEqual([])
          expect(result.switchedFrom, engine).toBe("720p")
          expect(result.currentRepresentation, engine).toBe("360p")
          expect([result.videoWidth, result.videoHeight], engine).toEqual([640, 360])
          results.push(result)
        }
        return results
      })

    // The per-rung pins above could pass if the engine visited the rung on its own.
    it.effect("switches quality down on the MPD in dash.js and Shaka Player", () =>
      switchesDown("manifest.mpd", ["dashjs", "shaka"]), 240_000)

    // The HLS playlists over the same segments play in hls.js and Shaka Player with a quality
    // switch on three other shapes of source: test/e2e/hlsShapes.e2e.test.ts.

    // Third client, outside any browser: ffmpeg's DASH demuxer reads the
    // manifest over HTTP and decodes every stream. framecrc (not null) so the
    // output names each stream's dimensions and lists one line per frame.
    it.effect("decodes every stream with ffmpeg's DASH demuxer over HTTP", () =>
      Effect.gen(function*() {
        const base = yield* presentationServerUrl
        const { code, stdout, stderr } = yield* runTool("ffmpeg", [
          "-nostdin", "-v", "error",
          "-i", `${base}/demo/manifest.mpd`,
          "-map", "0", "-fps_mode", "passthrough",
          "-f", "framecrc", "-"
        ])
        expect(stderr).toBe("")
        expect(code).toBe(0)
        const streams = framecrcStreams(stdout)
        const video = streams.filter((s) => s.mediaType === "video")
        expect(video.map((s) => s.dimensions).sort()).toEqual(fixtureRungs.map((r) => `${r.width}x${r.height}`).sort())
        // 10 s at 30 fps on every rung, the top one included.
        expect(video.find((s) => s.dimensions === "1280x720")?.frames).toBe(300)
        for (const s of video) expect(s.frames, s.dimensions ?? "").toBe(300)
        expect(streams.filter((s) => s.mediaType === "audio").map((s) => s.frames > 0)).toEqual([true])
      }), 150_000)
  }
)
