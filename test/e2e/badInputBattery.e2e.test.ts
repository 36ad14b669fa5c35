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
 * - hostile file names (unicode, spaces and `../../`; absolute paths; a NUL byte; a 250-character
 *   unicode name of ~500 bytes): the job works, and its source is stored as a plain, short name
 *   inside the job's own folder; a 1000-character name is refused by the API (400 naming
 *   `fileName`; the CLI gets it cut to what its file system allows).
 *
 * Around every API job the test lists, exactly, the top level of the server's storage folder, of
 * its `uploads` and `outputs` areas and of its work folder (a TMPDIR of its own, where task work
 * folders are made): afterwards storage holds only the two areas, `uploads` gained the job's
 * folder holding only its source, `outputs` gained the job's folder if it is ready, and the work
 * folder is as it was. A folder that does not exist is listed as absent, never as empty.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { lastJsonLine, runVidpipe } from "../support/cli.ts"
import { makeClip, makePng, makeTruncatedMp4 } from "../support/clips.ts"
import { checkPresentation, frameCount, readPresentation } from "../support/dashInspect.ts"
import * as hard from "../support/hardClips.ts"
import { maxFileNameBytes } from "../../src/programs/jobRecords.ts"
import type { RunningServer } from "../support/server.ts"
import { startServer } from "../support/server.ts"
import { createJob, put, settled } from "../support/upload.ts"

const run = promisify(execFile)

let workdir = ""
let storage = ""
/** The server's TMPDIR: its work folder, private to it. */
let serverTmp = ""
let server: RunningServer | undefined

interface Outcome {
  /** `refused`: the API gave the name no job. */
  readonly status: "ready" | "failed" | "refused"
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
  /** What the API makes of a hostile name: refuses it, or stores the source under this name. */
  readonly apiName?: { readonly refused: true } | { readonly storedAs: string | RegExp }
}

/** A source that must become a presentation passing `check`. */
const readyAnd = (check: Check) => ({ status: "ready" as const, check })

/** The presentation lasts more than `min` and less than `max` seconds. */
const lastsBetween = (min: number, max: number): Check => async (manifest) => {
  const { mediaPresentationDuration } = await readPresentation(manifest)
  expect(mediaPresentationDuration).toBeGreaterThan(min)
  expect(mediaPresentationDuration).toBeLessThan(max)
}

