import { execFile } from "node:child_process"
import { cp, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { checkPresentation, frameCount, readPresentation, validateMpdSchema } from "../support/dashInspect.ts"

const exec = promisify(execFile)
const ffmpeg = (args: ReadonlyArray<string>) => exec("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args])

const dashOutput = (segSeconds: number, mpd: string) => [
  "-f", "dash", "-seg_duration", String(segSeconds), "-use_template", "1", "-use_timeline", "1",
  "-init_seg_name", "init.mp4", "-media_seg_name", "seg-$Number%05d$.m4s", mpd
]

/** One rung, encoded the way vidpipe does: fixed GOP equal to the segment duration. */
const encodeRung = async (dir: string, id: string, height: number, gopSeconds = 4) => {
  await mkdir(path.join(dir, "video", id), { recursive: true })
  await ffmpeg([
    "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=10", "-vf", `scale=-2:${height}`,
    "-c:v", "libx264", "-preset", "veryfast", "-g", String(30 * gopSeconds), "-keyint_min", String(30 * gopSeconds),
    "-sc_threshold", "0", "-force_key_frames", `expr:gte(t,n_forced*${gopSeconds})`,
    ...dashOutput(gopSeconds, path.join(dir, "video", id, "rung.mpd"))
  ])
}

const encodeAudio = async (dir: string) => {
  await mkdir(path.join(dir, "audio"), { recursive: true })
  await ffmpeg([
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=10", "-ac", "2",
    "-c:a", "aac", "-b:a", "128k", ...dashOutput(4, path.join(dir, "audio", "audio.mpd"))
  ])
}

interface Part {
  readonly timeline: string
  readonly timescale: string
  readonly codecs: string
  readonly bandwidth: string
}

/** Pulls what the combined manifest needs out of ffmpeg's per-rung MPD. */
const readPart = async (mpd: string): Promise<Part> => {
  const xml = await readFile(mpd, "utf8")
  const attr = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(xml)?.[1] ?? ""
  return {
    timeline: /<SegmentTimeline>[\s\S]*?<\/SegmentTimeline>/.exec(xml)?.[0] ?? "",
    timescale: attr("timescale"),
    codecs: attr("codecs"),
    bandwidth: attr("bandwidth")
  }
}

const template = (part: Part, init: string, media: string) =>
  `<SegmentTemplate timescale="${part.timescale}" initialization="${init}" media="${media}" startNumber="1">` +
  `${part.timeline}</SegmentTemplate>`

interface Rung {
  readonly id: string
  readonly width: number
  readonly height: number
}

interface ManifestOptions {
  readonly file?: string // default manifest.mpd
  readonly mediaPresentationDuration?: string // default PT10S, what the media lasts
  readonly minBufferTime?: string | undefined // required by the schema; undefined leaves it out
  readonly audio?: {
    readonly folder?: string // where the audio template points; default "audio"
    readonly audioSamplingRate?: number // declared; default 48000, what the media has
    readonly channels?: number // declared; default 2, what the media has
  } | undefined // undefined: no audio adaptation set
}

/**
 * Writes manifest.mpd in vidpipe's layout. `templateOn: "adaptationSet"` shares the first rung's timeline
 * (what a correct, aligned ladder allows); "representation" gives each rung its own. No rungs: no video set.
 */
const writeManifest = async (
  dir: string,
  rungs: ReadonlyArray<Rung>,
  templateOn: "adaptationSet" | "representation",
  options: ManifestOptions = { audio: {} }
) => {
  const parts = await Promise.all(rungs.map((r) => readPart(path.join(dir, "video", r.id, "rung.mpd"))))
  const audio = await readPart(path.join(dir, "audio", "audio.mpd"))
  const videoTemplate = (part: Part) =>
    template(part, "video/$RepresentationID$/init.mp4", "video/$RepresentationID$/seg-$Number%05d$.m4s")
  const reps = rungs.map((r, i) => {
    const part = parts[i] as Part
    const open = `<Representation id="${r.id}" codecs="${part.codecs}" bandwidth="${part.bandwidth}" width="${r.width}" height="${r.height}"`
    return templateOn === "representation" ? `${open}>${videoTemplate(part)}</Representation>` : `${open}/>`
  })
  const videoSet = rungs.length === 0 ? "" : `
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1" frameRate="30/1">
      ${templateOn === "adaptationSet" ? videoTemplate(parts[0] as Part) : ""}
      ${reps.join("\n      ")}
    </AdaptationSet>`
  const a = options.audio
  const audioFolder = a?.folder ?? "audio"
  const audioSet = a === undefined ? "" : `
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" segmentAlignment="true" startWithSAP="1" lang="und">
      <Representation id="audio" codecs="${audio.codecs}" bandwidth="${audio.bandwidth}" audioSamplingRate="${a.audioSamplingRate ?? 48000}">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${a.channels ?? 2}"/>
        ${template(audio, `${audioFolder}/init.mp4`, `${audioFolder}/seg-$Number%05d$.m4s`)}
      </Representation>
    </AdaptationSet>`
  const minBufferTime = "minBufferTime" in options ? options.minBufferTime : "PT4S"
  const xml = `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static"
     mediaPresentationDuration="${options.mediaPresentationDuration ?? "PT10S"}"${minBufferTime === undefined ? "" : ` minBufferTime="${minBufferTime}"`}>
  <Period id="0" start="PT0S">${videoSet}${audioSet}
  </Period>
</MPD>
`
  const mpdPath = path.join(dir, options.file ?? "manifest.mpd")
  await writeFile(mpdPath, xml)
  return mpdPath
}

const ladder: ReadonlyArray<Rung> = [
  { id: "720p", width: 1280, height: 720 },
  { id: "360p", width: 640, height: 360 }
]

let root = ""
let good = ""
let goodMpd = ""

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "dash-inspect-"))
  good = path.join(root, "good")
  await Promise.all([encodeRung(good, "720p", 720), encodeRung(good, "360p", 360), encodeAudio(good)])
  goodMpd = await writeManifest(good, ladder, "adaptationSet")
})

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true })
})

