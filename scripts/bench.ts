/**
 * `npm run bench`: vidpipe against one raw ffmpeg command, in the same run (this machine is shared
 * and noisy, so only ratios measured side by side mean anything).
 *
 * On generated 1080p clips (an easy and a hard-to-encode one) it times, in rounds so that noise
 * spreads evenly:
 *   P  the reference: the plain ladder command a user would type (split, scale, libx264 with the
 *      same CRF, preset, caps and closed 4 s GOPs, AAC, the DASH muxer), with none of vidpipe's own
 *      filters: our pipeline is never its own reference;
 *   A  one ffmpeg command built by vidpipe's own argument builder (its graph: the deinterlacer
 *      where needed, constant-rate `fps`, square pixels, 8-bit 4:2:0), the same ladder into DASH:
 *      vidpipe against A is the cost of orchestration alone;
 *   D  `vidpipe process` with its defaults (strategy auto; workers from the machine, one per 8 cores);
 *   S  the same with `--no-storyboard`: D against S is what the scrub thumbnails cost;
 *   W  `vidpipe process --workers 1` and `--workers 2`;
 *   B  with `--rendition`, also `vidpipe process --strategy rendition` with 1 and 2 workers;
 * and prints the median wall and CPU time of each with its ratio to P and to A, the top rung's
 * PSNR against the source and its size next to P's, each vidpipe run's fixed cost by stage, the
 * orchestration time per task (everything a worker does for a task but run ffmpeg), and how many
 * cores one ladder ffmpeg can keep busy here (its CPU time over the wall time of the part ffmpeg
 * runs on one thread: decoding and the graph, measured alone).
 *
 *   npm run bench -- [--runs 3] [--seconds 30] [--clips easy,hard] [--keep DIR] [--rendition] [--scaling]
 *   npm run bench -- --upload [--runs 3] [--upload-mib 1024] [--keep DIR]
 *
 * `--scaling` instead measures how the chunk strategy scales on this machine: `vidpipe process
 * --strategy chunk --workers W` pinned with `taskset` to W cores (its ffmpeg children inherit the
 * pinning), and the plain command P pinned to as many, for W = 1 and 2, and prints the efficiency
 * T(1) / (W × T(W)) of each.
 *
 * `--upload` instead measures a large source's upload to `vidpipe serve`: in parts through the API
 * with the command line's client, against one `curl -T` PUT of the same file (scripts/bench/upload.ts).
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Result, Schema } from "effect"
import { planLadder } from "../src/domain/Ladder.ts"
import { FfprobeOutput, frameRateValue, interpretProbe } from "../src/domain/Probe.ts"
import type { MediaProbe } from "../src/domain/Probe.ts"
import type { Rung } from "../src/domain/Ladder.ts"
import { defaultEncoderSettings, ladderCommandArguments, probeArguments } from "../src/layers/ffmpeg/arguments.ts"
import { coresPerLadderEncode, localWorkersFor } from "../src/domain/LocalWorkers.ts"
import { audioEncodingFor, needsDeinterlacer, needsRetiming } from "../src/programs/ingest.ts"
import { measure, median, percentile } from "./bench/measure.ts"
import type { RungQuality } from "./bench/quality.ts"
import { topRungQuality } from "./bench/quality.ts"

// What `npm run vidpipe` runs (built by `npm run bench`'s scripts/ensure.sh).
const cliEntry = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url))
const segmentSeconds = 4
const ladder = [1080, 720, 480, 360]

const option = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? fallback : process.argv[at + 1] ?? fallback
}
const runs = Number(option("runs", "3"))
const seconds = Number(option("seconds", "30"))
const clipNames = option("clips", "easy,hard").split(",")
const keep = option("keep", "")
const scaling = process.argv.includes("--scaling")
const upload = process.argv.includes("--upload")
const uploadMib = Number(option("upload-mib", "1024"))
if (!Number.isInteger(runs) || runs < 1 || !(seconds >= 8) || clipNames.some((c) => c !== "easy" && c !== "hard") || !(Number.isInteger(uploadMib) && uploadMib >= 64)) {
  console.error("bench: --runs N (≥ 1), --seconds S (≥ 8), --clips easy,hard, --upload-mib M (≥ 64)")
  process.exit(2)
}

const say = (line: string) => process.stderr.write(`bench: ${line}\n`)

// ---------------------------------------------------------------------------------------------
// Clips: 1080p30 with stereo audio. Easy: a smooth test pattern. Hard: the same with strong
// temporal noise and a moving hue, which costs x264 many times the bits and time.

const makeClip = (kind: "easy" | "hard", output: string) => {
  const video = kind === "easy"
    ? `testsrc2=size=1920x1080:rate=30:duration=${seconds}`
    : `testsrc2=size=1920x1080:rate=30:duration=${seconds},noise=alls=24:allf=t+u,hue=H=t/2`
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", video,
    "-f", "lavfi", "-i", `sine=frequency=330:beep_factor=3:sample_rate=48000:duration=${seconds}`,
    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p",
    "-c:a", "aac", "-b:a", "192k", "-ac", "2",
    output
  ])
  return output
}

const probe = (file: string): MediaProbe => {
  const output = Schema.decodeUnknownSync(FfprobeOutput)(JSON.parse(execFileSync("ffprobe", probeArguments(file), { encoding: "utf8" })))
  const probed = interpretProbe(output)
  if (Result.isFailure(probed)) throw new Error(probed.failure.message)
  return probed.success
}

// ---------------------------------------------------------------------------------------------
// Configurations

interface Configuration {
  readonly name: string
  readonly strategy: "plain" | "raw" | "default" | "nostoryboard" | "auto" | "rendition" | "chunk"
  readonly workers: number
}

/** What `vidpipe process` picks here without `--workers` (src/domain/LocalWorkers.ts). */
const machineWorkers = localWorkersFor(os.availableParallelism())
const withRendition = process.argv.includes("--rendition")

