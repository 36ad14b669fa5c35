/**
 * `npm run bench -- --upload [--runs 3] [--upload-mib 1024] [--keep DIR]`: how fast a large
 * source reaches `vidpipe serve` in parts through the API, against one plain `curl -T` PUT of the
 * same file, in the same run (the machine is shared and noisy: only side-by-side ratios mean
 * anything).
 *
 * Two `vidpipe serve` on 127.0.0.1, each with its own temporary storage: one with the default
 * multipart threshold (64 MiB: the file goes in 16 MiB parts), one with the threshold above the
 * file (one PUT). The file is random bytes: an upload never looks inside, and the plan its
 * completion enqueues fails at once on the probe (that is waited for, outside the timings, before
 * the next round). Rounds alternate the two, `runs` times:
 *   parts  the command line's own client (apiUpload.ts, what `vidpipe submit --api` runs) called
 *          in this process: create the job, the parts 4 at a time, complete. Timed twice: the PUT
 *          phase (first byte asked for to last part stored), and the whole (create to completed,
 *          which on `serve` includes joining the parts into the source).
 *   curl   `curl -T file URL` to the single-PUT slot of a job created just before (not timed).
 * Before each timed upload the machine's dirty pages are written out (`sync`, not timed): a round
 * that starts while the gigabyte of the round before is still being flushed to disk is slowed by
 * the disk, whichever kind it is (seen without it: curl from 455 to 1055 MiB/s in one run).
 * It prints MiB/s of each round, the medians and their ratios (the aim: parts ≥ 0.8x curl).
 */
import { spawn, spawnSync } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { randomFillSync } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer, Redacted } from "effect"
import { makeApiSession, uploadThroughApi } from "../../src/entry/cli/apiUpload.ts"
import { median } from "./measure.ts"

const MiB = 1024 ** 2

interface Serve {
  readonly child: ChildProcess
  readonly base: string
  readonly apiKey: string
  readonly storage: string
  readonly stop: () => Promise<void>
}

const startServe = (cliEntry: string, work: string, name: string, env: Record<string, string>) =>
  new Promise<Serve>((resolve, reject) => {
    const storage = path.join(work, `${name}-storage`)
    const child = spawn(process.execPath, [cliEntry, "serve", "--port", "0", "--workers", "1"], {
      env: { ...process.env, VIDPIPE_STORAGE: `file://${storage}`, VIDPIPE_DATA_DIR: path.join(work, `${name}-data`), ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    child.stderr?.on("data", (chunk) => (err += chunk))
    child.on("exit", (code) => reject(new Error(`vidpipe serve (${name}) exited with ${code}\n${out}\n${err}`)))
    child.stdout?.on("data", (chunk) => {
      out += chunk
      const base = /listening on (http:\/\/\S+)/.exec(out)?.[1]
      const apiKey = /API key (\S+)/.exec(out)?.[1]
      if (base === undefined || apiKey === undefined) return
      child.removeAllListeners("exit")
      resolve({
        child,
        base,
        apiKey,
        storage,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done()
            child.once("exit", () => done())
            child.kill("SIGINT")
            setTimeout(() => child.kill("SIGKILL"), 5000).unref()
          })
      })
    })
  })

const api = (serve: Serve, route: string, init: RequestInit = {}) =>
  fetch(serve.base + route, { ...init, headers: { "x-api-key": serve.apiKey, "content-type": "application/json", ...init.headers as Record<string, string> } })

/** Waits until the job is past its upload and its plan has run (it fails on random bytes), then drops its files. */
const settle = async (serve: Serve, jobId: string) => {
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline) {
    const job = await (await api(serve, `/v1/jobs/${jobId}`)).json() as { status: string }
    if (job.status === "ready" || job.status === "failed") break
    await new Promise((r) => setTimeout(r, 250))
  }
  await api(serve, `/v1/jobs/${jobId}`, { method: "DELETE" })
  await fs.rm(path.join(serve.storage, "uploads", jobId), { recursive: true, force: true })
}

/** A file of random bytes, written 64 MiB at a time. */
const makeFile = async (file: string, bytes: number) => {
  const handle = await fs.open(file, "w")
  try {
    const block = Buffer.alloc(64 * MiB)
    for (let written = 0; written < bytes; written += block.length) {
      randomFillSync(block)
      await handle.write(block, 0, Math.min(block.length, bytes - written))
    }
  } finally {
    await handle.close()
  }
}

/** Writes out the dirty pages of the rounds before, so that each round starts with the disk idle. */
const flushDisk = () => {
  const synced = spawnSync("sync", { stdio: "ignore" })
  if (synced.status !== 0) throw new Error(`sync failed (${synced.error?.message ?? `exit ${synced.status}`})`)
}

