/**
 * Must show 1 of issue 15: the deployed protector entry point (`handler`, configured from its
 * environment like the Lambda), given AWS's documented termination-policy payload unmodified (no
 * `HasMoreInstances`), names the idle workers that real `vidpipe worker` processes registered in
 * `KillMe`, never the busy one, and answers "keep everything" within 2 s when Redis is down.
 *
 * The three workers run as the sample's own instances (`--id i-0056…` etc.): `i-0056…` (us-east-1b)
 * and `i-036b…` (us-east-1c) are idle; `i-02e1…` (us-east-1c) holds a task. Only being busy keeps it:
 * its zone's capacity in the sample is 3. It holds the task for as long as the test needs because
 * its `ffmpeg` is a stand-in that waits until its worker is gone; it went idle before taking the
 * task, so its leaving the idle set is what the protector must see.
 *
 * Time: Auto Scaling gives the function 2 s ("The maximum run time for your Lambda function is two
 * seconds (2000 milliseconds)"), so that is the bound asserted, with the deployed default budget
 * (1500 ms, after which the handler answers "keep everything"). The waits for the workers are on
 * what Redis shows (a registered idle entry, a marker the stand-in writes), with deadlines a loaded
 * machine meets.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { ConfigProvider } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ProtectorAnswer, ProtectorHandler } from "../../src/entry/lambda/protectorHandler.ts"
import { configureHandler } from "../../src/entry/lambda/protectorHandler.ts"
import { lastJsonLine, runVidpipe } from "../support/cli.ts"
import { makeClip } from "../support/clips.ts"
import type { Fleet } from "../support/fleet.ts"
import { startFleet, waitFor } from "../support/fleet.ts"
import { freePort as closedPort } from "../support/redisServer.ts"

const fixtureDir = path.join(import.meta.dirname, "../fixtures/aws")
/** AWS's documented sample, read from disk and passed as is. */
const awsSample = async (file: string): Promise<unknown> => JSON.parse(await fs.readFile(path.join(fixtureDir, file), "utf8"))

const idleInB = "i-0056faf8da3e1f75d"
const busyInC = "i-02e1c69383a3ed501"
const idleInC = "i-036bc44b6092c01c7"
const lambdaLimitMs = 2_000
/** Only workers idle this long are named; short so the test need not wait the deployed minute. */
const minIdleSeconds = 1

/**
 * The handler exactly as the deployed `handler` configures itself from its environment, here from
 * these variables (`handler` keeps the first one for the container; each test builds its own and
 * closes its Redis connection).
 */
const configuredFrom = (env: Record<string, string>) => {
  const handler = configureHandler(ConfigProvider.fromEnvRecord(env))
  if (typeof handler === "string") throw new Error(`the protector is not configured: ${handler}`)
  handlers.push(handler)
  return handler
}
const handlers: Array<ProtectorHandler> = []

const timed = async (run: () => Promise<ProtectorAnswer>) => {
  const started = performance.now()
  const answer = await run()
  return { answer, ms: performance.now() - started }
}

let workdir = ""
let fleet: Fleet | undefined

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-protector-e2e-"))
})
afterAll(async () => {
  for (const handler of handlers) await handler.dispose()
  await fleet?.close()
  await fs.rm(workdir, { recursive: true, force: true })
})

/**
 * A folder to put first on a worker's PATH whose `ffmpeg` writes `marker` and then waits for as
 * long as the worker lives when asked to encode (`-i`); anything else runs the real ffmpeg.
 */
const blockingFfmpeg = async (marker: string) => {
  const binDir = await fs.mkdtemp(path.join(workdir, "bin-"))
  const real = execFileSync("sh", ["-c", "command -v ffmpeg"], { encoding: "utf8" }).trim()
  await fs.writeFile(path.join(binDir, "ffmpeg"), `#!/bin/sh
case " $* " in
  *" -i "*) ;;
  *) exec '${real}' "$@" ;;
esac
echo "$PPID" > '${marker}'
while kill -0 "$PPID" 2>/dev/null; do sleep 0.2; done
`, { mode: 0o755 })
  return `${binDir}${path.delimiter}${process.env["PATH"] ?? ""}`
}

