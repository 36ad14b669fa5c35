/**
 * A private `redis-server` on its own loopback port (for tests and scripts that restart or kill
 * Redis, which they must never do to the shared one). Append-only with an fsync per write, so a
 * restart on the same folder keeps everything Redis acknowledged, even after a SIGKILL.
 */
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

/** A port nothing listens on right now (127.0.0.1). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
    server.on("error", reject)
  })

/** The raw process: redis-server on `port`, data (appendonly) in `dir`. */
export const spawnRedisServer = (port: number, dir: string): ChildProcess =>
  spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir], {
    stdio: "ignore"
  })

/** true when something accepts connections on the port, undefined otherwise (a `waitFor` probe). */
export const redisAnswers = (port: number) =>
  new Promise<boolean | undefined>((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.end()
      resolve(true)
    })
    socket.on("error", () => resolve(undefined))
  })

const exitOf = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once("exit", () => resolve())
  })

const answering = async (port: number, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!(await redisAnswers(port))) {
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export interface PrivateRedis {
  readonly port: number
  readonly url: string
  readonly dir: string
  readonly pid: () => number | undefined
  /** Stops the server (SIGTERM, or SIGKILL for a crash); its data stays in `dir`. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<void>
  /** Starts it again on the same port and folder; resolves once it accepts connections. */
  readonly start: () => Promise<void>
  /** Stops it and removes its folder. */
  readonly close: () => Promise<void>
}

/** Starts a private redis-server on a free port; resolves once it accepts connections. */
export const startPrivateRedis = async (options: { readonly dir?: string; readonly timeoutMs?: number } = {}): Promise<PrivateRedis> => {
  const dir = options.dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-redis-")))
  const port = await freePort()
  const timeoutMs = options.timeoutMs ?? 10_000
  let child: ChildProcess | undefined
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child === undefined || !running()) return
    child.kill(signal)
    await exitOf(child)
  }
  const start = async () => {
    if (running()) return
    child = spawnRedisServer(port, dir)
    await answering(port, timeoutMs)
  }
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    dir,
    pid: () => child?.pid,
    stop,
    start,
    close: async () => {
      await stop("SIGKILL")
      if (options.dir === undefined) await fs.rm(dir, { recursive: true, force: true })
    }
  }
}