const configurations: ReadonlyArray<Configuration> = [
  { name: "P  plain ffmpeg ladder (what a user types)", strategy: "plain", workers: 1 },
  { name: "A  vidpipe's graph, one ffmpeg command", strategy: "raw", workers: 1 },
  { name: "D  vidpipe process (defaults)", strategy: "default", workers: machineWorkers },
  { name: "S  vidpipe process --no-storyboard", strategy: "nostoryboard", workers: machineWorkers },
  { name: "W  vidpipe process --workers 1", strategy: "auto", workers: 1 },
  { name: "W  vidpipe process --workers 2", strategy: "auto", workers: 2 },
  ...(withRendition
    ? [
      { name: "B  vidpipe process --strategy rendition", strategy: "rendition", workers: 1 },
      { name: "B  vidpipe process --strategy rendition", strategy: "rendition", workers: 2 }
    ] as const
    : [])
]

interface Sample {
  readonly wallSeconds: number
  readonly cpuSeconds: number
  /** Per task, from the workers' timing lines (vidpipe only). */
  readonly orchestrationMs: ReadonlyArray<number>
  /** The job's fixed costs by stage, from `vidpipe process --json` (vidpipe only). */
  readonly timings?: Record<string, number>
}

/** The `timings` of the `--json` line `vidpipe process` ends with. */
const TimingsLine = Schema.fromJsonString(Schema.Struct({ timings: Schema.Record(Schema.String, Schema.Number) }))
const timingsOf = (stdout: string) => {
  const last = stdout.trim().split("\n").at(-1) ?? ""
  const decoded = Schema.decodeUnknownOption(TimingsLine)(last)
  return decoded._tag === "Some" ? decoded.value.timings : undefined
}

/**
 * The ladder as a user would write it by hand: one decode, `split`, one `scale` per rung, libx264
 * at the same preset and CRF, each rung capped at its peak bitrate (bufsize twice that), closed
 * GOPs of one segment without scene-cut keyframes, AAC, and ffmpeg's DASH muxer.
 */
