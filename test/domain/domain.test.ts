/**
 * The pure rules: probe interpretation, ladder planning, manifest building, ffmpeg progress
 * and track reading.
 */
import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { buildMpd } from "../../src/domain/Mpd.ts"
import { parseLadder, planLadder } from "../../src/domain/Ladder.ts"
import type { FfprobeOutput, MediaProbe } from "../../src/domain/Probe.ts"
import { chooseFrameRate, interpretProbe } from "../../src/domain/Probe.ts"
import type { Track } from "../../src/domain/Track.ts"
import { expandTimeline } from "../../src/domain/Track.ts"
import { makeProgressParser } from "../../src/layers/ffmpeg/progress.ts"
import { readTrackManifest, segmentFileName } from "../../src/layers/ffmpeg/trackManifest.ts"
import { classifyHeader } from "../../src/layers/ffmpeg/sniff.ts"

const videoStream = (extra: Record<string, unknown> = {}) => ({
  codec_type: "video",
  codec_name: "h264",
  width: 1920,
  height: 1080,
  avg_frame_rate: "30/1",
  r_frame_rate: "30/1",
  pix_fmt: "yuv420p",
  ...extra
})
const probeOf = (streams: ReadonlyArray<Record<string, unknown>>, format: Record<string, string> = { format_name: "mov,mp4,m4a,3gp,3g2,mj2", duration: "10.0" }) =>
  interpretProbe({ streams, format } as FfprobeOutput)
const usable = (result: Result.Result<MediaProbe, unknown>) => Result.getOrThrow(result)
const reason = (result: Result.Result<MediaProbe, { readonly reason: string }>) =>
  Result.isFailure(result) ? result.failure.reason : "usable"

describe("probe interpretation", () => {
  it("reads size, rate and audio of an ordinary file", () => {
    const probe = usable(probeOf([videoStream(), { codec_type: "audio", codec_name: "aac", channels: 6, sample_rate: "44100" }]))
    expect(probe.video).toMatchObject({ displayWidth: 1920, displayHeight: 1080, frameRate: "30/1", rotation: 0 })
    expect(probe.audio).toEqual({ codec: "aac", channels: 6, sampleRate: 44100 })
    expect(probe.durationSeconds).toBe(10)
  })

  it("applies rotation metadata (a phone held upright) and non-square pixels to the display size", () => {
    const rotated = usable(probeOf([videoStream({ side_data_list: [{ rotation: -90 }] })]))
    expect(rotated.video).toMatchObject({ rotation: 270, displayWidth: 1080, displayHeight: 1920 })
    const legacyTag = usable(probeOf([videoStream({ tags: { rotate: "90" } })]))
    expect([legacyTag.video.displayWidth, legacyTag.video.displayHeight]).toEqual([1080, 1920])
    const anamorphic = usable(probeOf([videoStream({ width: 720, height: 576, sample_aspect_ratio: "64:45" })]))
    expect([anamorphic.video.displayWidth, anamorphic.video.displayHeight]).toEqual([1024, 576])
  })

  it("refuses what is not a video, each with its own reason", () => {
    expect(reason(probeOf([{ codec_type: "audio", codec_name: "mp3" }]))).toBe("the file has audio but no video stream")
    expect(reason(probeOf([]))).toBe("the file has no video stream")
    expect(reason(probeOf([videoStream({ codec_name: "png" })], { format_name: "png_pipe" }))).toMatch(/still image \(png\)/)
    expect(reason(probeOf([videoStream({ codec_name: "mjpeg" })], { format_name: "image2" }))).toMatch(/still image/)
    expect(reason(probeOf([videoStream()], { format_name: "mov" }))).toMatch(/no duration/)
    expect(reason(probeOf([videoStream({ width: 0, height: 0 })]))).toMatch(/no usable picture size/)
    // Cover art in an audio file is not a video stream.
    expect(reason(probeOf([{ codec_type: "audio", codec_name: "mp3" }, videoStream({ codec_name: "mjpeg", disposition: { attached_pic: 1 } })]))).toMatch(/no video stream/)
  })

  it("keeps 29.97 and 30 apart, snaps near-standard averages, and caps at 60", () => {
    expect(chooseFrameRate("30000/1001", "30000/1001")).toBe("30000/1001")
    expect(chooseFrameRate("30/1", "30/1")).toBe("30/1")
    expect(chooseFrameRate("2997/100", "30/1")).toBe("30000/1001")
    expect(chooseFrameRate("0/0", "25/1")).toBe("25/1")
    expect(chooseFrameRate("120/1", "120/1")).toBe("60/1")
    expect(chooseFrameRate("15/1", "15/1")).toBe("15000/1000")
    expect(chooseFrameRate(undefined, undefined)).toBe("30/1")
  })
})