const twoSecondClip = (output: string) => makeClip({ output, durationSeconds: 2, width: 320, height: 240 })

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
  // Decoded past the damage: the presentation keeps (nearly) the whole 4 s.
  { name: "damaged bytes in the middle", file: "damaged.mp4", make: hard.corruptedInTheMiddle, expected: readyAnd(lastsBetween(3.5, Infinity)) },
  {
    name: "0.5 s clip",
    file: "blink.mp4",
    make: hard.halfSecond,
    expected: readyAnd(async (manifest) => {
      await lastsBetween(0.4, 0.7)(manifest)
      expect((await frameCount(manifest, (await videoRungs(manifest))[0]!.id)).frames).toBe(15)
    })
  },
  {
    name: "odd dimensions 1001x701",
    file: "odd.mp4",
    make: hard.oddSized,
    expected: readyAnd(async (manifest) => {
      const rungs = await videoRungs(manifest)
      for (const rung of rungs) {
        expect(rung.width! % 2, `${rung.id} width ${rung.width}`).toBe(0)
        expect(rung.height! % 2, `${rung.id} height ${rung.height}`).toBe(0)
        expect(Math.min(rung.width!, rung.height!)).toBeLessThanOrEqual(701)
        // Aspect kept within a pixel of rounding.
        expect(Math.abs(rung.width! / rung.height! - 1001 / 701)).toBeLessThan(0.01)
      }
    })
  },
  {
    name: "10-bit 4:2:2",
    file: "tenbit.mp4",
    make: hard.tenBit422,
    expected: readyAnd(async (manifest) => {
      for (const rung of await videoRungs(manifest)) expect((await probeRung(manifest, rung.id)).pix_fmt).toBe("yuv420p")
    })
  },
  {
    name: "interlaced 25i",
    file: "interlaced.mp4",
    make: hard.interlaced,
    expected: readyAnd(async (manifest) => {
      for (const rung of await videoRungs(manifest)) {
        const stream = await probeRung(manifest, rung.id)
        expect(stream.field_order ?? "progressive").toBe("progressive")
        expect(rung.frameRate).toBe(25)
      }
    })
  },
  {
    name: "variable frame rate",
    file: "vfr.mp4",
    make: hard.variableFrameRate,
    expected: readyAnd(async (manifest) => {
      for (const rung of await videoRungs(manifest)) expect((await frameCount(manifest, rung.id)).constantStep, rung.id).toBe(true)
    })
  },
  {
    name: "rotation metadata (phone video)",
    file: "phone.mp4",
    make: hard.rotated,
    expected: readyAnd(async (manifest) => {
      for (const rung of await videoRungs(manifest)) {
        expect(rung.height!, `${rung.id} is portrait`).toBeGreaterThan(rung.width!)
        const stream = await probeRung(manifest, rung.id)
        expect([stream.width, stream.height]).toEqual([rung.width, rung.height])
        expect(stream.side_data_list ?? [], "no display matrix left to turn it again").toEqual([])
      }
    })
  },
  {
    name: "8K source",
    file: "8k.mp4",
    make: hard.eightK,
    expected: readyAnd(async (manifest) => {
      const sizes = (await videoRungs(manifest)).map((r) => [r.width, r.height])
      expect(sizes).toContainEqual([1920, 1080])
      expect(Math.max(...sizes.map(([, h]) => h!))).toBe(1080)
    })
  },
  {
    name: "unicode, spaces and ../ in the name",
    file: "../../ été 🎬 clip (final) v2.mp4",
    make: twoSecondClip,
    expected: { status: "ready" },
    apiName: { storedAs: "été 🎬 clip (final) v2.mp4" }
  },
  { name: "an absolute path as the name", file: "/etc/passwd.mp4", make: twoSecondClip, expected: { status: "ready" }, apiName: { storedAs: "passwd.mp4" } },
  { name: "an absolute path into a temporary folder as the name", file: "/tmp/x/clip.mp4", make: twoSecondClip, expected: { status: "ready" }, apiName: { storedAs: "clip.mp4" } },
  { name: "a NUL byte in the name", file: "clip\u0000.mp4", make: twoSecondClip, expected: { status: "ready" }, apiName: { storedAs: "clip.mp4" } },
  { name: "a 1000-character name", file: `${"x".repeat(1000)}.mp4`, make: twoSecondClip, expected: { status: "ready" }, apiName: { refused: true } },
  {
    name: "a 250-character unicode name (496 bytes)",
    file: `${"é".repeat(246)}.mp4`,
    make: twoSecondClip,
    expected: { status: "ready" },
    // Cut to fit a file system's name, the extension kept.
    apiName: { storedAs: new RegExp(`^é{${Math.floor((maxFileNameBytes - 4) / 2)}}\\.mp4$`) }
  }
]

/** How many bytes a file system allows in a name (255), less a little. */
const cliNameBytes = 250

/** The name as a file system allows it, for the CLI's input: no `/` or NUL, at most `cliNameBytes` (extension kept). */
const cliFileName = (name: string) => {
  const flat = name.replaceAll("/", "∕").replaceAll("\u0000", "␀")
  const extension = path.extname(flat)
  let stem = [...flat.slice(0, flat.length - extension.length)]
  while (Buffer.byteLength(stem.join("") + extension) > cliNameBytes) stem = stem.slice(0, -1)
  return stem.join("") + extension
}

