/**
 * The bad-input battery: awkward and hostile inputs through both the CLI (`vidpipe process`) and
 * the API (`vidpipe serve`: create a job, PUT the bytes to the signed URL, follow the job). Each
 * input either succeeds *correctly* or ends `failed` with a specific reason, the same through both
 * doors, and no process crashes (the server answers after every case).
 *
 * What correct means, per input:
 * - odd dimensions (1001x701): every rung has even dimensions, none above the source;
 * - 10-bit 4:2:2: converted to 8-bit 4:2:0 (plays everywhere);
 * - interlaced (25i, top field first): deinterlaced, progressive output at the frame rate;
 * - variable frame rate: constant frame step in every rung;
 * - rotation metadata (90°): the picture is turned, so the rungs are portrait;
 * - 8K: the ladder stops at its top rung (1080p), never upscales, and the job completes;
 * - 0.5 s: a presentation half a second long;
 * - damaged bytes in the middle: the decoder conceals what it cannot read; the presentation is
 *   complete and valid and lasts as long as the source;
 * - a file name with unicode, spaces or `../`: the job works, and nothing is stored outside the
 *   job's own folder.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { lastJsonLine, runVidpipe } from "./support/cli.ts"
import { makeClip, makePng, makeTruncatedMp4 } from "./support/clips.ts"
import { checkPresentation, frameCount, readPresentation } from "./support/dashInspect.ts"
import * as hard from "./support/hardClips.ts"
import type { RunningServer } from "./support/server.ts"
import { startServer } from "./support/server.ts"
import { createJob, put, settled } from "./support/upload.ts"

const run = promisify(execFile)

let workdir = ""
let storage = ""
let server: RunningServer | undefined

interface Outcome {
  readonly status: "ready" | "failed"
  readonly error?: { readonly _tag: string; readonly message: string }
  /** The manifest on disk, when ready. */
  readonly manifest?: string
}

/** What a ready presentation must show for one input, beyond being complete and valid. */
type Check = (manifest: string) => Promise<void>

interface Case {
  readonly name: string
  readonly file: string
  readonly make: (output: string) => Promise<unknown>
  readonly expected: { readonly status: "ready"; readonly check?: Check } | { readonly status: "failed"; readonly tag: string; readonly says: RegExp }
}

/** The first video stream of a rung's init segment + first media segment, as ffprobe sees it. */
const probeRung = async (manifest: string, rung: string) => {
  const presentation = await readPresentation(manifest)
  const rep = presentation.adaptationSets.flatMap((a) => a.representations).find((r) => r.id === rung)!
  const joined = path.join(workdir, `probe-${Math.random().toString(36).slice(2)}.mp4`)
  await fs.writeFile(joined, Buffer.concat([await fs.readFile(rep.segments[0]!.initUrl), await fs.readFile(rep.segments[0]!.url)]))
  const { stdout } = await run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json", joined])
  await fs.rm(joined)
  return JSON.parse(stdout).streams[0] as { width: number; height: number; pix_fmt: string; field_order?: string; profile: string; side_data_list?: Array<unknown> }
}

const videoRungs = async (manifest: string) =>
  (await readPresentation(manifest)).adaptationSets.filter((a) => a.contentType === "video").flatMap((a) => a.representations)