const probeWithSize = (displayWidth: number, displayHeight: number, frameRate = "30/1"): MediaProbe => ({
  container: "mp4",
  durationSeconds: 10,
  video: { codec: "h264", width: displayWidth, height: displayHeight, displayWidth, displayHeight, rotation: 0, frameRate, pixelFormat: "yuv420p", interlaced: false },
  audio: null
})
const sizes = (probe: MediaProbe, ladder?: ReadonlyArray<number>) => planLadder(probe, ladder).map((r) => `${r.id}:${r.width}x${r.height}`)

describe("ladder planning", () => {
  it("plans every default rung for 1080p and never upscales", () => {
    expect(sizes(probeWithSize(1920, 1080))).toEqual(["1080p:1920x1080", "720p:1280x720", "480p:854x480", "360p:640x360"])
    expect(sizes(probeWithSize(1280, 720))).toEqual(["720p:1280x720", "480p:854x480", "360p:640x360"])
  })

  it("names rungs by their short side, so portrait video gets the same tiers", () => {
    expect(sizes(probeWithSize(720, 1280))).toEqual(["720p:720x1280", "480p:480x854", "360p:360x640"])
  })

  it("keeps odd and unusual shapes even and within the source", () => {
    for (const rung of planLadder(probeWithSize(1001, 701))) {
      expect(rung.width % 2 + rung.height % 2).toBe(0)
      expect(rung.width).toBeLessThanOrEqual(1001)
      expect(rung.height).toBeLessThanOrEqual(701)
    }
    expect(sizes(probeWithSize(1001, 701))).toEqual(["480p:686x480", "360p:514x360"])
    expect(sizes(probeWithSize(3840, 1600))).toEqual(["1080p:2592x1080", "720p:1728x720", "480p:1152x480", "360p:864x360"])
  })

  it("gives a source smaller than every rung one rung at its own size", () => {
    expect(sizes(probeWithSize(320, 240))).toEqual(["240p:320x240"])
    expect(sizes(probeWithSize(321, 241))).toEqual(["240p:320x240"])
  })

  it("honours a requested ladder and scales bitrate with pixels and frame rate", () => {
    expect(sizes(probeWithSize(1920, 1080), [720, 360, 720])).toEqual(["720p:1280x720", "360p:640x360"])
    const [r30] = planLadder(probeWithSize(1920, 1080), [1080])
    const [r60] = planLadder(probeWithSize(1920, 1080, "60/1"), [1080])
    expect(r30!.maxBitrate).toBe(5_000_000)
    expect(r60!.maxBitrate).toBe(7_500_000)
    expect(parseLadder("1080, 720p,360")).toEqual([1080, 720, 360])
    expect(parseLadder("big")).toBeUndefined()
    expect(parseLadder("8")).toBeUndefined()
  })
})

const videoTrack = (id: string, width: number, height: number, timeline: Track["timeline"]): Track => ({
  kind: "video", id, codecs: "avc1.64001f", bandwidth: width * 1000, timescale: 30000, startNumber: 1, timeline,
  initialization: "init.mp4", media: "seg-$Number%05d$.m4s", files: [], width, height, frameRate: "30/1"
})