/** Where each case's input is: the name kept for the API, flattened for the CLI's file system. */
const inputPath = (c: Case) => path.join(workdir, "inputs", cliFileName(c.file))

/** A folder's top-level entries, sorted; `absent` when there is no such folder (said, never taken for empty). */
type Listing = ReadonlyArray<string> | "absent"

const listing = async (folder: string): Promise<Listing> => {
  try {
    return (await fs.readdir(folder)).sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "absent"
    throw error
  }
}

interface Snapshot {
  readonly storage: Listing
  readonly uploads: Listing
  readonly outputs: Listing
  readonly work: Listing
}

/** Workers keep source copies beside folder storage (`worker-sources/<host>`): empty once no task holds one. */
const copiesFolder = "worker-sources"

/** The files left under the copies folder (its own, empty, subfolders do not count). */
const copiesLeft = async () =>
  (await fs.readdir(path.join(storage, copiesFolder), { recursive: true, withFileTypes: true }).catch(() => []))
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.join(entry.parentPath, entry.name))

const snapshot = async (): Promise<Snapshot> => ({
  storage: ((listed) => (listed === "absent" ? listed : listed.filter((name) => name !== copiesFolder)))(await listing(storage)),
  uploads: await listing(path.join(storage, "uploads")),
  outputs: await listing(path.join(storage, "outputs")),
  work: await listing(serverTmp)
})

/** An area after a job: what it held plus what it gained; still absent if it was and gained nothing. */
const grown = (before: Listing, gained: ReadonlyArray<string>): Listing =>
  before === "absent" && gained.length === 0 ? "absent" : [...(before === "absent" ? [] : before), ...gained].sort()

/**
 * Waits until the work folder is as it was before the job (a task removes its work folder after
 * it reports the job ready) and no source copy is left, then expects every listed folder to be
 * exactly what it was plus the job's own folders: `uploads/<jobId>`, and `outputs/<jobId>` when
 * the job is ready.
 */
const expectOnlyTheJobsFolders = async (before: Snapshot, jobId: string, status: string) => {
  const deadline = Date.now() + 15_000
  const settled = async () => JSON.stringify(await listing(serverTmp)) === JSON.stringify(before.work) && (await copiesLeft()).length === 0
  while (!(await settled()) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  expect(await copiesLeft(), `job ${jobId} (${status}): source copies left`).toEqual([])
  const uploads = grown(before.uploads, [jobId])
  const outputs = grown(before.outputs, status === "ready" ? [jobId] : [])
  const areas = [["outputs", outputs], ["uploads", uploads]].flatMap(([name, area]) => (area === "absent" ? [] : [name as string]))
  const expected: Snapshot = { storage: areas, uploads, outputs, work: before.work }
  expect(await snapshot(), `job ${jobId} (${status}): storage and work folder at top level`).toEqual(expected)
}

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-battery-"))
  storage = path.join(workdir, "served")
  serverTmp = path.join(workdir, "server-tmp")
  await fs.mkdir(path.join(workdir, "inputs"))
  await fs.mkdir(serverTmp)
  await Promise.all(cases.map((c) => c.make(inputPath(c))))
  // Uploads here are not about expiry (test/e2e/serve.e2e.test.ts is): a minute, not 5 s, so a busy
  // machine cannot make a PUT start late.
  server = await startServer(["--workers", "2"], { VIDPIPE_STORAGE: `file://${storage}`, TMPDIR: serverTmp, VIDPIPE_UPLOAD_EXPIRY_SECONDS: "60" })
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
  if (bytes.length === 0) {
    // Nothing to upload: the API refuses the slot instead (see the zero-bytes test below).
    throw new Error("zero-byte uploads never get a slot")
  }
  const before = await snapshot()
  if (c.apiName !== undefined && "refused" in c.apiName) {
    const response = await server!.api("/v1/jobs", { method: "POST", body: JSON.stringify({ fileName: c.file, contentLength: bytes.length }) })
    const body = await response.json()
    expect(response.status, JSON.stringify(body)).toBe(400)
    expect(body.error.field, JSON.stringify(body)).toBe("fileName")
    expect(await snapshot(), "a refused job stores nothing").toEqual(before)
    return { status: "refused" }
  }
  const created = await createJob(server!, { fileName: c.file, contentLength: bytes.length })
  const upload = await put(created.upload.url, bytes)
  expect(upload.status, upload.body).toBe(200)
  const job = await settled(server!, created.jobId)
  // Nothing escaped the job's folders; the source is the only thing in its own.
  await expectOnlyTheJobsFolders(before, created.jobId, job.status)
  const stored = job.fileName as string
  expect(await listing(path.join(storage, "uploads", created.jobId)), "the job's upload folder holds its source only").toEqual([stored])
  expect(stored, "a plain name").not.toMatch(/[/\\\u0000-\u001f\u007f]|^\./)
  expect(Buffer.byteLength(stored), stored).toBeLessThanOrEqual(maxFileNameBytes)
  if (c.apiName !== undefined && "storedAs" in c.apiName) {
    if (typeof c.apiName.storedAs === "string") expect(stored).toBe(c.apiName.storedAs)
    else expect(stored).toMatch(c.apiName.storedAs)
  }
  return job.status === "failed"
    ? { status: "failed", error: job.error }
    : { status: job.status, manifest: path.join(storage, "outputs", created.jobId, "manifest.mpd") }
}