const cases: ReadonlyArray<Case> = [
  { name: "zero bytes", file: "empty.mp4", make: (f) => fs.writeFile(f, ""), expected: { status: "failed", tag: "UnusableInput", says: /empty \(0 bytes\)/ } },
  { name: "text", file: "notes.mp4", make: (f) => fs.writeFile(f, "Meeting notes, not a video.\n"), expected: { status: "failed", tag: "UnusableInput", says: /text, not a video/ } },
  { name: "PNG", file: "picture.png", make: makePng, expected: { status: "failed", tag: "UnusableInput", says: /still image \(png\), not a video/ } },
  {
    name: "truncated MP4",
    file: "truncated.mp4",
    make: async (f) => makeTruncatedMp4(f, await makeClip({ output: `${f}.whole.mp4`, durationSeconds: 4, width: 320, height: 240 })),
    expected: { status: "failed", tag: "UnusableInput", says: /incomplete or corrupt/ }
  },
  { name: "audio only", file: "voice.m4a", make: hard.audioOnly, expected: { status: "failed", tag: "UnusableInput", says: /no video/ } },
  {
    name: "damaged bytes in the middle",
    file: "damaged.mp4",
    make: hard.corruptedInTheMiddle,
    expected: {
      status: "ready",
      check: async (manifest) => {
        const presentation = await readPresentation(manifest)
        expect(presentation.mediaPresentationDuration).toBeGreaterThan(3.5)
      }
    }
  },
  {
    name: "0.5 s clip",
    file: "blink.mp4",
    make: hard.halfSecond,
    expected: {
      status: "ready",
      check: async (manifest) => {
        const presentation = await readPresentation(manifest)
        expect(presentation.mediaPresentationDuration).toBeGreaterThan(0.4)
        expect(presentation.mediaPresentationDuration).toBeLessThan(0.7)
        expect((await frameCount(manifest, (await videoRungs(manifest))[0]!.id)).frames).toBe(15)
      }
    }
  },
  {
    name: "odd dimensions 1001x701",
    file: "odd.mp4",
    make: hard.oddSized,
    expected: {
      status: "ready",
      check: async (manifest) => {
        const rungs = await videoRungs(manifest)
        for (const rung of rungs) {
          expect(rung.width! % 2, `${rung.id} width ${rung.width}`).toBe(0)
          expect(rung.height! % 2, `${rung.id} height ${rung.height}`).toBe(0)
          expect(Math.min(rung.width!, rung.height!)).toBeLessThanOrEqual(701)
          // Aspect kept within a pixel of rounding.
          expect(Math.abs(rung.width! / rung.height! - 1001 / 701)).toBeLessThan(0.01)
        }
      }
    }
  },
  {
    name: "10-bit 4:2:2",
    file: "tenbit.mp4",
    make: hard.tenBit422,
    expected: {
      status: "ready",
      check: async (manifest) => {
        for (const rung of await videoRungs(manifest)) expect((await probeRung(manifest, rung.id)).pix_fmt).toBe("yuv420p")
      }
    }
  },
  {
    name: "interlaced 25i",
    file: "interlaced.mp4",
    make: hard.interlaced,
    expected: {
      status: "ready",
      check: async (manifest) => {
        for (const rung of await videoRungs(manifest)) {
          const stream = await probeRung(manifest, rung.id)
          expect(stream.field_order ?? "progressive").toBe("progressive")
          expect(rung.frameRate).toBe(25)
        }
      }
    }
  },
  {
    name: "variable frame rate",
    file: "vfr.mp4",
    make: hard.variableFrameRate,
    expected: {
      status: "ready",
      check: async (manifest) => {
        for (const rung of await videoRungs(manifest)) expect((await frameCount(manifest, rung.id)).constantStep, rung.id).toBe(true)
      }
    }
  },
  {
    name: "rotation metadata (phone video)",
    file: "phone.mp4",
    make: hard.rotated,
    expected: {
      status: "ready",
      check: async (manifest) => {
        for (const rung of await videoRungs(manifest)) {
          expect(rung.height!, `${rung.id} is portrait`).toBeGreaterThan(rung.width!)
          const stream = await probeRung(manifest, rung.id)
          expect([stream.width, stream.height]).toEqual([rung.width, rung.height])
          expect(stream.side_data_list ?? [], "no display matrix left to turn it again").toEqual([])
        }
      }
    }
  },
  {
    name: "8K source",
    file: "8k.mp4",
    make: hard.eightK,
    expected: {
      status: "ready",
      check: async (manifest) => {
        const sizes = (await videoRungs(manifest)).map((r) => [r.width, r.height])
        expect(sizes).toContainEqual([1920, 1080])
        expect(Math.max(...sizes.map(([, h]) => h!))).toBe(1080)
      }
    }
  },
  {
    name: "unicode, spaces and ../ in the name",
    file: "../ été 🎬 clip (final) v2.mp4",
    make: (f) => makeClip({ output: f, durationSeconds: 2, width: 320, height: 240 }),
    expected: { status: "ready" }
  }
]

/** Where each case's input is: the name kept for the API, flattened for the CLI's file system. */
const inputPath = (c: Case) => path.join(workdir, "inputs", c.file.replaceAll("/", "∕"))

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-battery-"))
  storage = path.join(workdir, "served")
  await fs.mkdir(path.join(workdir, "inputs"))
  await Promise.all(cases.map((c) => c.make(inputPath(c))))
  server = await startServer(["--workers", "2"], { VIDPIPE_STORAGE: `file://${storage}` })
}, 120_000)
afterAll(async () => {
  await server?.stop()
  await fs.rm(workdir, { recursive: true, force: true })
})

