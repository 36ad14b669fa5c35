/**
 * The per-job fixed-cost breakdown `vidpipe process --json` prints: the recorder adds up the
 * pipeline's own spans by name, planning is ingest without its probe, and nothing else counts.
 * Time moves only by TestClock, so every duration is exact.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { makeStageRecorder } from "../../src/entry/cli/stageTimings.ts"

const stage = (name: string, millis: number) => TestClock.adjust(`${millis} millis`).pipe(Effect.withSpan(name))

describe("stage timings", () => {
  it.effect("adds up each stage's spans, takes the probe out of planning, and ignores other spans", () =>
    Effect.gen(function*() {
      const recorder = makeStageRecorder()
      yield* Effect.gen(function*() {
        yield* stage("storeLocalSource", 30)
        yield* Effect.gen(function*() {
          yield* stage("Ffmpeg.probe", 40)
          yield* TestClock.adjust("20 millis")
        }).pipe(Effect.withSpan("ingest"))
        yield* stage("Ffmpeg.readBack", 10)
        yield* stage("Ffmpeg.readBack", 15)
        yield* stage("encodeTask.storeOutputs", 5)
        yield* stage("finalize", 7)
        yield* stage("something else", 50)
      }).pipe(Effect.withTracer(recorder.tracer))
      assert.deepStrictEqual(recorder.timings(123), {
        startupMs: 123,
        storeSourceMs: 30,
        probeMs: 40,
        planMs: 20,
        readBackMs: 25,
        storeOutputsMs: 5,
        finalizeMs: 7,
        fixedMs: 123 + 30 + 40 + 20 + 25 + 5 + 7
      })
    }))
})
