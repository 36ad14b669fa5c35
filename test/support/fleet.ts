/**
 * A self-hosted deployment for tests: `vidpipe worker` processes and `vidpipe submit` sharing a
 * Redis (under a fresh key prefix) and a storage folder, with short timings so that crashes
 * recover within seconds.
 */
import { execFileSync } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Redis } from "ioredis"
import { deletePrefix, testRedisUrl, uniquePrefix } from "./redis.ts"
import { startVidpipe } from "./cli.ts"

export interface Fleet {
  readonly env: Record<string, string>
  readonly storageDir: string
  readonly prefix: string
  readonly redis: Redis
  readonly startWorker: (id: string, extraEnv?: Record<string, string>, args?: ReadonlyArray<string>) => ChildProcess & { log: () => string }
  readonly job: (jobId: string) => Promise<any>
  readonly close: () => Promise<void>
}

export const startFleet = async (options: { readonly redisUrl?: string; readonly env?: Record<string, string> } = {}): Promise<Fleet> => {
  const redisUrl = options.redisUrl ?? testRedisUrl
  const prefix = uniquePrefix("fleet")
  const storageDir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-fleet-"))
  const env = {
    VIDPIPE_QUEUE: redisUrl,
    VIDPIPE_COORDINATOR: redisUrl,
    VIDPIPE_STORAGE: `file://${storageDir}`,
    VIDPIPE_REDIS_PREFIX: prefix,
    VIDPIPE_POLL_SECONDS: "1",
    VIDPIPE_VISIBILITY_SECONDS: "4",
    VIDPIPE_HEARTBEAT_SECONDS: "1",
    VIDPIPE_FINALIZE_LEASE_SECONDS: "3",
    VIDPIPE_SWEEP_SECONDS: "2",
    VIDPIPE_LOG_LEVEL: "Info",
    ...options.env
  }
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 30, retryStrategy: (times) => Math.min(times * 100, 1000) })
  redis.on("error", () => {})
  const workers: Array<ChildProcess> = []
  return {
    env,
    storageDir,
    prefix,
    redis,
    startWorker: (id, extraEnv = {}, args = []) => {
      const child = startVidpipe(["worker", "--id", id, ...args], { env: { ...env, ...extraEnv } })
      let log = ""
      child.stdout?.on("data", (chunk) => (log += chunk))
      child.stderr?.on("data", (chunk) => (log += chunk))
      workers.push(child)
      return Object.assign(child, { log: () => log })
    },
    job: async (jobId) => {
      const data = await redis.hget(`${prefix}:job:${jobId}`, "data")
      return data === null ? undefined : JSON.parse(data)
    },
    close: async () => {
      for (const worker of workers) if (worker.exitCode === null && worker.signalCode === null) worker.kill("SIGKILL")
      await deletePrefix(redisUrl, prefix).catch(() => undefined)
      redis.disconnect()
      await fs.rm(storageDir, { recursive: true, force: true })
    }
  }
}

/** ffmpeg processes whose parent is `pid`. */
export const ffmpegChildrenOf = (pid: number | undefined) =>
  pid === undefined
    ? []
    : execFileSync("ps", ["-eo", "pid=,ppid=,comm="], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .filter(([, ppid, comm]) => Number(ppid) === pid && comm === "ffmpeg")
      .map(([child]) => Number(child))

export const waitFor = async <A>(probe: () => Promise<A | undefined> | A | undefined, timeoutMs: number, what: string): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

export const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode })
    else child.once("exit", (code, signal) => resolve({ code, signal }))
  })