const plainLadderArguments = (input: string, out: string, rungs: ReadonlyArray<Rung>, media: MediaProbe) => {
  const gop = String(Math.round(segmentSeconds * frameRateValue(media.video.frameRate)))
  const graph = `[0:v]split=${rungs.length}${rungs.map((_, i) => `[s${i}]`).join("")};` +
    rungs.map((rung, i) => `[s${i}]scale=${rung.width}:${rung.height}[v${i}]`).join(";")
  return [
    "-hide_banner", "-loglevel", "error", "-y", "-i", input,
    "-filter_complex", graph,
    ...rungs.flatMap((_, i) => ["-map", `[v${i}]`]),
    "-c:v", "libx264", "-preset", defaultEncoderSettings.preset, "-crf", String(defaultEncoderSettings.crf),
    "-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-x264-params", "open-gop=0",
    ...rungs.flatMap((rung, i) => [`-maxrate:v:${i}`, String(rung.maxBitrate), `-bufsize:v:${i}`, String(rung.maxBitrate * 2)]),
    ...(media.audio === null ? [] : ["-map", "0:a:0", "-c:a", "aac", "-b:a", "128k", "-ac", "2"]),
    "-f", "dash", "-seg_duration", String(segmentSeconds), path.join(out, "manifest.mpd")
  ]
}

/** A: the whole ladder as vidpipe's argument builder writes it, one command. */
const vidpipeLadderArguments = (clip: string, out: string, media: MediaProbe) =>
  ladderCommandArguments({
    input: clip,
    outputDir: out,
    rungs: planLadder(media, ladder),
    frameRate: media.video.frameRate,
    deinterlace: needsDeinterlacer(media),
    retime: needsRetiming(media),
    segmentSeconds,
    ...(media.audio === null ? {} : { audio: audioEncodingFor(media.audio) })
  })

/**
 * A's decode and graph with no encoder behind them: ffmpeg 5.1 decodes, filters and feeds its
 * encoders from one thread, so one ladder ffmpeg cannot keep more cores busy than its CPU time
 * over this one's wall time (the figure behind `vidpipe process`'s default worker count).
 */
const decodeAndGraphArguments = (clip: string, media: MediaProbe) => {
  const args = vidpipeLadderArguments(clip, "unused", media)
  const graph = args[args.indexOf("-filter_complex") + 1]!
  return [
    "-hide_banner", "-nostdin", "-loglevel", "error", "-i", clip, "-filter_complex", graph,
    ...planLadder(media, ladder).flatMap((_, i) => ["-map", `[v${i}]`]), "-f", "null", "-"
  ]
}

const runOnce = async (configuration: Configuration, clip: string, media: MediaProbe, out: string): Promise<{ sample: Sample; manifest: string }> => {
  await fs.rm(out, { recursive: true, force: true })
  await fs.mkdir(out, { recursive: true })
  if (configuration.strategy === "plain") {
    const measured = await measure("ffmpeg", plainLadderArguments(clip, out, planLadder(media, ladder), media))
    return { sample: { ...measured, orchestrationMs: [] }, manifest: path.join(out, "manifest.mpd") }
  }
  if (configuration.strategy === "raw") {
    const measured = await measure("ffmpeg", vidpipeLadderArguments(clip, out, media))
    return { sample: { ...measured, orchestrationMs: [] }, manifest: path.join(out, "manifest.mpd") }
  }
  const measured = await measure(process.execPath, [
    cliEntry, "process", clip, "--out", out, "--json", "--ladder", ladder.join(","),
    ...(configuration.strategy === "default" ? [] : configuration.strategy === "nostoryboard" ? ["--no-storyboard"] : configuration.strategy === "auto" ? ["--workers", String(configuration.workers)] : ["--strategy", configuration.strategy, "--workers", String(configuration.workers)])
  ], { VIDPIPE_LOG_LEVEL: "Debug", VIDPIPE_DATA_DIR: path.join(out, "..", "data") })
  const orchestrationMs = [...measured.stderr.matchAll(/orchestrationMs=(\d+)/g)].map((m) => Number(m[1]))
  const timings = timingsOf(measured.stdout)
  return { sample: { ...measured, orchestrationMs, ...(timings === undefined ? {} : { timings }) }, manifest: path.join(out, "manifest.mpd") }
}

