/**
 * A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every request (its
 * arrival time, headers and raw body), checks its signature with the README's own snippet, and
 * answers with the status a test scripts per request.
 */
import * as fs from "node:fs/promises"
import { createServer } from "node:http"
import type { IncomingHttpHeaders } from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { repoRoot } from "./cli.ts"

export type Verify = (rawBody: string | Buffer, signature: string, secret: string, toleranceSeconds?: number, nowSeconds?: number) => boolean

/**
 * The verification snippet exactly as the README shows it (the js block that starts with
 * `// verify-vidpipe-webhook.mjs`), loaded as a module: what users copy is what is tested.
 */
export const readmeVerifier = async (): Promise<Verify> => {
  const readme = await fs.readFile(path.join(repoRoot, "README.md"), "utf8")
  const block = /```js\n(\/\/ verify-vidpipe-webhook\.mjs\n[\s\S]*?)```/.exec(readme)?.[1]
  if (block === undefined) throw new Error("README.md has no ```js block starting with // verify-vidpipe-webhook.mjs")
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-verify-"))
  const file = path.join(dir, "verify-vidpipe-webhook.mjs")
  await fs.writeFile(file, block)
  const loaded: unknown = await import(pathToFileURL(file).href)
  await fs.rm(dir, { recursive: true, force: true })
  const verify = typeof loaded === "object" && loaded !== null && "verifyVidpipeWebhook" in loaded ? loaded.verifyVidpipeWebhook : undefined
  if (typeof verify !== "function") throw new Error("the README's snippet exports no verifyVidpipeWebhook function")
  return (...args) => Boolean(verify(...args))
}

export interface Received {
  /** Epoch ms when the request's body had arrived. */
  readonly at: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** The README snippet's verdict with the secrets known at that moment (any of them). */
  readonly verified: boolean
  readonly status: number
}

export interface Receiver {
  readonly url: string
  readonly port: number
  readonly received: Array<Received>
  /** Parsed bodies of the requests that verified, as receivers would keep them: one per event id. */
  readonly events: () => Array<any>
  readonly close: () => Promise<void>
}

export const startReceiver = async (options: {
  readonly verify: Verify
  /** The secrets to accept at the moment (an endpoint's, once created). */
  readonly secrets: () => ReadonlyArray<string>
  /** The status to answer the n-th request (0-based); 200 by default. */
  readonly answer?: (n: number, body: string) => number
}): Promise<Receiver> => {
  const received: Array<Received> = []
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      const signature = String(req.headers["vidpipe-signature"] ?? "")
      const verified = options.secrets().some((secret) => options.verify(body, signature, secret))
      const status = options.answer?.(received.length, body) ?? 200
      received.push({ at: Date.now(), headers: req.headers, body, verified, status })
      res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "not now")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    received,
    events: () => {
      const byId = new Map<string, any>()
      for (const request of received) {
        if (!request.verified || request.status >= 300) continue
        const event = JSON.parse(request.body)
        if (!byId.has(event.id)) byId.set(event.id, event)
      }
      return [...byId.values()]
    },
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}