describe("dashInspect on a correct presentation", () => {
  it("validates the manifest against the MPD schema", async () => {
    const result = await validateMpdSchema(goodMpd)
    expect(result.output).toContain("validates")
    expect(result.ok).toBe(true)
  })

  it("expands an AdaptationSet-level SegmentTemplate + SegmentTimeline", async () => {
    const p = await readPresentation(goodMpd)
    expect(p.mediaPresentationDuration).toBe(10)
    expect(p.adaptationSets.map((as) => as.contentType)).toEqual(["video", "audio"])
    const [hd, sd] = p.adaptationSets[0]?.representations ?? []
    expect(hd).toMatchObject({ id: "720p", width: 1280, height: 720, frameRate: 30, codecs: expect.stringMatching(/^avc1\./) })
    expect(sd?.segments.map((s) => [s.number, s.startTime, s.duration])).toEqual([[1, 0, 4], [2, 4, 4], [3, 8, 2]])
    expect(sd?.segments[1]?.url).toBe(path.join(good, "video/360p/seg-00002.m4s"))
    expect(sd?.segments[1]?.initUrl).toBe(path.join(good, "video/360p/init.mp4"))
    expect(p.adaptationSets[1]?.representations[0]).toMatchObject({ id: "audio", channels: 2, audioSamplingRate: 48000 })
  })

  it("reports a clean, aligned, keyframe-aligned ladder", async () => {
    const report = await checkPresentation(goodMpd)
    expect(report.problems).toEqual([])
    expect(report.ok).toBe(true)
    expect(report.schemaValid).toBe(true)
    expect(report.files).toMatchObject({ missing: [], empty: [] })
    expect(report.files.checked).toBe(2 * 4 + 4) // per rung and audio: init + 3 segments
    expect(report.timelinesAligned).toBe(true)
    expect(report.allSegmentsStartOnKeyframe).toBe(true)
    expect(report.video.map((r) => [r.id, r.width, r.height, r.segmentCount])).toEqual([
      ["720p", 1280, 720, 3],
      ["360p", 640, 360, 3]
    ])
    expect(report.video[0]?.durations).toEqual([4, 4, 2])
    // Timeline and media agree: each segment's first presented frame is at its timeline start.
    for (const s of report.video.flatMap((r) => r.segments)) expect(s.firstPts).toBeCloseTo(s.startTime, 3)
    expect(report.audio).toMatchObject({ channels: 2, sampleRate: 48000, segmentCount: 3 })
    expect(report.videoDuration).toBeCloseTo(10, 3)
  })

  it("counts frames of a rung with a constant step", async () => {
    const result = await frameCount(goodMpd, "360p")
    expect(result.frames).toBe(300)
    expect(result.constantStep).toBe(true)
    expect(result.steps).toHaveLength(1)
    expect(result.steps[0]).toBeCloseTo(1 / 30, 6)
    expect(result.firstPts).toBe(0)
  })
})