const partsRound = async (serve: Serve, file: string, bytes: number) => {
  flushDisk()
  let created = 0
  let partsDone = 0
  const started = performance.now()
  const jobId = await Effect.runPromise(
    Effect.gen(function*() {
      const session = yield* makeApiSession(new URL(serve.base), Redacted.make(serve.apiKey))
      return yield* uploadThroughApi(session, {
        file,
        request: { fileName: "random.bin" },
        onCreated: () => Effect.sync(() => {
          created = performance.now()
        }),
        onProgress: (progress) => {
          if (progress.partsDone === progress.partCount && partsDone === 0) partsDone = performance.now()
        }
      })
    }).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, NodeHttpClient.layerUndici)))
  )
  const ended = performance.now()
  await settle(serve, jobId)
  return { putSeconds: (partsDone - created) / 1000, totalSeconds: (ended - started) / 1000, mibs: bytes / MiB }
}

const curlRound = async (serve: Serve, file: string, bytes: number) => {
  const response = await api(serve, "/v1/jobs", { method: "POST", body: JSON.stringify({ fileName: "random.bin", contentLength: bytes }) })
  const created = await response.json() as { jobId: string; upload: { kind: string; url: string } }
  if (created.upload.kind !== "single") throw new Error(`expected a single-PUT slot, got ${JSON.stringify(created.upload)}`)
  flushDisk()
  const started = performance.now()
  const status = await new Promise<string>((resolve, reject) => {
    const child = spawn("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T", file, new URL(created.upload.url, serve.base).href], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk) => (out += chunk))
    child.stderr.on("data", (chunk) => (err += chunk))
    child.on("error", reject)
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`curl exited with ${code}: ${err}`))))
  })
  const seconds = (performance.now() - started) / 1000
  if (status !== "200") throw new Error(`curl's PUT answered ${status}`)
  await settle(serve, created.jobId)
  return { seconds }
}

export const uploadBench = async (options: {
  readonly cliEntry: string
  readonly work: string
  readonly runs: number
  readonly megabytes: number
  readonly say: (line: string) => void
  readonly machine: string
}) => {
  const { runs, say, work } = options
  const bytes = options.megabytes * MiB
  const file = path.join(work, "random.bin")
  say(`upload: writing ${options.megabytes} MiB of random bytes to ${file}`)
  await makeFile(file, bytes)
  const parts = await startServe(options.cliEntry, work, "parts", {})
  const single = await startServe(options.cliEntry, work, "single", { VIDPIPE_MULTIPART_THRESHOLD: String(bytes + 1) })
  const partsPut: Array<number> = []
  const partsTotal: Array<number> = []
  const curl: Array<number> = []
  const rows: Array<string> = []
  const rate = (seconds: number) => bytes / MiB / seconds
  try {
    for (let round = 1; round <= runs; round++) {
      // Alternating which goes first, so that a slow spell of the machine falls on both.
      const order = round % 2 === 1 ? ["parts", "curl"] as const : ["curl", "parts"] as const
      let row = { put: 0, total: 0, curl: 0 }
      for (const which of order) {
        if (which === "parts") {
          const measured = await partsRound(parts, file, bytes)
          row = { ...row, put: rate(measured.putSeconds), total: rate(measured.totalSeconds) }
          partsPut.push(row.put)
          partsTotal.push(row.total)
          say(`round ${round}/${runs}: parts ${row.put.toFixed(0)} MiB/s PUTs, ${row.total.toFixed(0)} MiB/s with create and complete`)
        } else {
          const measured = await curlRound(single, file, bytes)
          row = { ...row, curl: rate(measured.seconds) }
          curl.push(row.curl)
          say(`round ${round}/${runs}: curl -T ${row.curl.toFixed(0)} MiB/s`)
        }
      }
      rows.push(`| ${round} | ${order.join(", ")} | ${row.put.toFixed(0)} | ${row.total.toFixed(0)} | ${row.curl.toFixed(0)} | ${(row.put / row.curl).toFixed(2)} | ${(row.total / row.curl).toFixed(2)} |`)
    }
  } finally {
    await parts.stop()
    await single.stop()
    await fs.rm(file, { force: true })
  }
  console.log(`Machine: ${options.machine}`)
  console.log(`Upload of ${options.megabytes} MiB (random bytes) to vidpipe serve on 127.0.0.1, folder storage on ${os.tmpdir()}; ${runs} alternating round(s).`)
  console.log("parts: apiUpload.ts (vidpipe submit --api's client), 16 MiB parts, 4 in flight; curl: one `curl -T` PUT to a single-PUT slot.")
  console.log("")
  console.log("| round | order | parts, PUTs (MiB/s) | parts, create to completed (MiB/s) | curl -T (MiB/s) | PUTs / curl | whole / curl |")
  console.log("|---|---|---|---|---|---|---|")
  for (const row of rows) console.log(row)
  const [put, total, single1] = [median(partsPut), median(partsTotal), median(curl)]
  console.log(`| median | | ${put.toFixed(0)} | ${total.toFixed(0)} | ${single1.toFixed(0)} | ${(put / single1).toFixed(2)} | ${(total / single1).toFixed(2)} |`)
}
