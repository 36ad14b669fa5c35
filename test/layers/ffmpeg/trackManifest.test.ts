/**
 * Reading back the small MPD ffmpeg's dash muxer writes for a task (src/layers/ffmpeg/trackManifest.ts):
 * what ffmpeg really writes decodes to the representations, and anything else is a failure with
 * a reason (a Result, never a throw), so the task fails as FfmpegFailed instead of crashing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { readRepresentations } from "../../../src/layers/ffmpeg/trackManifest.ts"

/** Written by ffmpeg 7 (`-f dash -use_template 1 -use_timeline 1`, one video and one audio stream). */
const muxerMpd = `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
	xmlns="urn:mpeg:dash:schema:mpd:2011"
	profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="PT4.0S" maxSegmentDuration="PT2.0S" minBufferTime="PT4.0S">
	<ProgramInformation>
	</ProgramInformation>
	<ServiceDescription id="0">
	</ServiceDescription>
	<Period id="0" start="PT0.0S">
		<AdaptationSet id="0" contentType="video" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true" frameRate="25/1" maxWidth="320" maxHeight="240" par="4:3">
			<Representation id="0" mimeType="video/mp4" codecs="avc1.f4000d" bandwidth="50352" width="320" height="240" sar="1:1">
				<SegmentTemplate timescale="12800" initialization="init-$RepresentationID$.mp4" media="seg-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
					<SegmentTimeline>
						<S t="0" d="25600" r="1" />
					</SegmentTimeline>
				</SegmentTemplate>
			</Representation>
		</AdaptationSet>
		<AdaptationSet id="1" contentType="audio" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true">
			<Representation id="1" mimeType="audio/mp4" codecs="mp4a.40.2" bandwidth="69000" audioSamplingRate="44100">
				<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="1" />
				<SegmentTemplate timescale="44100" initialization="init-$RepresentationID$.mp4" media="seg-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
					<SegmentTimeline>
						<S t="0" d="84992" />
						<S d="89088" />
						<S d="2320" />
					</SegmentTimeline>
				</SegmentTemplate>
			</Representation>
		</AdaptationSet>
	</Period>
</MPD>`

const failureOf = (xml: string) => {
  const result = readRepresentations(xml)
  return Result.isFailure(result) ? result.failure : "(read without failing)"
}

const oneRepresentation = (template: string, attributes = `id="0" codecs="avc1.64001f"`) =>
  `<MPD><Period><AdaptationSet><Representation ${attributes}>${template}</Representation></AdaptationSet></Period></MPD>`

describe("readRepresentations", () => {
  it("reads what ffmpeg's dash muxer writes: every representation, names filled in, numbers as numbers", () => {
    const [video, audio] = Result.getOrThrow(readRepresentations(muxerMpd))
    expect(video).toEqual({
      id: "0",
      codecs: "avc1.f4000d",
      timescale: 12800,
      startNumber: 1,
      timeline: [{ t: 0, d: 25600, r: 1 }],
      initialization: "init-0.mp4",
      media: "seg-0-$Number%05d$.m4s",
      width: 320,
      height: 240,
      sampleRate: undefined,
      channels: undefined
    })
    expect(audio).toMatchObject({ id: "1", codecs: "mp4a.40.2", timescale: 44100, sampleRate: 44100, channels: 1 })
    expect(audio?.timeline).toEqual([{ t: 0, d: 84992 }, { d: 89088 }, { d: 2320 }])
  })

  it("an empty SegmentTimeline is an empty timeline; a missing timescale or start number takes the DASH default", () => {
    const [written] = Result.getOrThrow(readRepresentations(oneRepresentation(`<SegmentTemplate initialization="i.mp4" media="s$Number$.m4s"><SegmentTimeline></SegmentTimeline></SegmentTemplate>`)))
    expect(written).toMatchObject({ timeline: [], timescale: 1, startNumber: 1 })
  })

  it("anything else is a failure that says what is wrong", () => {
    expect(failureOf("not xml at all")).toMatch(/not what its dash muxer writes: .*MPD/)
    expect(failureOf("<MPD><Period></Period></MPD>")).toMatch(/not what its dash muxer writes|no Representation/)
    expect(failureOf(`<MPD><Period id="0"></Period></MPD>`)).toBe("ffmpeg wrote no Representation")
    expect(failureOf(oneRepresentation(""))).toBe("ffmpeg wrote no SegmentTemplate for the track")
    expect(failureOf(oneRepresentation(`<SegmentTemplate initialization="i.mp4" media="s.m4s" timescale="fast" />`))).toMatch(
      /not what its dash muxer writes: Expected a finite number at .*"timescale"/
    )
    expect(failureOf(oneRepresentation(`<SegmentTemplate initialization="i.mp4" media="s.m4s"><SegmentTimeline><S t="0" /></SegmentTimeline></SegmentTemplate>`))).toMatch(
      /Missing key at .*"S"\]\[0\]\["d"\]/
    )
    expect(failureOf(oneRepresentation(`<SegmentTemplate initialization="i.mp4" media="s.m4s" />`, `id="0"`))).toMatch(/Missing key at .*"codecs"/)
  })
})