const throughCli = async (c: Case): Promise<Outcome> => {
  const out = path.join(workdir, "cli-out", c.name.replaceAll(/\W+/g, "-"))
  const result = await runVidpipe(["process", inputPath(c), "--out", out, "--json"], { env: { VIDPIPE_DATA_DIR: path.join(workdir, "cli-data") } })
  const json = lastJsonLine(result.stdout)
  if (json.status === "failed") {
    expect(result.code).not.toBe(0)
    expect(result.stderr.trim().split("\n"), result.stderr).toHaveLength(1)
    expect(result.stderr).not.toMatch(/\n\s+at /)
    return { status: "failed", error: json.error }
  }
  expect(result.code, result.stderr).toBe(0)
  return { status: json.status, manifest: json.manifest }
}

const throughApi = async (c: Case): Promise<Outcome> => {
  const bytes = new Uint8Array(await fs.readFile(inputPath(c)))
  const created = await createJob(server!, { fileName: c.file, contentLength: bytes.length })
  const upload = await put(created.upload.url, bytes)
  if (bytes.length === 0) {
    // Nothing to upload: the API refuses the slot instead (see the zero-bytes test below).
    throw new Error("zero-byte uploads never get a slot")
  }
  expect(upload.status, upload.body).toBe(200)
  const job = await settled(server!, created.jobId)
  // Nothing escaped the job's folders.
  for (const area of ["uploads", "outputs"]) {
    expect(await fs.readdir(path.join(storage, area)), `${area} holds job folders only`).not.toContain("..")
  }
  const uploaded = await fs.readdir(path.join(storage, "uploads", created.jobId)).catch(() => [])
  for (const name of uploaded) expect(name).not.toMatch(/\.\.|\//)
  return job.status === "failed"
    ? { status: "failed", error: job.error }
    : { status: job.status, manifest: path.join(storage, "outputs", created.jobId, "manifest.mpd") }
}

const expectOutcome = async (c: Case, outcome: Outcome, door: string) => {
  if (c.expected.status === "failed") {
    expect(outcome.status, `${door}: ${JSON.stringify(outcome)}`).toBe("failed")
    expect(outcome.error?._tag, door).toBe(c.expected.tag)
    expect(outcome.error?.message, door).toMatch(c.expected.says)
    return
  }
  expect(outcome.status, `${door}: ${JSON.stringify(outcome.error)}`).toBe("ready")
  const report = await checkPresentation(outcome.manifest!)
  expect(report.problems, `${door}: ${outcome.manifest}`).toEqual([])
  await c.expected.check?.(outcome.manifest!)
}

describe("bad-input battery, through the CLI and the API", () => {
  for (const c of cases) {
    it(`${c.name}: ${c.expected.status === "ready" ? "succeeds correctly" : "fails with a specific reason"}`, async () => {
      const cli = throughCli(c)
      const api = c.file === "empty.mp4" ? undefined : throughApi(c)
      await expectOutcome(c, await cli, "CLI")
      if (api !== undefined) await expectOutcome(c, await api, "API")
      // The server is still up and answering.
      expect((await server!.api("/v1/jobs?limit=1")).status).toBe(200)
    }, 180_000)
  }

  it("API: a zero-byte file gets no upload slot (400 naming contentLength)", async () => {
    const response = await server!.api("/v1/jobs", { method: "POST", body: JSON.stringify({ fileName: "empty.mp4", contentLength: 0 }) })
    expect(response.status).toBe(400)
    expect((await response.json()).error.field).toBe("contentLength")
  })

  it("API: an upload whose size differs from the declared one is refused and nothing is stored", async () => {
    const bytes = new Uint8Array(await fs.readFile(inputPath(cases.at(-1)!)))
    for (const sent of [bytes.subarray(0, bytes.length - 1), new Uint8Array([...bytes, 0])]) {
      const created = await createJob(server!, { fileName: "declared.mp4", contentLength: bytes.length })
      const upload = await put(created.upload.url, sent)
      expect(upload.status).toBe(403)
      expect(upload.body).toMatch(/SignatureDoesNotMatch|Content-Length/)
      expect(await fs.readdir(path.join(storage, "uploads", created.jobId)).catch(() => [])).toEqual([])
      expect((await (await server!.api(`/v1/jobs/${created.jobId}`)).json()).status).toBe("awaiting-upload")
    }
  })
})
