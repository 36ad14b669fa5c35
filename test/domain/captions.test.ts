/**
 * Sidecar captions (src/domain/Captions.ts): SubRip converted to WebVTT, WebVTT checked, each bad
 * file refused with the line that is wrong; language tags canonical; labels for a player's menu.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { captionLabel, checkWebVtt, languageOf, sidecarToWebVtt, subRipToWebVtt } from "../../src/domain/Captions.ts"

const failure = <A>(result: Result.Result<A, { readonly line: number; readonly reason: string }>) =>
  Result.isFailure(result) ? { line: result.failure.line, reason: result.failure.reason } : undefined

describe("SubRip to WebVTT", () => {
  it("converts numbered cues (CRLF, BOM, multi-line text, a cue with position settings)", () => {
    const srt = "\uFEFF1\r\n00:00:01,000 --> 00:00:02,500\r\nHello\r\nworld\r\n\r\n2\r\n01:02:03,040 --> 01:02:04,000 X1:10 X2:20\r\nAgain\r\n"
    const vtt = subRipToWebVtt("a.srt", srt)
    expect(Result.isSuccess(vtt) ? vtt.success : vtt.failure.message).toBe(
      "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHello\nworld\n\n01:02:03.040 --> 01:02:04.000\nAgain\n"
    )
  })

  it("refuses naming the line: a missing number, a bad timing, a cue ending before it starts, no cues", () => {
    expect(failure(subRipToWebVtt("a.srt", "Hello\n"))).toMatchObject({ line: 1, reason: expect.stringContaining("cue number") })
    expect(failure(subRipToWebVtt("a.srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03 --> 00:00:04\nno millis\n")))
      .toMatchObject({ line: 6, reason: expect.stringContaining("timing") })
    expect(failure(subRipToWebVtt("a.srt", "1\n00:00:05,000 --> 00:00:02,000\nbackwards\n"))).toMatchObject({ line: 2, reason: "the cue ends before it starts" })
    expect(failure(subRipToWebVtt("a.srt", "\n\n"))).toMatchObject({ line: 1, reason: "no cues" })
  })
})

describe("WebVTT sidecars", () => {
  it("keeps a valid file and refuses a missing header or a bad timing line by its number", () => {
    expect(Result.isSuccess(checkWebVtt("a.vtt", "WEBVTT - title\n\n00:01.000 --> 00:02.000 align:start\nhi\n"))).toBe(true)
    expect(failure(checkWebVtt("a.vtt", "00:01.000 --> 00:02.000\nhi\n"))).toMatchObject({ line: 1 })
    expect(failure(checkWebVtt("a.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n\n00:03,000 --> 00:04.000\nsrt comma\n"))).toMatchObject({ line: 6 })
    expect(failure(sidecarToWebVtt("a.txt", "WEBVTT\n"))).toMatchObject({ line: 1, reason: expect.stringContaining(".srt") })
  })
})

describe("languages and labels", () => {
  it("writes the shortest ISO 639 code and refuses what is not a tag", () => {
    expect(["eng", "fra", "pt-br", "und", "en"].map(languageOf)).toEqual(["en", "fr", "pt-BR", "und", "en"])
    expect(languageOf("e_s")).toBeUndefined()
    expect(languageOf("english language")).toBeUndefined()
    expect([captionLabel("en", 1), captionLabel("en", 2), captionLabel("und", 1)]).toEqual(["English", "English 2", "und"])
  })
})