const expectOutcome = async (c: Case, outcome: Outcome, door: string) => {
  if (door === "API" && c.apiName !== undefined && "refused" in c.apiName) {
    expect(outcome.status, `${door}: ${JSON.stringify(outcome)}`).toBe("refused")
    return
  }
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
    const outcome = c.expected.status === "ready" ? "succeeds correctly" : "fails with a specific reason"
    const refused = c.apiName !== undefined && "refused" in c.apiName
    it(`${c.name}: ${refused ? `${outcome} through the CLI; the API refuses the name (400 naming fileName)` : outcome}`, async () => {
      // Both doors run to their end before either is judged: a job still running on the server
      // would change the next case's storage while it is being listed.
      const [cli, api] = await Promise.allSettled([throughCli(c), c.file === "empty.mp4" ? undefined : throughApi(c)])
      if (cli.status === "rejected") throw cli.reason
      await expectOutcome(c, cli.value, "CLI")
      if (api.status === "rejected") throw api.reason
      if (api.value !== undefined) await expectOutcome(c, api.value, "API")
      // The server is still up and answering.
      expect((await server!.api("/v1/jobs?limit=1")).status).toBe(200)
    }, 180_000)
  }

  it("API: a zero-byte file gets no upload slot (400 naming contentLength)", async () => {
    const before = await snapshot()
    const response = await server!.api("/v1/jobs", { method: "POST", body: JSON.stringify({ fileName: "empty.mp4", contentLength: 0 }) })
    expect(response.status).toBe(400)
    expect((await response.json()).error.field).toBe("contentLength")
    expect(await snapshot()).toEqual(before)
  })

  it("API: an upload whose size differs from the declared one is refused and nothing is stored", async () => {
    const bytes = new Uint8Array(await fs.readFile(inputPath(cases.find((c) => c.make === twoSecondClip)!)))
    for (const sent of [bytes.subarray(0, bytes.length - 1), new Uint8Array([...bytes, 0])]) {
      const before = await snapshot()
      const created = await createJob(server!, { fileName: "declared.mp4", contentLength: bytes.length })
      const upload = await put(created.upload.url, sent)
      expect(upload.status).toBe(403)
      expect(upload.body).toMatch(/SignatureDoesNotMatch|Content-Length/)
      expect(await snapshot(), "nothing stored, not even the job's folder").toEqual(before)
      expect((await (await server!.api(`/v1/jobs/${created.jobId}`)).json()).status).toBe("awaiting-upload")
    }
  })
})
