/**
 * The HLS playlists (src/domain/Hls.ts) from a job's tracks: media playlists over the tracks' own
 * init and segment files, a master naming each rung with peak and average bandwidth of video plus
 * audio, and refusals when a named segment is not stored or rungs are not aligned. The files are
 * read back by the RFC 8216 checker of the end-to-end tests (test/support/hlsInspect.ts).
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { buildHls, mediaFileName } from "../../src/domain/Hls.ts"
import type { Track } from "../../src/domain/Track.ts"
import { checkHls, parseAttributes } from "../support/hlsInspect.ts"

const video = (id: string, width: number, height: number, bandwidth: number): Track => ({
  kind: "video", id, codecs: "avc1.64001f", bandwidth, timescale: 15360, startNumber: 1,
  // 4 s, 4 s, 2.5 s: the last segment shorter, as a 10.5 s source gives.
  timeline: [{ t: 0, d: 61440, r: 1 }, { d: 38400 }],
  initialization: "init.mp4", media: "seg-$Number%05d$.m4s",
  files: ["init.mp4", "seg-00001.m4s", "seg-00002.m4s", "seg-00003.m4s"],
  width, height, frameRate: "30000/1001"
})
const audio: Track = {
  kind: "audio", id: "audio", codecs: "mp4a.40.2", bandwidth: 130_000, timescale: 48000, startNumber: 1,
  timeline: [{ t: 0, d: 192000, r: 1 }, { d: 126000 }],
  initialization: "init.mp4", media: "seg-$Number%05d$.m4s",
  files: ["init.mp4", "seg-00001.m4s", "seg-00002.m4s", "seg-00003.m4s"],
  sampleRate: 48000, channels: 2
}
const folderOf = (track: Track) => (track.kind === "video" ? `video/${track.id}` : "audio")
// Every segment 100 kB: an average of 100,000 × 8 × 3 / 10.5 s.
const sizeOf = () => 100_000

const playlists = (input: Parameters<typeof buildHls>[0]) => {
  const built = buildHls(input)
  if (Result.isFailure(built)) throw new Error(built.failure.message)
  return new Map(built.success.map((file) => [file.path, file.body]))
}

describe("HLS playlists from a job's tracks", () => {
  it("expands the DASH template's segment numbers", () => {
    expect(mediaFileName("seg-$Number%05d$.m4s", 7)).toBe("seg-00007.m4s")
    expect(mediaFileName("seg-$Number$.m4s", 12)).toBe("seg-12.m4s")
  })

  it("writes one media playlist per track over its own files, then the master, last", () => {
    const files = playlists({ video: [video("720p", 1280, 720, 3_000_000), video("360p", 640, 360, 800_000)], audio, folderOf, sizeOf })
    expect([...files.keys()]).toEqual(["video/720p/index.m3u8", "video/360p/index.m3u8", "audio/index.m3u8", "master.m3u8"])
    const media = files.get("video/720p/index.m3u8")!.split("\n")
    expect(media).toContain("#EXT-X-VERSION:6")
    expect(media).toContain("#EXT-X-TARGETDURATION:4")
    expect(media).toContain(`#EXT-X-MAP:URI="init.mp4"`)
    expect(media.filter((line) => line.startsWith("#EXTINF:"))).toEqual(["#EXTINF:4.000000,", "#EXTINF:4.000000,", "#EXTINF:2.500000,"])
    expect(media.filter((line) => line.startsWith("seg-"))).toEqual(["seg-00001.m4s", "seg-00002.m4s", "seg-00003.m4s"])
    expect(media.at(-2)).toBe("#EXT-X-ENDLIST")
  })

  it("lists rungs from the lowest bandwidth with video + audio bandwidths, codecs, size and rate", () => {
    const master = playlists({ video: [video("720p", 1280, 720, 3_000_000), video("360p", 640, 360, 800_000)], audio, folderOf, sizeOf }).get("master.m3u8")!
    const streams = master.split("\n").filter((line) => line.startsWith("#EXT-X-STREAM-INF:")).map((line) => parseAttributes(line.slice(18)))
    expect(streams.map((s) => s["RESOLUTION"])).toEqual(["640x360", "1280x720"])
    expect(streams[1]).toMatchObject({
      // RFC 8216's peak: the 2.5 s last segment alone (runs of 2 to 6 s), video's plus audio's 2.625 s one.
      "BANDWIDTH": String(Math.ceil(800_000 / 2.5) + Math.ceil(800_000 / 2.625)),
      // Three 100 kB segments over 10.5 s of video and 10.625 s of audio.
      "AVERAGE-BANDWIDTH": String(Math.round(2_400_000 / 10.5) + Math.round(2_400_000 / 10.625)),
      "CODECS": "avc1.64001f,mp4a.40.2",
      "FRAME-RATE": "29.970",
      "AUDIO": "audio"
    })
    expect(master).toContain(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio"`)
  })

  it("rounds the target duration as RFC 8216 counts it: a 4.5 s segment needs 5", () => {
    const long = { ...video("360p", 640, 360, 800_000), timeline: [{ t: 0, d: 69120 }, { d: 61440 }] }
    const files = playlists({ video: [long], audio: undefined, folderOf, sizeOf })
    expect(files.get("video/360p/index.m3u8")).toContain("#EXT-X-TARGETDURATION:5")
    expect(files.get("master.m3u8")).not.toContain("AUDIO=")
  })

  it("refuses a playlist naming a segment that is not stored, and rungs that do not align", () => {
    const missing = buildHls({ video: [video("360p", 640, 360, 800_000)], audio, folderOf, sizeOf: (_track, file) => (file === "seg-00002.m4s" ? undefined : 1) })
    expect(Result.isFailure(missing) && missing.failure.message).toMatch(/seg-00002\.m4s is named by the playlist but not stored/)
    const short = { ...video("720p", 1280, 720, 3_000_000), timeline: [{ t: 0, d: 61440 }] }
    expect(Result.isFailure(buildHls({ video: [video("360p", 640, 360, 800_000), short], audio, folderOf, sizeOf }))).toBe(true)
  })

  it("passes the RFC 8216 checker the end-to-end tests use, which fails a broken playlist", async () => {
    const folder = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-hls-"))
    try {
      const tracks = [video("720p", 1280, 720, 3_000_000), audio]
      for (const track of tracks) {
        await fs.mkdir(path.join(folder, folderOf(track)), { recursive: true })
        for (const file of track.files) await fs.writeFile(path.join(folder, folderOf(track), file), "x")
      }
      for (const [name, body] of playlists({ video: [tracks[0]!], audio, folderOf, sizeOf })) await fs.writeFile(path.join(folder, name), body)
      expect((await checkHls(path.join(folder, "master.m3u8"))).problems).toEqual([])
      // The checker can fail: a target below a segment, a missing segment file.
      const media = path.join(folder, "video/720p/index.m3u8")
      await fs.writeFile(media, (await fs.readFile(media, "utf8")).replace("#EXT-X-TARGETDURATION:4", "#EXT-X-TARGETDURATION:3"))
      await fs.rm(path.join(folder, "audio/seg-00003.m4s"))
      const problems = (await checkHls(path.join(folder, "master.m3u8"))).problems
      expect(problems.some((p) => p.includes("rounds above EXT-X-TARGETDURATION 3"))).toBe(true)
      expect(problems.some((p) => p.includes("seg-00003.m4s, which is not there"))).toBe(true)
    } finally {
      await fs.rm(folder, { recursive: true, force: true })
    }
  })
})