// ---------------------------------------------------------------------------------------------

const machine = () => {
  const cpus = os.cpus()
  const ffmpeg = execFileSync("ffmpeg", ["-version"], { encoding: "utf8" }).split("\n")[0]!.replace(/ Copyright.*/, "")
  return `${cpus[0]?.model.trim() ?? "unknown CPU"}, ${cpus.length} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GiB; ${os.type()} ${os.release()}; ${ffmpeg}; Node ${process.versions.node}`
}

const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "—")

/** Core lists for 1..W pinned cores: "0", "0,1", … */
const cores = (count: number) => Array.from({ length: count }, (_, i) => i).join(",")

const scalingRun = async (work: string) => {
  const available = os.cpus().length
  const counts = [1, 2].filter((w) => w <= available)
  say(`scaling: chunk strategy and P pinned to 1..${counts.at(-1)} core(s) with taskset, ${runs} run(s) each`)
  const lines: Array<string> = []
  for (const kind of clipNames as ReadonlyArray<"easy" | "hard">) {
    const clip = makeClip(kind, path.join(work, `${kind}.mp4`))
    const media = probe(clip)
    const wall = new Map<string, Array<number>>()
    for (let round = 1; round <= runs; round++) {
      for (const w of counts) {
        const out = path.join(work, `${kind}-scaling-${w}`, "out")
        for (const [name, command, args] of [
          ["P", "taskset", ["-c", cores(w), "ffmpeg", ...plainLadderArguments(clip, out, planLadder(media, ladder), media)]],
          ["chunk", "taskset", ["-c", cores(w), process.execPath, cliEntry, "process", clip, "--out", out, "--json", "--ladder", ladder.join(","), "--strategy", "chunk", "--workers", String(w)]]
        ] as const) {
          await fs.rm(out, { recursive: true, force: true })
          await fs.mkdir(out, { recursive: true })
          const measured = await measure(command, [...args], { VIDPIPE_DATA_DIR: path.join(out, "..", "data") })
          wall.set(`${name}-${w}`, [...(wall.get(`${name}-${w}`) ?? []), measured.wallSeconds])
          say(`${kind} round ${round}/${runs}: ${name} on ${w} core(s): ${fixed(measured.wallSeconds)} s`)
        }
      }
    }
    for (const name of ["P", "chunk"]) {
      const t1 = median(wall.get(`${name}-1`) ?? [])
      const parts = counts.map((w) => {
        const tw = median(wall.get(`${name}-${w}`) ?? [])
        return `${fixed(tw)} s (efficiency ${fixed(t1 / (w * tw), 2)})`
      })
      lines.push(`| ${kind} | ${name === "P" ? "P  plain ffmpeg ladder" : "vidpipe chunk, one worker per core"} | ${parts.join(" | ")} |`)
    }
  }
  console.log(`Machine: ${machine()}`)
  console.log(`Scaling: medians of ${runs} run(s); efficiency = T(1) / (W × T(W)); 1.00 is perfect.`)
  console.log("")
  console.log(`| clip | configuration | ${counts.map((w) => `${w} core(s)`).join(" | ")} |`)
  console.log(`|---|---|${counts.map(() => "---").join("|")}|`)
  for (const line of lines) console.log(line)
}

