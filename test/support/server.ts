/**
 * `vidpipe serve` in a child process for tests: started on a free port, its address and API key
 * read from what it prints.
 */
import type { ChildProcess } from "node:child_process"
import { startVidpipe } from "./cli.ts"

export interface RunningServer {
  readonly child: ChildProcess
  readonly base: string
  readonly apiKey: string
  readonly log: () => string
  readonly api: (path: string, init?: RequestInit) => Promise<Response>
  readonly stop: () => Promise<void>
}

/**
 * `timeoutMs` only turns a server that never starts into a failure: a start takes ~3 s on an idle
 * machine and was seen past 30 s with every core busy (ffmpeg, worker restarts), so the default is
 * generous; a server that starts sooner is used at once.
 */
export const startServer = (args: ReadonlyArray<string>, env: Record<string, string>, timeoutMs = 120_000): Promise<RunningServer> =>
  new Promise((resolve, reject) => {
    const child = startVidpipe(["serve", "--port", "0", ...args], { env })
    let out = ""
    let err = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`vidpipe serve did not start within ${timeoutMs} ms\n${out}\n${err}`))
    }, timeoutMs)
    child.stderr?.on("data", (chunk) => (err += chunk))
    child.on("exit", (code) => reject(new Error(`vidpipe serve exited with ${code}\n${out}\n${err}`)))
    child.stdout?.on("data", (chunk) => {
      out += chunk
      const base = /listening on (http:\/\/\S+)/.exec(out)?.[1]
      const key = /API key (\S+)/.exec(out)?.[1] ?? env["VIDPIPE_API_KEYS"]?.split(",")[0]
      if (base === undefined || key === undefined || !/API key/.test(out)) return
      clearTimeout(timer)
      resolve({
        child,
        base,
        apiKey: key,
        log: () => out + err,
        api: (path, init = {}) =>
          fetch(base + path, { ...init, headers: { "x-api-key": key, "content-type": "application/json", ...(init.headers as Record<string, string> | undefined) } }),
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done()
            child.removeAllListeners("exit")
            child.once("exit", () => done())
            child.kill("SIGINT")
            setTimeout(() => child.kill("SIGKILL"), 5000).unref()
          })
      })
    })
  })

/** One API call as `key`, JSON both ways: the status, the text, and the parsed body when there is one. */
export const callAs = async (base: string, key: string, method: string, url: string, body?: unknown) => {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: { "x-api-key": key, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, text, json: text.length > 0 ? JSON.parse(text) : undefined }
}
