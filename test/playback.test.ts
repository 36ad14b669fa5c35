// End-to-end check of the presentation server: HTTP semantics over real
// sockets, then actual DASH playback in Debian's headless Chromium.
import { describe, expect, it, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { execFile } from "node:child_process"
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises"
import { request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { immutableCache, manifestCache, mediaPolicyFor } from "../src/entry/http/mediaPolicy.ts"
import { presentationServerUrl, servePresentations } from "../src/entry/http/presentationServer.ts"
import { playDash } from "./support/browser.ts"

// ---------------------------------------------------------------------------
// Fixture: a presentation built with plain ffmpeg in vidpipe's output layout.
// TODO(main engineer): replace with the real `vidpipe process` output.
// ---------------------------------------------------------------------------

interface FixtureRung {
  readonly id: string
  readonly width: number
  readonly height: number
  readonly bitrate: string
}

const fixtureRungs: ReadonlyArray<FixtureRung> = [
  { id: "720p", width: 1280, height: 720, bitrate: "1500k" },
  { id: "360p", width: 640, height: 360, bitrate: "500k" }
]

const ffmpeg = (args: ReadonlyArray<string>): Promise<void> =>
  new Promise((resolve, reject) => {
    execFile("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args], { timeout: 60_000 }, (error, _out, stderr) =>
      error ? reject(new Error(`ffmpeg ${args.join(" ")} failed: ${stderr}`, { cause: error })) : resolve())
  })

// ffmpeg's dash muxer, one stream per output dir, named like vidpipe's layout.
const dashArgs = (outDir: string) => [
  "-f", "dash", "-seg_duration", "4", "-use_template", "1", "-use_timeline", "1",
  "-init_seg_name", "init.mp4", "-media_seg_name", "seg-$Number%05d$.m4s",
  join(outDir, "stream.mpd")
]

interface StreamInfo {
  readonly codecs: string
  readonly bandwidth: string
  readonly timescale: string
  readonly timeline: string
  readonly duration: string
}

// Reads back the per-stream MPD ffmpeg wrote, then deletes it (not part of the layout).
const takeStreamInfo = async (outDir: string): Promise<StreamInfo> => {
  const file = join(outDir, "stream.mpd")
  const xml = await readFile(file, "utf8")
  await rm(file)
  const pick = (re: RegExp) => {
    const match = re.exec(xml)
    if (match?.[1] === undefined) throw new Error(`${re} not found in ${file}`)
    return match[1]
  }
  return {
    codecs: pick(/codecs="([^"]+)"/),
    bandwidth: pick(/bandwidth="(\d+)"/),
    timescale: pick(/timescale="(\d+)"/),
    timeline: pick(/<SegmentTimeline>([\s\S]*?)<\/SegmentTimeline>/).replace(/\s+/g, " ").trim(),
    duration: pick(/mediaPresentationDuration="([^"]+)"/)
  }
}

