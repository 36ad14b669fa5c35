/**
 * An S3 peer for tests, all on 127.0.0.1: @20minutes/s3rver (checks SigV4, including presigned
 * URL expiry and a signed Content-Length) run as a child process through s3rverSigV4.cjs, plus a
 * small test-side shim that adds S3's `If-None-Match: *` on PUT, which s3rver ignores (it overwrites).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import type { S3ClientConfig } from "@aws-sdk/client-s3"
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3"

export const s3rverCredentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }

export interface S3Peer {
  /** s3rver itself. */
  readonly endpoint: string
  readonly stop: () => Promise<void>
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })

/** Starts the wrapped s3rver on a free port; resolves once it listens. */
export const startS3rver = async (): Promise<S3Peer> => {
  const port = await freePort()
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), "vidpipe-s3rver-"))
  const child = spawn(process.execPath, ["--openssl-legacy-provider", path.join(import.meta.dirname, "s3rverSigV4.cjs"), String(port), directory], {
    stdio: ["ignore", "pipe", "pipe", "ipc"]
  })
  let output = ""
  await new Promise<void>((resolve, reject) => {
    // A deadline only: a node start on a machine with every core busy can take many seconds.
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${output}`)), 60_000)
    child.stdout?.on("data", (data: Buffer) => {
      output += data.toString()
      if (output.includes("s3rver listening")) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.stderr?.on("data", (data: Buffer) => void (output += data.toString()))
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`s3rver exited (${code}): ${output}`))
    })
  })
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
        child.kill("SIGTERM")
        await Promise.race([exited, new Promise<void>((resolve) => setTimeout(resolve, 5_000))])
        if (child.exitCode === null) child.kill("SIGKILL")
      }
      await fs.rm(directory, { recursive: true, force: true })
    }
  }
}

export interface IfNoneMatchShim {
  readonly endpoint: string
  /** The `If-None-Match` values of the PUTs it saw, in order. */
  readonly seen: Array<string>
  readonly close: () => Promise<void>
}

const preconditionFailed =
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>`

/**
 * Test-side stand-in for S3's `If-None-Match: *` (s3rver ignores the header). Everything is
 * forwarded unchanged (the Host header too, so SigV4 still verifies upstream); a PUT carrying
 * `If-None-Match: *` first probes the key with an unsigned HEAD (s3rver allows anonymous reads)
 * and answers 412 PreconditionFailed when it exists. Conditional PUTs to one key are serialised
 * until the upstream PUT has answered, so exactly one of concurrent writers wins, as on S3.
 */
export const startIfNoneMatchShim = async (upstream: string): Promise<IfNoneMatchShim> => {
  const up = new URL(upstream)
  const seen: Array<string> = []
  const locks = new Map<string, Promise<void>>()
  const forward = (req: http.IncomingMessage, res: http.ServerResponse) =>
    new Promise<void>((resolve) => {
      const request = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
        answer.once("end", () => resolve())
        answer.once("error", () => resolve())
      })
      request.once("error", (error) => {
        if (!res.headersSent) res.writeHead(502).end(String(error))
        resolve()
      })
      req.pipe(request)
    })
  const exists = (objectPath: string) =>
    new Promise<boolean>((resolve) => {
      const probe = http.request({ host: up.hostname, port: up.port, method: "HEAD", path: objectPath }, (answer) => {
        answer.resume()
        resolve(answer.statusCode === 200)
      })
      probe.once("error", () => resolve(false))
      probe.end()
    })
  const server = http.createServer((req, res) => {
    const condition = req.headers["if-none-match"]
    if (req.method !== "PUT" || condition === undefined) return void forward(req, res)
    seen.push(condition)
    const objectPath = (req.url ?? "/").split("?")[0] ?? "/"
    const previous = locks.get(objectPath) ?? Promise.resolve()
    const turn = previous.then(async () => {
      if (condition === "*" && (await exists(objectPath))) {
        req.resume()
        res.writeHead(412, { "content-type": "application/xml" }).end(preconditionFailed)
        return
      }
      await forward(req, res)
    })
    locks.set(objectPath, turn)
    void turn.finally(() => {
      if (locks.get(objectPath) === turn) locks.delete(objectPath)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** Client settings for the peer: path style, and checksums only where S3 requires them. */
export const peerClientConfig = (endpoint: string): S3ClientConfig => ({
  endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  credentials: s3rverCredentials,
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
  maxAttempts: 1
})

export const uniqueBucket = (label = "b") => `${label}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`

export const createBuckets = async (endpoint: string, ...buckets: Array<string>) => {
  const client = new S3Client(peerClientConfig(endpoint))
  try {
    for (const bucket of buckets) await client.send(new CreateBucketCommand({ Bucket: bucket }))
  } finally {
    client.destroy()
  }
}
