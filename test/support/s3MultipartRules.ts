/**
 * Test-side stand-in for S3's multipart rules where @20minutes/s3rver does not keep them: a small
 * HTTP proxy on 127.0.0.1 in front of s3rver (see s3Peer.ts). s3rver creates uploads, stores parts
 * (checking SigV4, presigned expiry and a signed Content-Length) and concatenates them on
 * completion, but it checks neither ETags nor missing parts at completion, has no ListParts, no
 * AbortMultipartUpload, and stores a part for any upload id. This proxy:
 *
 * - records each upload s3rver created (POST ?uploads) and each part s3rver accepted (PUT
 *   ?partNumber&uploadId answered 200): its number, the bytes that went through, the ETag header
 *   of s3rver's answer. A part uploaded again replaces the first ("If you upload a new part using
 *   the same part number that was used with a previous part, the previously uploaded part is
 *   overwritten", S3 API Reference, UploadPart). A part for an upload not in progress is refused
 *   with 404 NoSuchUpload, as UploadPart documents ("The specified multipart upload does not
 *   exist").
 * - answers ListParts (GET ?uploadId) itself, as the S3 API Reference documents it: a
 *   ListPartsResult of the parts above `part-number-marker`, at most `max-parts` (default and
 *   maximum 1,000: "The ListParts request returns a maximum of 1,000 uploaded parts. The limit of
 *   1,000 parts is also the default value"), with IsTruncated and NextPartNumberMarker when more
 *   remain. `pageLimit` lowers the maximum so tests can see a client follow the markers.
 * - answers AbortMultipartUpload (DELETE ?uploadId) itself: 204, and the upload is gone; an
 *   upload not in progress is 404 NoSuchUpload ("@throws NoSuchUpload: The specified multipart
 *   upload does not exist", AbortMultipartUpload).
 * - checks CompleteMultipartUpload (POST ?uploadId) before forwarding it, with the codes of its
 *   "Special errors" (S3 API Reference, CompleteMultipartUpload):
 *   NoSuchUpload (404) "The specified multipart upload does not exist. The upload ID might be
 *     invalid, or the multipart upload might have been aborted or completed.";
 *   InvalidPartOrder (400) "The list of parts was not in ascending order. The parts list must be
 *     specified in order by part number.";
 *   InvalidPart (400) "One or more of the specified parts could not be found. The part might not
 *     have been uploaded, or the specified ETag might not have matched the uploaded part's ETag."
 *     (ETags compared without their quotes, as S3 does);
 *   EntityTooSmall (400) "Your proposed upload is smaller than the minimum allowed object size.
 *     Each part must be at least 5 MB in size, except the last part." (5 MiB: "Part size 5 MiB to
 *     5 GiB. There is no minimum size limit on the last part of your multipart upload", S3
 *     multipart upload limits).
 *   Once s3rver completed it, the upload is no longer in progress.
 *
 * Every error body is S3's XML error document (`<Error><Code>…</Code><Message>…</Message>…`).
 * Requests it answers itself (ListParts, Abort) are first sent to s3rver unchanged: s3rver
 * authenticates them (signature, expiry) before routing, and only then refuses the unknown
 * operation with 405 MethodNotAllowed; any other answer (403 SignatureDoesNotMatch, 404
 * NoSuchBucket) is relayed as S3 would give it. CompleteMultipartUpload's checks come before
 * s3rver's signature check (S3 authenticates first; a stand-in limit). Everything else passes
 * through untouched: method, path, query and headers (Host too) as received, so SigV4 verifies at
 * s3rver.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface StoredPartRecord {
  readonly partNumber: number
  readonly size: number
  /** As s3rver's answer gave it, quotes included. */
  readonly etag: string
}

export interface MultipartRules {
  readonly endpoint: string
  /** The parts recorded for an upload in progress; undefined when it is not in progress. */
  readonly partsOf: (uploadId: string) => ReadonlyArray<StoredPartRecord> | undefined
  /** How many ListParts requests it answered (each page is one). */
  readonly listRequests: () => number
  readonly close: () => Promise<void>
}

export interface MultipartRulesOptions {
  /** The most parts one ListParts answer holds (S3: 1000). */
  readonly pageLimit?: number
}

const minPartBytes = 5 * 1024 * 1024
const s3MaxParts = 1000