describe("dashInspect on broken presentations", () => {
  it("reports rungs whose segment boundaries differ", async () => {
    const dir = path.join(root, "misaligned")
    await cp(good, dir, { recursive: true })
    await rm(path.join(dir, "video", "360p"), { recursive: true })
    await encodeRung(dir, "360p", 360, 5) // 5 s GOP and segments: 5+5 instead of 4+4+2
    const report = await checkPresentation(await writeManifest(dir, ladder, "representation"))
    expect(report.schemaValid).toBe(true)
    expect(report.timelinesAligned).toBe(false)
    expect(report.video[1]?.durations).toEqual([5, 5])
    expect(report.allSegmentsStartOnKeyframe).toBe(true) // each rung is fine on its own
    expect(report.ok).toBe(false)
    expect(report.problems).toEqual([expect.stringContaining("video 360p not aligned with 720p")])
  })

  it("reports rungs with as many segments but different boundaries", async () => {
    const dir = path.join(root, "shifted")
    await cp(good, dir, { recursive: true })
    // The 360p media is untouched (4+4+2, keyframes first); its manifest claims 5+3+2.
    await writeFile(path.join(dir, "video", "360p", "rung.mpd"),
      `<Representation codecs="avc1.64001e" bandwidth="500000"><SegmentTemplate timescale="1">` +
      `<SegmentTimeline><S t="0" d="5"/><S d="3"/><S d="2"/></SegmentTimeline></SegmentTemplate></Representation>`)
    const report = await checkPresentation(await writeManifest(dir, ladder, "representation"))
    expect(report.timelinesAligned).toBe(false)
    expect(report.video[1]?.startTimes).toEqual([0, 5, 8])
    expect(report.problems).toEqual(["video 360p not aligned with 720p: 3 vs 3 segments, segment #1 0+5s vs 0+4s"])
  })

  it("reports missing and empty files and wrong declared sizes", async () => {
    const dir = path.join(root, "broken")
    await cp(good, dir, { recursive: true })
    await rm(path.join(dir, "video", "360p", "seg-00002.m4s"))
    await truncate(path.join(dir, "audio", "seg-00001.m4s"), 0)
    const mpd = await writeManifest(dir, [ladder[0] as Rung, { id: "360p", width: 854, height: 480 }], "adaptationSet")
    const report = await checkPresentation(mpd)
    expect(report.ok).toBe(false)
    expect(report.files.missing).toEqual([path.join(dir, "video/360p/seg-00002.m4s")])
    expect(report.files.empty).toEqual([path.join(dir, "audio/seg-00001.m4s")])
    expect(report.video[1]?.segments[1]?.error).toBe("missing or empty file")
    expect(report.video[1]).toMatchObject({ width: 640, height: 360, declaredWidth: 854, declaredHeight: 480 })
    expect(report.audio?.channels).toBeUndefined() // could not be probed
    expect(report.problems).toEqual(
      expect.arrayContaining([
        "missing file video/360p/seg-00002.m4s",
        "empty file audio/seg-00001.m4s",
        "video 360p segment 2: missing or empty file",
        "video 360p segment 1: 640x360, declared 854x480"
      ])
    )
  })

  it("reports segments that do not start on a keyframe", async () => {
    const dir = path.join(root, "no-keyframes")
    await cp(good, dir, { recursive: true })
    await rm(path.join(dir, "video", "360p"), { recursive: true })
    await mkdir(path.join(dir, "video", "360p"))
    // A 10 s GOP cut every 4 s regardless of keyframes (the HLS muxer can, the DASH one cannot).
    await ffmpeg([
      "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=10", "-c:v", "libx264", "-preset", "veryfast",
      "-g", "300", "-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "4", "-hls_flags", "split_by_time",
      "-hls_fmp4_init_filename", "init.mp4", "-start_number", "1",
      "-hls_segment_filename", path.join(dir, "video", "360p", "seg-%05d.m4s"), path.join(dir, "video", "360p", "p.m3u8")
    ])
    // Stand-in for ffmpeg's per-rung MPD so writeManifest can describe the rung with a nominal 4+4+2 timeline.
    await writeFile(path.join(dir, "video", "360p", "rung.mpd"),
      `<Representation codecs="avc1.64001e" bandwidth="500000"><SegmentTemplate timescale="1">` +
      `<SegmentTimeline><S t="0" d="4" r="1"/><S d="2"/></SegmentTimeline></SegmentTemplate></Representation>`)
    const report = await checkPresentation(await writeManifest(dir, ladder, "representation"))
    expect(report.timelinesAligned).toBe(true)
    expect(report.allSegmentsStartOnKeyframe).toBe(false)
    expect(report.video[1]?.segments.map((s) => s.keyframe)).toEqual([true, false, false])
    expect(report.problems).toEqual([
      expect.stringMatching(/^video 360p segment 2: first frame .* is not a keyframe$/),
      expect.stringMatching(/^video 360p segment 3: first frame .* is not a keyframe$/)
    ])
  })

  it("reports a video that does not last mediaPresentationDuration", async () => {
    const report = await checkPresentation(
      await writeManifest(good, ladder, "adaptationSet", { file: "long.mpd", mediaPresentationDuration: "PT12.5S", audio: {} })
    )
    expect(report.mediaPresentationDuration).toBe(12.5)
    expect(report.problems).toEqual([expect.stringMatching(/^video lasts 10(\.0+\d*)?s, mediaPresentationDuration is 12\.5s$/)])
  })

  it("reports audio whose declared channels and sample rate differ from the media", async () => {
    const report = await checkPresentation(
      await writeManifest(good, ladder, "adaptationSet", { file: "surround.mpd", audio: { channels: 6, audioSamplingRate: 44100 } })
    )
    expect(report.audio).toMatchObject({ declaredChannels: 6, declaredSampleRate: 44100, channels: 2, sampleRate: 48000 })
    expect(report.problems).toEqual(["audio audio: 2 channels, declared 6", "audio audio: 48000 Hz, declared 44100"])
  })

  it("reports audio media ffprobe cannot read", async () => {
    const dir = path.join(root, "garbled")
    await cp(good, dir, { recursive: true })
    await writeFile(path.join(dir, "audio", "init.mp4"), "not an MP4 initialization segment\n")
    const report = await checkPresentation(await writeManifest(dir, ladder, "adaptationSet"))
    expect(report.audio?.channels).toBeUndefined()
    expect(report.problems).toEqual([expect.stringMatching(/^audio audio: ffprobe exited \d+: /)])
  })

  it("reports an audio representation whose media has no audio", async () => {
    const report = await checkPresentation(
      await writeManifest(good, ladder, "adaptationSet", { file: "mute.mpd", audio: { folder: "video/360p" } })
    )
    expect(report.audio?.channels).toBeUndefined()
    expect(report.problems).toEqual(["audio audio: no audio stream in the media"])
  })

  it("reports a presentation without video", async () => {
    const report = await checkPresentation(await writeManifest(good, [], "adaptationSet", { file: "radio.mpd", audio: {} }))
    expect(report.schemaValid).toBe(true)
    expect(report.video).toEqual([])
    expect(report.audio).toMatchObject({ channels: 2, segmentCount: 3 })
    expect(report.problems).toEqual(["no video representation"])
  })

  it("reports a manifest the schema rejects", async () => {
    const report = await checkPresentation(
      await writeManifest(good, ladder, "adaptationSet", { file: "no-buffer.mpd", minBufferTime: undefined, audio: {} })
    )
    expect(report.schemaValid).toBe(false)
    expect(report.schemaOutput).toContain("minBufferTime")
    expect(report.problems).toEqual([expect.stringMatching(/^schema: .*minBufferTime/s)])
    expect(report.video).toHaveLength(2) // everything else still checked
  })

  it("reports an MPD it cannot read instead of throwing", async () => {
    const mpd = path.join(root, "bad.mpd")
    await writeFile(mpd, `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"/>`)
    const report = await checkPresentation(mpd)
    expect(report.ok).toBe(false)
    expect(report.schemaValid).toBe(false)
    expect(report.problems).toEqual([expect.stringMatching(/^schema: /), "parse: mpd-parser: INVALID_NUMBER_OF_PERIOD"])
  })
})