/** Writes `<dir>/manifest.mpd`, `<dir>/video/<rung>/…`, `<dir>/audio/…` (10 s, 2 rungs + audio). */
export const buildFfmpegFixturePresentation = async (dir: string): Promise<void> => {
  const source = ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=10"]
  const videos = fixtureRungs.map(async (rung) => {
    const outDir = join(dir, "video", rung.id)
    await mkdir(outDir, { recursive: true })
    // Fixed 2 s GOPs so every rung cuts segments at the same times.
    await ffmpeg([
      ...source, "-an", "-vf", `scale=${rung.width}:${rung.height}`,
      "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
      "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-b:v", rung.bitrate,
      ...dashArgs(outDir)
    ])
    return takeStreamInfo(outDir)
  })
  const audioDir = join(dir, "audio")
  await mkdir(audioDir, { recursive: true })
  const audio = ffmpeg([
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=10",
    "-c:a", "aac", "-b:a", "128k", "-ac", "2", ...dashArgs(audioDir)
  ]).then(() => takeStreamInfo(audioDir))
  const [videoInfos, audioInfo] = await Promise.all([Promise.all(videos), audio])

  const first = videoInfos[0]!
  if (videoInfos.some((info) => info.timeline !== first.timeline || info.timescale !== first.timescale)) {
    throw new Error("fixture rungs have different segment timelines; one SegmentTemplate cannot describe them")
  }
  const representations = fixtureRungs.map((rung, i) =>
    `      <Representation id="${rung.id}" codecs="${videoInfos[i]!.codecs}" bandwidth="${videoInfos[i]!.bandwidth}" width="${rung.width}" height="${rung.height}" frameRate="30" sar="1:1"/>`
  )
  const manifest = `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="${first.duration}" minBufferTime="PT2S">
  <Period id="0" start="PT0S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1" maxWidth="1280" maxHeight="720">
      <SegmentTemplate timescale="${first.timescale}" initialization="video/$RepresentationID$/init.mp4" media="video/$RepresentationID$/seg-$Number%05d$.m4s" startNumber="1">
        <SegmentTimeline>${first.timeline}</SegmentTimeline>
      </SegmentTemplate>
${representations.join("\n")}
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="und" segmentAlignment="true" startWithSAP="1">
      <SegmentTemplate timescale="${audioInfo.timescale}" initialization="audio/init.mp4" media="audio/seg-$Number%05d$.m4s" startNumber="1">
        <SegmentTimeline>${audioInfo.timeline}</SegmentTimeline>
      </SegmentTemplate>
      <Representation id="audio" codecs="${audioInfo.codecs}" bandwidth="${audioInfo.bandwidth}" audioSamplingRate="48000">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
`
  await writeFile(join(dir, "manifest.mpd"), manifest)
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
      await buildFfmpegFixturePresentation(join(root, "demo"))
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

layer(ServerLive.pipe(Layer.provideMerge(FixtureLive)), { timeout: "60 seconds", excludeTestServices: true })(
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
        expect(html).toContain("window.__player")

        const script = yield* get("/_player/dash.all.min.js")
        expect(script.status).toBe(200)
        expect(script.headers.get("content-type")).toContain("javascript")
        expect((yield* bytes(script)).length).toBeGreaterThan(100_000)

        const index = yield* get("/")
        expect(yield* Effect.promise(() => index.text())).toContain(`/player?src=${encodeURIComponent("/demo/manifest.mpd")}`)
      }))

    it.effect("plays the presentation in headless Chromium", () =>
      Effect.gen(function*() {
        const base = yield* presentationServerUrl
        const playerUrl = `${base}/player?src=${encodeURIComponent(`${base}/demo/manifest.mpd`)}`
        const result = yield* Effect.promise(() => playDash(playerUrl, { minAdvanceSeconds: 2, timeoutMs: 30_000 }))
        expect(result.errors).toEqual([])
        expect(result.currentTime).toBeGreaterThanOrEqual(2)
        expect(fixtureRungs.map((rung) => rung.width)).toContain(result.videoWidth)
        expect(fixtureRungs.map((rung) => rung.height)).toContain(result.videoHeight)
        expect(result.representations.map((r) => r.id).sort()).toEqual(["360p", "720p"])
      }), 45_000)

    it.effect("plays each rung when pinned from the quality selector", () =>
      Effect.gen(function*() {
        const base = yield* presentationServerUrl
        const playerUrl = `${base}/player?src=${encodeURIComponent("/demo/manifest.mpd")}`
        for (const rung of fixtureRungs) {
          const result = yield* Effect.promise(() =>
            playDash(playerUrl, { minAdvanceSeconds: 1, timeoutMs: 30_000, representation: rung.id })
          )
          expect(result.errors, rung.id).toEqual([])
          expect(result.currentRepresentation, rung.id).toBe(rung.id)
          expect([result.videoWidth, result.videoHeight], rung.id).toEqual([rung.width, rung.height])
        }
      }), 45_000)
  }
)