interface Upload {
  /** The object's path as requested, `/bucket/key` (still encoded). */
  readonly path: string
  readonly parts: Map<number, StoredPartRecord>
}

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")
const unescapeXml = (s: string) =>
  s.replace(/&quot;/g, "\"").replace(/&apos;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&#34;/g, "\"").replace(/&amp;/g, "&")
const unquoted = (etag: string) => etag.replaceAll("\"", "")

const errorXml = (code: string, message: string, extra: Record<string, string> = {}) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message>${
    Object.entries(extra).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join("")
  }<RequestId>multipart-rules</RequestId></Error>`

const sendXml = (res: http.ServerResponse, status: number, body: string) => {
  res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) }).end(body)
}

const noSuchUpload = (res: http.ServerResponse, uploadId: string) =>
  sendXml(
    res,
    404,
    errorXml(
      "NoSuchUpload",
      "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.",
      { UploadId: uploadId }
    )
  )

const readBody = (stream: http.IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    stream.on("data", (chunk: Buffer) => chunks.push(chunk))
    stream.once("end", () => resolve(Buffer.concat(chunks)))
    stream.once("error", reject)
  })

/** The parts a CompleteMultipartUpload body lists, in the order listed. */
const listedParts = (xml: string): Array<{ readonly partNumber: number; readonly etag: string }> =>
  [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map(([, inner = ""]) => ({
    partNumber: Number(/<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(inner)?.[1] ?? Number.NaN),
    etag: unescapeXml(/<ETag>([\s\S]*?)<\/ETag>/.exec(inner)?.[1] ?? "")
  }))

export const startMultipartRules = async (upstream: string, options: MultipartRulesOptions = {}): Promise<MultipartRules> => {
  const up = new URL(upstream)
  const pageLimit = Math.min(s3MaxParts, options.pageLimit ?? s3MaxParts)
  const uploads = new Map<string, Upload>()
  let listRequests = 0

  /** Sends the request on unchanged (`body` when it was read already); resolves with s3rver's answer. */
  const send = (req: http.IncomingMessage, body?: Buffer) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      // s3rver refuses a part (signature, expiry) before reading its body. The client then still
      // sends it: drain it here, so the client gets the answer and its connection stays usable,
      // and drop the upstream connection, which is not fit to carry another request.
      const drain = () => {
        req.unpipe(request)
        req.resume()
      }
      const request = http.request(
        { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers, agent: false },
        (answer) => {
          if (body === undefined && !req.complete) {
            drain()
            answer.once("end", () => request.destroy())
          }
          resolve(answer)
        }
      )
      request.once("error", (error) => {
        drain()
        reject(error)
      })
      if (body === undefined) req.pipe(request)
      else request.end(body)
    })

  /** s3rver's answer, as it came, to the client. */
  const relay = (answer: http.IncomingMessage, res: http.ServerResponse, body?: Buffer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers)
    if (body === undefined) answer.pipe(res)
    else res.end(body)
  }

  /** True when s3rver authenticated the request (it then refuses the operation it does not know). */
  const authenticated = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const answer = await send(req)
    const body = await readBody(answer)
    if (answer.statusCode === 405) return true
    relay(answer, res, body)
    return false
  }

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://rules.invalid")
    const path = url.pathname
    const query = url.searchParams
    const uploadId = query.get("uploadId")

    // CreateMultipartUpload: forwarded; the upload id s3rver gave is recorded.
    if (req.method === "POST" && query.has("uploads")) {
      const answer = await send(req)
      const body = await readBody(answer)
      const created = /<UploadId>([^<]+)<\/UploadId>/.exec(body.toString("utf8"))?.[1]
      if (answer.statusCode === 200 && created !== undefined) uploads.set(created, { path, parts: new Map() })
      return relay(answer, res, body)
    }
    if (uploadId === null) return relay(await send(req), res)
    const upload = uploads.get(uploadId)
    const inProgress = upload !== undefined && upload.path === path ? upload : undefined

    // UploadPart: refused for an upload not in progress; recorded once s3rver stored it.
    if (req.method === "PUT" && query.has("partNumber") && req.headers["x-amz-copy-source"] === undefined) {
      if (inProgress === undefined) {
        req.resume()
        return noSuchUpload(res, uploadId)
      }
      let size = 0
      req.on("data", (chunk: Buffer) => void (size += chunk.length))
      const answer = await send(req)
      const etag = answer.headers.etag
      if (answer.statusCode === 200 && typeof etag === "string") {
        const partNumber = Number(query.get("partNumber"))
        inProgress.parts.set(partNumber, { partNumber, size, etag })
      }
      return relay(answer, res)
    }

    // ListParts, answered here once s3rver authenticated the request.
    if (req.method === "GET") {
      if (!(await authenticated(req, res))) return
      if (inProgress === undefined) return noSuchUpload(res, uploadId)
      listRequests += 1
      const asked = Number(query.get("max-parts") ?? s3MaxParts)
      const maxParts = Math.max(0, Math.min(pageLimit, Number.isInteger(asked) ? asked : s3MaxParts))
      const marker = Number(query.get("part-number-marker") ?? 0)
      const after = [...inProgress.parts.values()].filter((p) => p.partNumber > marker).sort((a, b) => a.partNumber - b.partNumber)
      const page = after.slice(0, maxParts)
      const truncated = after.length > page.length
      const [bucket = "", ...key] = path.slice(1).split("/")
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
        `<Bucket>${escapeXml(decodeURIComponent(bucket))}</Bucket><Key>${escapeXml(decodeURIComponent(key.join("/")))}</Key>` +
        `<UploadId>${escapeXml(uploadId)}</UploadId><PartNumberMarker>${marker}</PartNumberMarker>` +
        (truncated ? `<NextPartNumberMarker>${page.at(-1)?.partNumber ?? marker}</NextPartNumberMarker>` : "") +
        `<MaxParts>${maxParts}</MaxParts><IsTruncated>${truncated}</IsTruncated><StorageClass>STANDARD</StorageClass>` +
        page.map((p) =>
          `<Part><PartNumber>${p.partNumber}</PartNumber><LastModified>${new Date().toISOString()}</LastModified>` +
          `<ETag>${escapeXml(p.etag)}</ETag><Size>${p.size}</Size></Part>`
        ).join("") +
        `</ListPartsResult>`
      return sendXml(res, 200, body)
    }

    // AbortMultipartUpload, answered here once s3rver authenticated the request.
    if (req.method === "DELETE") {
      if (!(await authenticated(req, res))) return
      if (inProgress === undefined) return noSuchUpload(res, uploadId)
      uploads.delete(uploadId)
      return void res.writeHead(204).end()
    }

    // CompleteMultipartUpload: S3's rules first, then s3rver joins the parts.
    if (req.method === "POST") {
      const body = await readBody(req)
      if (inProgress === undefined) return noSuchUpload(res, uploadId)
      const listed = listedParts(body.toString("utf8"))
      for (const [i, part] of listed.entries()) {
        const previous = listed[i - 1]
        if (!Number.isInteger(part.partNumber) || (previous !== undefined && part.partNumber <= previous.partNumber)) {
          return sendXml(
            res,
            400,
            errorXml("InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.", { UploadId: uploadId })
          )
        }
      }
      for (const part of listed) {
        const stored = inProgress.parts.get(part.partNumber)
        if (stored === undefined || unquoted(stored.etag) !== unquoted(part.etag)) {
          return sendXml(
            res,
            400,
            errorXml(
              "InvalidPart",
              "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
              { UploadId: uploadId, PartNumber: String(part.partNumber), ETag: part.etag }
            )
          )
        }
      }
      for (const [i, part] of listed.entries()) {
        const stored = inProgress.parts.get(part.partNumber)
        if (i < listed.length - 1 && stored !== undefined && stored.size < minPartBytes) {
          return sendXml(
            res,
            400,
            errorXml("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", {
              ProposedSize: String(stored.size),
              MinSizeAllowed: String(minPartBytes),
              PartNumber: String(part.partNumber),
              ETag: stored.etag
            })
          )
        }
      }
      const answer = await send(req, body)
      const answered = await readBody(answer)
      if (answer.statusCode === 200 && !answered.toString("utf8").includes("<Error>")) uploads.delete(uploadId)
      return relay(answer, res, answered)
    }

    return relay(await send(req), res)
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502).end(String(error))
      else res.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    partsOf: (uploadId) => {
      const upload = uploads.get(uploadId)
      return upload === undefined ? undefined : [...upload.parts.values()].sort((a, b) => a.partNumber - b.partNumber)
    },
    listRequests: () => listRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
