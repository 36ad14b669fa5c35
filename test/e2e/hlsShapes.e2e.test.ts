/**
 * HLS over the same segments, in browsers, on sources of other shapes than the playback fixture
 * (issue 19): portrait, no audio at 29.97 fps, and 23.976 fps. Each presentation's master
 * playlist plays in hls.js and in Shaka Player in Chromium and switches quality down (the top rung
 * pinned and on screen, then the lowest), which a pin that does nothing cannot pass.
 */
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { mkdir, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { presentationServerUrl, servePresentations } from "../../src/entry/http/presentationServer.ts"
import { launchChromium, playDash } from "../support/browser.ts"
import { runVidpipe } from "../support/cli.ts"
import { makeClip } from "../support/clips.ts"

const shapes = [
  { name: "portrait", width: 720, height: 1280, frameRate: "30", audioChannels: 2, rungs: { top: [480, 854], bottom: [360, 640] } },
  { name: "no-audio", width: 960, height: 540, frameRate: "30000/1001", audioChannels: 0, rungs: { top: [854, 480], bottom: [640, 360] } },
  { name: "23.976", width: 1280, height: 720, frameRate: "24000/1001", audioChannels: 2, rungs: { top: [854, 480], bottom: [640, 360] } }
] as const

class Root extends Context.Service<Root, { readonly root: string }>()("vidpipe/test/hlsShapes/Root") {}

const RootLive = Layer.effect(
  Root,
  Effect.acquireRelease(
    Effect.promise(async () => {
      const tmp = await mkdtemp(join(tmpdir(), "vidpipe-hls-shapes-"))
      const root = join(tmp, "root")
      await mkdir(root, { recursive: true })
      for (const shape of shapes) {
        // 12 s: room left to show the switch down even when the top rung reaches the screen late
        // (a 6 s clip once ended, on a busy machine, before the lower rung could appear).
        const clip = await makeClip({ output: join(tmp, `${shape.name}.mp4`), durationSeconds: 12, width: shape.width, height: shape.height, frameRate: shape.frameRate, audioChannels: shape.audioChannels })
        const result = await runVidpipe(["process", clip, "--out", join(root, shape.name), "--ladder", "480,360", "--no-storyboard"], {
          env: { VIDPIPE_DATA_DIR: join(tmp, "data") }
        })
        if (result.code !== 0) throw new Error(`vidpipe process ${shape.name} failed: ${result.stderr}`)
      }
      return { tmp, root }
    }),
    ({ tmp }) => Effect.promise(() => rm(tmp, { recursive: true, force: true }))
  )
)

const ServerLive = Layer.unwrap(Effect.map(Root, ({ root }) => servePresentations({ root, port: 0, logAddress: false })))

layer(ServerLive.pipe(Layer.provideMerge(RootLive)), { timeout: "180 seconds", excludeTestServices: true })("HLS of other shapes", (it) => {
  for (const shape of shapes) {
    it.effect(`${shape.name}: the master playlist plays in hls.js and Shaka Player and switches quality down`, () =>
      Effect.gen(function*() {
        const base = yield* presentationServerUrl
        const playerUrl = `${base}/player?src=${encodeURIComponent(`${base}/${shape.name}/master.m3u8`)}`
        // One browser for both engines, a fresh page each.
        const browser = yield* Effect.acquireRelease(Effect.promise(launchChromium), (b) => Effect.promise(() => b.close()))
        for (const engine of ["hlsjs", "shaka"] as const) {
          const result = yield* Effect.promise(() => playDash(playerUrl, { engine, minAdvanceSeconds: 1, timeoutMs: 60_000, switchDown: true, browser }))
          expect(result.errors, engine).toEqual([])
          expect(result.engine).toBe(engine)
          expect(result.switchedFrom, engine).toBe("480p")
          expect(result.currentRepresentation, engine).toBe("360p")
          expect([result.videoWidth, result.videoHeight], engine).toEqual(shape.rungs.bottom)
          expect(result.representations.find((r) => r.id === "480p")?.width, engine).toBe(shape.rungs.top[0])
        }
      }).pipe(Effect.scoped), 150_000)
  }
})
