/**
 * The local fleet, as `vidpipe fleet` and as `vidpipe serve --fleet MIN..MAX`: it grows under a
 * backlog, shrinks back when idle, and never stops a worker in the middle of a task; SIGTERM stops
 * it and all its workers. Bad fleet options are refused with a reason.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { lastJsonLine, runVidpipe, startVidpipe } from "../support/cli.ts"
import { makeClip } from "../support/clips.ts"
import type { Fleet } from "../support/fleet.ts"
import { exited, startFleet, waitFor } from "../support/fleet.ts"

/** The test's folder and its one small clip, made once. */
const files = { workdir: "", clip: "" }
let fleet: Fleet | undefined

beforeAll(async () => {
  files.workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-localfleet-"))
  files.clip = await makeClip({ output: path.join(files.workdir, "small.mp4"), durationSeconds: 8, width: 640, height: 360 })
})
afterAll(async () => {
  await fleet?.close()
  await fs.rm(files.workdir, { recursive: true, force: true })
})

/** The fleet's worker processes (its children running `worker --id`), id -> pid. */
const workersOf = (fleetPid: number): Map<string, number> => {
  const workers = new Map<string, number>()
  for (const line of execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" }).split("\n")) {
    const match = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line)
    if (match === null || Number(match[2]) !== fleetPid) continue
    const id = /worker --id (\S+)/.exec(match[3] ?? "")
    if (id?.[1] !== undefined) workers.set(id[1], Number(match[1]))
  }
  return workers
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const launchers = [
  { name: "vidpipe fleet", args: ["fleet", "--min", "1", "--max", "3", "--every", "1", "--min-idle", "3"] },
  { name: "vidpipe serve --fleet", args: ["serve", "--port", "0", "--fleet", "1..3", "--fleet-every", "1", "--fleet-min-idle", "3"] }
]

describe.each(launchers)("$name", ({ args }) => {
  it("grows under a backlog, shrinks when idle, never stops a busy worker", async () => {
    await fleet?.close()
    const f = (fleet = await startFleet())
    const child = startVidpipe(args, { env: f.env })
    let log = ""
    child.stdout.on("data", (chunk) => (log += chunk))
    child.stderr.on("data", (chunk) => (log += chunk))
    const fleetPid = child.pid!
    const jobIds: Array<string> = []
    const seenPids = new Set<number>()
    const exitedWhileRunning: Array<string> = []
    const exitedIds: Array<string> = []
    let maxWorkers = 0
    let current = new Map<string, number>()
    let watching = true

    // Every 200 ms (a poll interval, not a wait for anything): which workers run; a worker that is
    // gone must not hold a running task. A task it was stopped in the middle of stays "running" under
    // its name until the 4 s visibility hands it to another worker, far longer than one round here.
    const watcher = (async () => {
      while (watching) {
        const now = workersOf(fleetPid)
        for (const pid of now.values()) seenPids.add(pid)
        maxWorkers = Math.max(maxWorkers, now.size)
        const gone = [...current.keys()].filter((id) => !now.has(id))
        if (gone.length > 0) {
          const jobs = await Promise.all(jobIds.map((id) => f.job(id)))
          for (const id of gone) {
            exitedIds.push(id)
            const busy = jobs.some((job) => job?.tasks?.some((t: any) => t.status === "running" && t.worker === id))
            if (busy) exitedWhileRunning.push(id)
          }
        }
        current = now
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    })()

    // The waitFor deadlines below only turn a hang into a failure (node starts of the fleet and its
    // workers take many seconds on a machine with every core busy); each returns as soon as it holds.
    try {
      await waitFor(() => workersOf(fleetPid).size === 1 || undefined, 60_000, `the fleet to start one worker\n${log}`)
      const submitted = await Promise.all([1, 2, 3].map(() => runVidpipe(["submit", files.clip, "--json", "--ladder", "360"], { env: f.env })))
      for (const result of submitted) {
        expect(result.code, result.stderr).toBe(0)
        jobIds.push(lastJsonLine(result.stdout).jobId as string)
      }
      await waitFor(() => maxWorkers > 1 || undefined, 60_000, `the fleet to grow\n${log}`)
      for (const jobId of jobIds) {
        await waitFor(async () => {
          const job = await f.job(jobId)
          if (job?.status === "failed") throw new Error(`job failed: ${job.error?.message}`)
          return job?.status === "ready" || undefined
        }, 120_000, `job ${jobId} to be ready\n${log}`)
      }
      // Idle ≥ 3 s, then one scale-in step per second.
      await waitFor(() => current.size === 1 || undefined, 60_000, `the fleet to shrink back to one worker\n${log}`)
      expect(maxWorkers).toBeGreaterThan(1)
      expect(exitedIds.length).toBeGreaterThanOrEqual(1)
      expect(exitedWhileRunning).toEqual([])

      child.kill("SIGTERM")
      const exit = await Promise.race([
        exited(child),
        new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 60_000))
      ])
      expect(exit, log).not.toBe("timeout")
      await waitFor(() => [...seenPids].every((pid) => !alive(pid)) || undefined, 30_000, "every worker to exit")
      expect(exitedWhileRunning).toEqual([])
    } finally {
      watching = false
      await watcher
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      for (const pid of seenPids) if (alive(pid)) process.kill(pid, "SIGKILL")
    }
  }, 300_000)
})

describe("fleet options", () => {
  it.each([
    [["serve", "--fleet", "1..3"], {}, /serve --fleet needs a shared queue and coordinator/],
    [["serve", "--fleet", "3"], { VIDPIPE_QUEUE: "redis://127.0.0.1:6379", VIDPIPE_COORDINATOR: "redis://127.0.0.1:6379" }, /--fleet takes MIN\.\.MAX, e\.g\. 1\.\.4 \(got "3"\)/],
    [["serve", "--fleet", "3..1"], { VIDPIPE_QUEUE: "redis://127.0.0.1:6379", VIDPIPE_COORDINATOR: "redis://127.0.0.1:6379" }, /0 <= min <= max.*\(got 3\.\.1\)/],
    [["fleet", "--min", "0", "--max", "0"], {}, /1 <= max <= 64 \(got 0\.\.0\)/],
    [["fleet", "--every", "0"], {}, /look interval must be positive/]
  ])("%j is refused with a reason", async (argv, env, reason) => {
    const result = await runVidpipe(argv, { env: { VIDPIPE_STORAGE: `file://${files.workdir}/data`, ...env } })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(reason)
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
  })
})