const main = async () => {
  const work = keep !== "" ? path.resolve(keep) : await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-bench-"))
  await fs.mkdir(work, { recursive: true })
  say(`machine: ${machine()}`)
  if (upload) {
    const { uploadBench } = await import("./bench/upload.ts")
    await uploadBench({ cliEntry, work, runs, megabytes: uploadMib, say, machine: machine() })
    if (keep === "") await fs.rm(work, { recursive: true, force: true })
    return
  }
  if (scaling) {
    await scalingRun(work)
    if (keep === "") await fs.rm(work, { recursive: true, force: true })
    return
  }
  say(`${clipNames.length} clip(s) of ${seconds} s at 1920x1080 30 fps, ladder ${ladder.join("/")} + audio, ${runs} run(s) of ${configurations.length} configurations each, in ${work}`)

  const rows: Array<string> = []
  const perRound: Array<string> = []
  const fixedCosts: Array<string> = []
  const coresPerLadder: Array<string> = []
  const storyboardCost: Array<string> = []
  const orchestration = new Map<string, Array<number>>()
  for (const kind of clipNames as ReadonlyArray<"easy" | "hard">) {
    say(`making the ${kind} clip…`)
    const clip = makeClip(kind, path.join(work, `${kind}.mp4`))
    const media = probe(clip)
    const samples = configurations.map(() => [] as Array<Sample>)
    const graphSeconds: Array<number> = []
    const quality: Array<RungQuality | undefined> = configurations.map(() => undefined)
    for (let round = 1; round <= runs; round++) {
      // Each round starts one configuration later: a machine that slows down (or speeds up) during a
      // round then weighs on every configuration alike over the rounds, not on the last ones.
      const order = configurations.map((_, k) => (k + round - 1) % configurations.length)
      for (const i of order) {
        const configuration = configurations[i]!
        const label = `${kind} round ${round}/${runs}: ${configuration.name}${configuration.strategy === "raw" || configuration.strategy === "plain" ? "" : `, ${configuration.workers} worker(s)`}`
        const { sample, manifest } = await runOnce(configuration, clip, media, path.join(work, `${kind}-${i}`, "out"))
        samples[i]!.push(sample)
        if (sample.orchestrationMs.length > 0) {
          const key = configuration.strategy
          orchestration.set(key, [...(orchestration.get(key) ?? []), ...sample.orchestrationMs])
        }
        if (quality[i] === undefined) quality[i] = await topRungQuality(manifest, clip)
        say(`${label}: ${fixed(sample.wallSeconds)} s wall, ${fixed(sample.cpuSeconds)} s CPU`)
      }
      const graphOnly = await measure("ffmpeg", decodeAndGraphArguments(clip, media))
      graphSeconds.push(graphOnly.wallSeconds)
      say(`${kind} round ${round}/${runs}: decode and graph alone: ${fixed(graphOnly.wallSeconds)} s wall`)
    }
    const graphWall = median(graphSeconds)
    coresPerLadder.push(`${kind}: decode and graph alone ${fixed(graphWall)} s; P's ${fixed(median(samples[0]!.map((s) => s.cpuSeconds)))} s of CPU over that: about ${fixed(median(samples[0]!.map((s) => s.cpuSeconds)) / graphWall, 0)} cores`)
    // Each round's own ratios too: a slow or fast moment of this shared machine shows up as one odd round.
    for (const [i, configuration] of configurations.entries()) {
      if (i === 0) continue
      const ratios = samples[i]!.map((s, round) => fixed(s.wallSeconds / samples[0]![round]!.wallSeconds, 2))
      perRound.push(`${kind}, ${configuration.name.slice(3)} with ${configuration.workers} worker(s): ${ratios.join(", ")}`)
    }
    // The storyboard's cost: the default run against the same run without it, round by round.
    const withIndex = configurations.findIndex((c) => c.strategy === "default")
    const withoutIndex = configurations.findIndex((c) => c.strategy === "nostoryboard")
    const withWall = samples[withIndex]!.map((s) => s.wallSeconds)
    const withoutWall = samples[withoutIndex]!.map((s) => s.wallSeconds)
    storyboardCost.push(`${kind}: with ${fixed(median(withWall))} s, without ${fixed(median(withoutWall))} s: ${fixed((median(withWall) / median(withoutWall) - 1) * 100, 1)} % ` +
      `(rounds ${withWall.map((w, round) => `${fixed((w / withoutWall[round]! - 1) * 100, 1)} %`).join(", ")})`)
    // What each vidpipe run cost besides ffmpeg's encoding, stage by stage (medians over the rounds).
    for (const [i, configuration] of configurations.entries()) {
      const timed = samples[i]!.flatMap((s) => (s.timings === undefined ? [] : [s.timings]))
      if (timed.length === 0) continue
      const stages = Object.keys(timed[0]!).map((stage) => `${stage.replace(/Ms$/, "")} ${fixed(median(timed.map((t) => t[stage] ?? 0)), 0)}`)
      fixedCosts.push(`${kind}, ${configuration.name.slice(3)} with ${configuration.workers} worker(s): ${stages.join(", ")} (ms)`)
    }
    const baseWall = median(samples[0]!.map((s) => s.wallSeconds))
    const baseCpu = median(samples[0]!.map((s) => s.cpuSeconds))
    const ownWall = median(samples[1]!.map((s) => s.wallSeconds))
    const baseQuality = quality[0]!
    for (const [i, configuration] of configurations.entries()) {
      const wall = median(samples[i]!.map((s) => s.wallSeconds))
      const cpu = median(samples[i]!.map((s) => s.cpuSeconds))
      const q = quality[i]!
      rows.push(`| ${kind} | ${configuration.name} | ${configuration.strategy === "raw" || configuration.strategy === "plain" ? "—" : configuration.workers} | ${fixed(wall)} | ${fixed(cpu)} | ${fixed(wall / baseWall, 2)} | ${fixed(cpu / baseCpu, 2)} | ${fixed(wall / ownWall, 2)} | ${fixed(q.psnr, 2)} (${i === 0 ? "—" : `${q.psnr - baseQuality.psnr >= 0 ? "+" : ""}${fixed(q.psnr - baseQuality.psnr, 2)}`}) | ${fixed(q.bytes / 1024 ** 2, 2)} MiB (${i === 0 ? "—" : `${fixed((q.bytes / baseQuality.bytes - 1) * 100, 1)} %`}) |`)
    }
  }

  console.log(`Machine: ${machine()}`)
  console.log(`Clips: ${seconds} s, 1920x1080 30 fps, stereo; ladder ${ladder.join("/")} + AAC; medians of ${runs} run(s); ratios to P (the plain command) and A (vidpipe's own graph in one command) measured in the same run.`)
  console.log("")
  console.log("| clip | configuration | workers | wall (s) | CPU (s) | wall / P | CPU / P | wall / A | top rung PSNR dB (vs P) | top rung size (vs P) |")
  console.log("|---|---|---|---|---|---|---|---|---|---|")
  for (const row of rows) console.log(row)
  console.log("")
  console.log("Wall time / P of the same round, round by round:")
  for (const line of perRound) console.log(`  ${line}`)
  console.log("")
  console.log(`How many cores one ladder ffmpeg can keep busy (its CPU time over the wall time of its one-thread part, decode and graph; \`vidpipe process\` runs one worker per ${coresPerLadderEncode} cores: ${machineWorkers} on this machine's ${os.availableParallelism()}):`)
  for (const line of coresPerLadder) console.log(`  ${line}`)
  console.log("")
  console.log("Storyboard (poster, thumbnail sheets, storyboard.vtt) on the default run, wall time with and without it (--no-storyboard):")
  for (const line of storyboardCost) console.log(`  ${line}`)
  console.log("")
  console.log("Fixed cost per job besides ffmpeg's encoding (startup: Node and imports; readBack: reading and renumbering what ffmpeg wrote, summed over tasks; fixed: the sum):")
  for (const line of fixedCosts) console.log(`  ${line}`)
  console.log("")
  for (const [strategy, values] of orchestration) {
    console.log(`Orchestration per ${strategy} task (everything but ffmpeg; ${values.length} tasks): median ${fixed(median(values), 0)} ms, p99 ${fixed(percentile(values, 0.99), 0)} ms`)
  }
  if (keep === "") await fs.rm(work, { recursive: true, force: true })
}

await main()
