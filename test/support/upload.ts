/**
 * The client side of the upload API for tests: create a job, PUT its bytes to the signed URL
 * (raw, so a test controls Content-Length and pace), and follow the job to its end.
 */
import { request } from "node:http"
import { waitFor } from "./fleet.ts"
import type { RunningServer } from "./server.ts"

export interface CreatedJob {
  readonly jobId: string
  readonly upload: { readonly url: string; readonly method: string; readonly headers: Record<string, string>; readonly expiresAt: string }
}

export const createJob = async (server: RunningServer, body: { readonly fileName: string; readonly contentLength: number; readonly ladder?: ReadonlyArray<number> }) => {
  const response = await server.api("/v1/jobs", { method: "POST", body: JSON.stringify(body) })
  if (response.status !== 201) throw new Error(`POST /v1/jobs answered ${response.status}: ${await response.text()}`)
  return (await response.json()) as CreatedJob
}

/**
 * A raw PUT, so the test controls Content-Length and the pace of the body: `chunks` pieces with
 * `pauseMs` between them, and with `holdUntil` (epoch ms) the rest of the body waits after the first
 * piece until that time has passed.
 */
export const put = (
  url: string,
  body: Uint8Array,
  options: { readonly contentLength?: number; readonly chunks?: number; readonly pauseMs?: number; readonly holdUntil?: number } = {}
) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { method: "PUT", headers: { "content-length": String(options.contentLength ?? body.length) } }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (text += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on("error", reject)
    const chunks = options.chunks ?? 1
    const size = Math.ceil(body.length / chunks)
    const send = async () => {
      for (let i = 0; i < chunks; i++) {
        req.write(body.subarray(i * size, (i + 1) * size))
        if (options.pauseMs && i < chunks - 1) await new Promise((r) => setTimeout(r, options.pauseMs))
        if (options.holdUntil !== undefined && i === 0) {
          while (Date.now() <= options.holdUntil) await new Promise((r) => setTimeout(r, Math.max(1, options.holdUntil! + 1 - Date.now())))
        }
      }
      req.end()
    }
    void send()
  })

export const jobOf = async (server: RunningServer, jobId: string) => (await (await server.api(`/v1/jobs/${jobId}`)).json()) as any

/** Waits for `ready` or `failed`, whichever comes. */
export const settled = (server: RunningServer, jobId: string, timeoutMs = 120_000) =>
  waitFor(async () => {
    const job = await jobOf(server, jobId)
    return job.status === "ready" || job.status === "failed" ? job : undefined
  }, timeoutMs, `job ${jobId} to be ready or failed`)

export const ready = async (server: RunningServer, jobId: string, timeoutMs = 120_000) => {
  const job = await settled(server, jobId, timeoutMs)
  if (job.status === "failed") throw new Error(`job failed: ${JSON.stringify(job.error)}`)
  return job
}
