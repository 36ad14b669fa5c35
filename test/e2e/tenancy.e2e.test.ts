/**
 * Tenancy on a real `vidpipe serve` (a child process, over HTTP): a job belongs to the key that
 * created it. Another key gets the same 404 as for a job that does not exist when it reads,
 * retries or deletes it, and does not see it in its list; the job is untouched afterwards. An
 * admin key sees and manages every job. A key configured as `sha256:<hex>` works, no configured key
 * is printed at start, and a request log at debug level holds no key and no upload signature.
 */
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RunningServer } from "../support/server.ts"
import { callAs, startServer } from "../support/server.ts"

const keyA = `key-a-${randomBytes(8).toString("hex")}`
const keyB = `key-b-${randomBytes(8).toString("hex")}`
const adminKey = `admin-${randomBytes(8).toString("hex")}`
const sha256 = (key: string) => createHash("sha256").update(key).digest("hex")

let workdir = ""
let server: RunningServer

beforeAll(async () => {
  workdir = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-tenancy-"))
  server = await startServer(["--workers", "1"], {
    VIDPIPE_STORAGE: `file://${workdir}`,
    // B only as its digest: the configuration holds no usable key for it.
    VIDPIPE_API_KEYS: `${keyA}, sha256:${sha256(keyB)}`,
    VIDPIPE_ADMIN_API_KEYS: adminKey,
    VIDPIPE_UPLOAD_EXPIRY_SECONDS: "60",
    VIDPIPE_LOG_LEVEL: "Debug"
  })
}, 180_000)

afterAll(async () => {
  await server?.stop()
  await fs.rm(workdir, { recursive: true, force: true })
})

const as = (key: string, method: string, url: string, body?: unknown) => callAs(server.base, key, method, url, body)

const create = async (key: string, fileName: string) => {
  const created = await as(key, "POST", "/v1/jobs", { fileName, contentLength: 5 })
  expect(created.status, created.text).toBe(201)
  return created.json as { readonly jobId: string; readonly upload: { readonly url: string; readonly headers: Record<string, string> } }
}

const listed = async (key: string) => {
  const page = await as(key, "GET", "/v1/jobs?limit=100")
  expect(page.status, page.text).toBe(200)
  return (page.json.jobs as Array<{ readonly jobId: string }>).map((job) => job.jobId)
}

describe("one key's jobs, on vidpipe serve", () => {
  it("are answered 404 to another key, exactly like a job that does not exist, and left untouched", async () => {
    const jobA = await create(keyA, "a.mp4")
    const jobB = await create(keyB, "b.mp4") // the sha256: entry works
    const before = await as(keyA, "GET", `/v1/jobs/${jobA.jobId}`)
    expect(before.status).toBe(200)

    const missing = await as(keyB, "GET", "/v1/jobs/00000000000000000000000000000000")
    for (const [method, url] of [["GET", `/v1/jobs/${jobA.jobId}`], ["POST", `/v1/jobs/${jobA.jobId}/retry`], ["DELETE", `/v1/jobs/${jobA.jobId}`]] as const) {
      const answer = await as(keyB, method, url)
      expect(answer.status, `${method} ${url}: ${answer.text}`).toBe(404)
      // The same answer as for an id that does not exist, but for the id itself.
      expect(answer.json.error._tag).toBe(missing.json.error._tag)
      expect(answer.json.error.message.replace(jobA.jobId, "ID")).toBe(missing.json.error.message.replace("00000000000000000000000000000000", "ID"))
    }
    expect(await listed(keyB)).toEqual([jobB.jobId])
    expect(await listed(keyA)).toEqual([jobA.jobId])

    // Untouched: A reads the same job as before B tried.
    const after = await as(keyA, "GET", `/v1/jobs/${jobA.jobId}`)
    expect(after.json).toEqual(before.json)
  })

  it("are all seen, and managed, by an admin key", async () => {
    const jobA = await create(keyA, "a2.mp4")
    const jobB = await create(keyB, "b2.mp4")
    const all = await listed(adminKey)
    expect(all).toContain(jobA.jobId)
    expect(all).toContain(jobB.jobId)
    expect((await as(adminKey, "GET", `/v1/jobs/${jobB.jobId}`)).status).toBe(200)
    expect((await as(adminKey, "DELETE", `/v1/jobs/${jobB.jobId}`)).status).toBe(204)
    expect((await as(keyB, "GET", `/v1/jobs/${jobB.jobId}`)).status).toBe(404)
    expect((await as(keyA, "GET", `/v1/jobs/${jobA.jobId}`)).status).toBe(200)
  })

  it("never puts a key or an upload signature in what serve prints, even at debug level", async () => {
    const job = await create(keyA, "logged.mp4")
    const upload = await fetch(job.upload.url, { method: "PUT", headers: job.upload.headers, body: "12345" })
    expect(upload.status).toBe(200)
    await as(keyB, "GET", `/v1/jobs/${job.jobId}`)
    const signature = new URL(job.upload.url).searchParams.get("signature")!
    const log = server.log()
    // The request log is there (so its absence of secrets means something) …
    expect(log).toMatch(new RegExp(`POST /v1/jobs 201`))
    expect(log).toMatch(new RegExp(`PUT /upload/${job.jobId} 200`))
    expect(log).toMatch(/API key\(s\) from VIDPIPE_API_KEYS.*\(not shown\)/)
    // … and holds no key, in either form, and no signature.
    for (const secret of [keyA, keyB, adminKey, sha256(keyB), signature]) expect(log).not.toContain(secret)
  })

  it("cannot be enumerated on the delivery route: no folder is listed, only files by their exact path", async () => {
    const jobId = "0123456789abcdef0123456789abcdef"
    await fs.mkdir(path.join(workdir, "outputs", jobId, "video", "360p"), { recursive: true })
    await fs.writeFile(path.join(workdir, "outputs", jobId, "video", "360p", "seg-00001.m4s"), "segment")
    expect((await fetch(`${server.base}/cdn/${jobId}/video/360p/seg-00001.m4s`)).status).toBe(200)
    for (const folder of ["/cdn", "/cdn/", `/cdn/${jobId}`, `/cdn/${jobId}/`, `/cdn/${jobId}/video/`, `/cdn/${jobId}/video/360p/`]) {
      const answer = await fetch(`${server.base}${folder}`, { redirect: "manual" })
      expect(answer.status, folder).toBe(404)
      expect(await answer.text(), folder).not.toContain("seg-00001")
    }
  })
})