describe("protector handler with real vidpipe worker processes", () => {
  it("names the idle workers of AWS's sample event, never the busy one, within 2 s", async () => {
    const f = (fleet = await startFleet())
    const killMe = `${f.prefix}:KillMe`
    const idleSince = async (id: string) => {
      const score = await f.redis.zscore(killMe, id)
      return score === null ? undefined : Number(score)
    }

    // The busy one: it starts alone, goes idle, then takes the only task and keeps it.
    const marker = path.join(workdir, "encoding")
    const busy = f.startWorker(busyInC, { PATH: await blockingFfmpeg(marker) })
    await waitFor(() => idleSince(busyInC), 60_000, `${busyInC} to register as idle\n${busy.log()}`)
    const clip = await makeClip({ output: path.join(workdir, "clip.mp4"), durationSeconds: 2, width: 320, height: 240, audioChannels: 0 })
    const submitted = await runVidpipe(["submit", clip, "--json", "--strategy", "rendition", "--ladder", "240"], { env: f.env })
    expect(submitted.code, submitted.stderr).toBe(0)
    const jobId = lastJsonLine(submitted.stdout).jobId as string
    expect((await f.job(jobId)).tasks, "one task: only one worker can be busy").toHaveLength(1)
    await waitFor(() => fs.access(marker).then(() => true, () => undefined), 60_000, `${busyInC} to start encoding\n${busy.log()}`)
    expect(await idleSince(busyInC), "a busy worker is out of the idle set").toBeUndefined()

    // The idle ones, started after the task was taken: they find nothing and register as idle.
    const idle = [f.startWorker(idleInB), f.startWorker(idleInC)]
    for (const [id, worker] of [[idleInB, idle[0]], [idleInC, idle[1]]] as const) {
      await waitFor(async () => {
        const since = await idleSince(id)
        // Idle past the protector's minimum, with a margin for the test's own clock reading.
        return since !== undefined && Date.now() - since >= minIdleSeconds * 1000 + 500
      }, 60_000, `${id} to be idle for ${minIdleSeconds} s\n${worker?.log()}`)
    }

    const handler = configuredFrom({
      VIDPIPE_COORDINATOR: f.env["VIDPIPE_COORDINATOR"] ?? "",
      VIDPIPE_REDIS_PREFIX: f.prefix,
      VIDPIPE_PROTECTOR_MIN_IDLE_SECONDS: String(minIdleSeconds)
    })
    const sample = await awsSample("autoscaling-termination-policy.json")
    expect(sample).not.toHaveProperty("HasMoreInstances")
    for (const event of [sample, await awsSample("autoscaling-termination-policy-has-more-instances.json")]) {
      const { answer, ms } = await timed(() => handler(event))
      console.log(`protector e2e: ${JSON.stringify(answer)} in ${ms.toFixed(1)} ms`)
      expect(answer).toHaveProperty("InstanceIDs")
      expect([...(answer as { InstanceIDs: ReadonlyArray<string> }).InstanceIDs].sort()).toEqual([idleInB, idleInC].sort())
      expect(ms).toBeLessThan(lambdaLimitMs)
    }
    // Still busy after the answers: the one not named was holding its task throughout.
    expect(busy.exitCode).toBeNull()
    expect(await idleSince(busyInC)).toBeUndefined()
    expect((await f.job(jobId)).status).not.toBe("ready")
  }, 240_000)

  it("answers keep everything within 2 s when Redis is down (a closed port), cold and warm", async () => {
    const port = await closedPort()
    // The deployed default budget (1500 ms): VIDPIPE_PROTECTOR_BUDGET_MS is left unset.
    const handler = configuredFrom({ VIDPIPE_COORDINATOR: `redis://127.0.0.1:${port}/0`, VIDPIPE_REDIS_PREFIX: "vidpipe-protector-down" })
    const sample = await awsSample("autoscaling-termination-policy.json")
    for (const label of ["cold", "warm"]) {
      const { answer, ms } = await timed(() => handler(sample))
      console.log(`protector e2e, Redis down (${label}): ${JSON.stringify(answer)} in ${ms.toFixed(1)} ms`)
      expect(answer, label).toEqual({ InstanceIDs: [] })
      expect(ms, label).toBeLessThan(lambdaLimitMs)
    }
  })

  it("answers keep everything within 2 s when Redis accepts the connection but never replies", async () => {
    // What the budget and the command timeout are for: a closed port is refused at once, a hung peer is not.
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((socket) => void sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
    try {
      const { port } = silent.address() as net.AddressInfo
      const handler = configuredFrom({ VIDPIPE_COORDINATOR: `redis://127.0.0.1:${port}/0`, VIDPIPE_REDIS_PREFIX: "vidpipe-protector-silent" })
      const sample = await awsSample("autoscaling-termination-policy.json")
      for (const label of ["cold", "warm"]) {
        const { answer, ms } = await timed(() => handler(sample))
        console.log(`protector e2e, Redis silent (${label}): ${JSON.stringify(answer)} in ${ms.toFixed(1)} ms`)
        expect(answer, label).toEqual({ InstanceIDs: [] })
        expect(ms, label).toBeLessThan(lambdaLimitMs)
      }
      expect(sockets.size, "the handler did reach the silent peer").toBeGreaterThan(0)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  })
})