// The timeline and template expansion is mpd-parser's: these pin down how its playlists map onto
// Presentation (numbers, start times in seconds, absolute file paths) and what readPresentation refuses.
describe("readPresentation on mpd-parser's playlists", () => {
  const writeMpd = async (name: string, body: string, mpdAttributes = `type="static" mediaPresentationDuration="PT10S"`) => {
    const file = path.join(root, name)
    await writeFile(file, `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" ${mpdAttributes}>
  <Period><AdaptationSet contentType="video">${body}</AdaptationSet></Period></MPD>`)
    return file
  }
  const segmentsOf = async (mpd: string) => (await readPresentation(mpd)).adaptationSets[0]?.representations[0]?.segments ?? []
  const timeline = `<SegmentTemplate timescale="1" media="s$Number$.m4s" initialization="i.mp4">
    <SegmentTimeline><S t="0" d="4" r="1"/><S d="2"/></SegmentTimeline></SegmentTemplate>`

  it("expands @duration templates and truncates the last segment", async () => {
    const mpd = await writeMpd("duration.mpd", `
      <Representation id="a" bandwidth="1000">
        <SegmentTemplate timescale="1000" duration="4000" startNumber="0" initialization="$RepresentationID$/i.mp4"
                         media="$RepresentationID$/$Bandwidth$-$Number$.m4s"/>
      </Representation>`)
    expect((await readPresentation(mpd)).adaptationSets[0]?.contentType).toBe("video") // @contentType, no @mimeType
    const segments = await segmentsOf(mpd)
    expect(segments.map((s) => [s.number, s.startTime, s.duration, path.relative(root, s.url)])).toEqual([
      [0, 0, 4, "a/1000-0.m4s"],
      [1, 4, 4, "a/1000-1.m4s"],
      [2, 8, 2, "a/1000-2.m4s"]
    ])
    expect(segments[0]?.initUrl).toBe(path.join(root, "a/i.mp4"))
  })

  it("expands $Time$ with presentationTimeOffset", async () => {
    const mpd = await writeMpd("time.mpd", `
      <SegmentTemplate timescale="10" presentationTimeOffset="100" media="t-$Time%08d$.m4s" initialization="i.mp4">
        <SegmentTimeline><S t="100" d="30" r="2"/><S d="10"/></SegmentTimeline>
      </SegmentTemplate>
      <Representation id="b" bandwidth="1"/>`)
    expect((await segmentsOf(mpd)).map((s) => [s.number, s.startTime, s.duration, path.basename(s.url)])).toEqual([
      [1, 0, 3, "t-00000100.m4s"],
      [2, 3, 3, "t-00000130.m4s"],
      [3, 6, 3, "t-00000160.m4s"],
      [4, 9, 1, "t-00000190.m4s"]
    ])
  })

  it("repeats S@r=-1 to the end of the presentation", async () => {
    const mpd = await writeMpd("repeat.mpd", `
      <SegmentTemplate timescale="10" media="r-$Number$.m4s" initialization="i.mp4">
        <SegmentTimeline><S t="0" d="30" r="-1"/></SegmentTimeline>
      </SegmentTemplate>
      <Representation id="c" bandwidth="1"/>`)
    expect((await segmentsOf(mpd)).map((s) => [s.startTime, s.duration])).toEqual([[0, 3], [3, 3], [6, 3], [9, 3]])
  })

  it("follows a BaseURL relative to the MPD and a SegmentList", async () => {
    const mpd = await writeMpd("list.mpd", `
      <BaseURL>sub/</BaseURL>
      <Representation id="d" bandwidth="1">
        <SegmentList timescale="1" duration="4"><Initialization sourceURL="i.mp4"/>
          <SegmentURL media="a.m4s"/><SegmentURL media="b.m4s"/><SegmentURL media="c.m4s"/>
        </SegmentList>
      </Representation>`)
    expect((await segmentsOf(mpd)).map((s) => [s.startTime, s.duration, path.relative(root, s.url), path.relative(root, s.initUrl)])).toEqual([
      [0, 4, "sub/a.m4s", "sub/i.mp4"],
      [4, 4, "sub/b.m4s", "sub/i.mp4"],
      [8, 2, "sub/c.m4s", "sub/i.mp4"]
    ])
  })

  it("reads the declared attributes, the AdaptationSet's @id and an AudioChannelConfiguration on the set", async () => {
    const file = path.join(root, "attributes.mpd")
    await writeFile(file, `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT1M0.5S">
  <Period>
    <AdaptationSet id="7" mimeType="video/mp4" width="1920" height="1080" frameRate="30000/1001" codecs="avc1.640028">${timeline}
      <Representation id="v" bandwidth="5000000"/>
    </AdaptationSet>
    <AdaptationSet id="8" mimeType="audio/mp4" audioSamplingRate="44100">
      <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="1"/>${timeline}
      <Representation id="a" bandwidth="64000" codecs="mp4a.40.2"/>
    </AdaptationSet>
  </Period></MPD>`)
    const p = await readPresentation(file)
    expect(p.mediaPresentationDuration).toBe(60.5)
    expect(p.adaptationSets.map((as) => [as.id, as.contentType])).toEqual([["7", "video"], ["8", "audio"]])
    expect(p.adaptationSets[0]?.representations[0]).toMatchObject({
      id: "v", width: 1920, height: 1080, bandwidth: 5_000_000, codecs: "avc1.640028"
    })
    expect(p.adaptationSets[0]?.representations[0]?.frameRate).toBeCloseTo(29.97, 2)
    expect(p.adaptationSets[1]?.representations[0]).toMatchObject({ id: "a", channels: 1, audioSamplingRate: 44100, codecs: "mp4a.40.2" })
  })

  it.each([
    ["a dynamic MPD", timeline + `<Representation id="a" bandwidth="1"/>`, `type="dynamic" availabilityStartTime="2024-01-01T00:00:00Z"`, "dynamic MPDs are not supported"],
    ["no mediaPresentationDuration", timeline + `<Representation id="a" bandwidth="1"/>`, `type="static"`, "MPD has no mediaPresentationDuration"],
    ["no Representation", "", undefined, "MPD has no Representation"],
    ["no segment information", `<Representation id="a" bandwidth="1"/>`, undefined, "Representation a: no SegmentTemplate or SegmentList"],
    ["a SegmentBase with a segment index", `<Representation id="a" bandwidth="1"><BaseURL>a.mp4</BaseURL><SegmentBase indexRange="100-199"><Initialization range="0-99"/></SegmentBase></Representation>`, undefined, "Representation a: no SegmentTemplate or SegmentList"],
    ["no @initialization", `<SegmentTemplate media="s$Number$.m4s" duration="4"/><Representation id="a" bandwidth="1"/>`, undefined, "no initialization segment"],
    ["no @media", `<SegmentTemplate initialization="i.mp4" duration="4"/><Representation id="a" bandwidth="1"/>`, undefined, "no media URL"],
    ["an unknown template identifier", `<Representation id="a" bandwidth="1"><SegmentTemplate duration="1" initialization="i.mp4" media="$SubNumber$.m4s"/></Representation>`, undefined, "unsupported SegmentTemplate identifier $SubNumber$"],
    ["a remote BaseURL", `<BaseURL>https://cdn.example.com/v/</BaseURL>${timeline}<Representation id="a" bandwidth="1"/>`, undefined, "https://cdn.example.com/v/s1.m4s is not a local file"],
    ["byte ranges", `<Representation id="a" bandwidth="1"><BaseURL>a.mp4</BaseURL><SegmentList duration="4"><Initialization range="0-99"/><SegmentURL mediaRange="100-199"/></SegmentList></Representation>`, undefined, "byte ranges are not supported"],
    ["several BaseURLs", `<BaseURL>x/</BaseURL><BaseURL>y/</BaseURL>${timeline}<Representation id="a" bandwidth="1"/><Representation id="b" bandwidth="1"/>`, undefined, "several BaseURLs"]
  ])("refuses %s", async (name, body, mpdAttributes, error) => {
    const mpd = await writeMpd(`refuse-${name.replace(/\W+/g, "-")}.mpd`, body, mpdAttributes)
    await expect(readPresentation(mpd)).rejects.toThrow(error)
  })

  it("refuses more than one Period", async () => {
    const file = path.join(root, "two-periods.mpd")
    const period = (start: string) => `<Period start="${start}"><AdaptationSet contentType="video">${timeline}<Representation id="a" bandwidth="1"/></AdaptationSet></Period>`
    await writeFile(file, `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT20S">${period("PT0S")}${period("PT10S")}</MPD>`)
    await expect(readPresentation(file)).rejects.toThrow("expected exactly one Period, found 2")
  })
})