describe("manifest building", () => {
  const timeline = [{ t: 0, d: 120000, r: 1 }, { d: 60000 }]
  it("writes one video adaptation set with a shared SegmentTemplate, audio in its own", () => {
    const audio: Track = {
      kind: "audio", id: "audio", codecs: "mp4a.40.2", bandwidth: 130000, timescale: 48000, startNumber: 1,
      timeline: [{ t: 0, d: 192000, r: 1 }, { d: 96000 }], initialization: "init.mp4", media: "seg-$Number%05d$.m4s",
      files: [], sampleRate: 48000, channels: 2
    }
    const xml = Result.getOrThrow(buildMpd({ video: [videoTrack("720p", 1280, 720, timeline), videoTrack("360p", 640, 360, timeline)], audio }))
    expect(xml.match(/<AdaptationSet/g)).toHaveLength(2)
    expect(xml).toContain(`media="video/$RepresentationID$/seg-$Number%05d$.m4s"`)
    expect(xml).toContain(`mediaPresentationDuration="PT10S"`)
    expect(xml.indexOf(`id="360p"`)).toBeLessThan(xml.indexOf(`id="720p"`))
    expect(xml).toContain(`<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>`)
  })

  it("refuses rungs whose segments are not aligned, and a presentation without video", () => {
    const other = [{ t: 0, d: 150000 }, { d: 150000 }]
    const refused = buildMpd({ video: [videoTrack("720p", 1280, 720, timeline), videoTrack("360p", 640, 360, other)], audio: undefined })
    expect(Result.isFailure(refused) && refused.failure.reason).toMatch(/not segment-aligned: 720p has 3 segments, 360p has 2/)
    expect(Result.isFailure(buildMpd({ video: [], audio: undefined }))).toBe(true)
  })

  it("expands timelines with repeats and explicit starts", () => {
    expect(expandTimeline([{ t: 10, d: 5, r: 2 }, { d: 3 }, { t: 40, d: 1 }])).toEqual([
      { start: 10, duration: 5 }, { start: 15, duration: 5 }, { start: 20, duration: 5 }, { start: 25, duration: 3 }, { start: 40, duration: 1 }
    ])
  })
})

describe("ffmpeg output readers", () => {
  it("turns -progress blocks into fractions of the duration", () => {
    const parse = makeProgressParser(10)
    const samples = ["frame=30", "out_time_us=2500000", "speed=1.5x", "progress=continue", "out_time_us=N/A", "progress=end"].map(parse)
    expect(samples.filter((s) => s !== undefined)).toEqual([{ fraction: 0.25, speed: 1.5 }, { fraction: 1, speed: 1.5 }])
  })

  it("reads ffmpeg's per-track MPD and measures bandwidth from the segment files", () => {
    const xml = `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period><AdaptationSet contentType="video">
      <Representation id="0" mimeType="video/mp4" codecs="avc1.64001f" bandwidth="1" width="1280" height="720">
      <SegmentTemplate timescale="30000" initialization="init.mp4" media="seg-$Number%05d$.m4s" startNumber="1">
      <SegmentTimeline><S t="0" d="120000" r="1" /><S d="30000" /></SegmentTimeline></SegmentTemplate></Representation></AdaptationSet></Period></MPD>`
    const sizes = new Map([["init.mp4", 900], ["seg-00001.m4s", 500_000], ["seg-00002.m4s", 400_000], ["seg-00003.m4s", 900_000]])
    const track = Result.getOrThrow(readTrackManifest("video", "720p", xml, { sizes }))
    expect(track.bandwidth).toBe(1_000_000) // 500 kB over 4 s; the short last segment is left out
    expect(track.files).toEqual(["init.mp4", "seg-00001.m4s", "seg-00002.m4s", "seg-00003.m4s"])
    expect([track.width, track.height, track.timescale]).toEqual([1280, 720, 30000])
    sizes.delete("seg-00002.m4s")
    const incomplete = readTrackManifest("video", "720p", xml, { sizes })
    expect(Result.isFailure(incomplete) && incomplete.failure).toMatch(/missing seg-00002\.m4s/)
    expect(segmentFileName("seg-$Number%05d$.m4s", 42)).toBe("seg-00042.m4s")
  })

  it("tells text, MP4 boxes and other bytes apart", () => {
    const encoder = new TextEncoder()
    expect(classifyHeader(encoder.encode("hello, these are notes\n"))).toBe("text")
    expect(classifyHeader(new Uint8Array([0, 0, 0, 32, ...encoder.encode("ftypisom")]))).toBe("iso-bmff")
    expect(classifyHeader(new Uint8Array([0, 1, 2, 3, 250, 7, 0]))).toBe("unknown")
  })
})
