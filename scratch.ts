import { Effect, Stream } from "effect"
import { Ffmpeg } from "./src/services/Ffmpeg.ts"
import { ffmpegCliLayer } from "./src/layers/ffmpeg/FfmpegCli.ts"
import { planLadder } from "./src/domain/Ladder.ts"
const program = Effect.gen(function*() {
  const ff = yield* Ffmpeg
  const probe = yield* ff.probe("/tmp/exp/src.mp4")
  console.log(JSON.stringify(probe))
  const rungs = planLadder(probe)
  console.log(rungs)
  yield* ff.encodeVideo({ input: "/tmp/exp/src.mp4", outputDir: "/tmp/exp/out/v", rung: rungs[2]!, frameRate: probe.video.frameRate, segmentSeconds: 4, durationSeconds: probe.durationSeconds }).pipe(
    Stream.runForEach((e) => Effect.sync(() => console.log(JSON.stringify(e))))
  )
  const bad = yield* Effect.flip(ff.probe("/etc/passwd"))
  console.log(bad.message)
})
Effect.runPromise(program.pipe(Effect.provide(ffmpegCliLayer()))).catch((e) => console.error("ERR", e))
