/**
 * An IMDSv2 stand-in on 127.0.0.1: PUT /latest/api/token (TTL header required, 1–21600) hands out
 * a token; a GET of /latest/meta-data/<path> without a token it issued is refused with 401, an
 * unknown path is 404, as IMDSv2 does. `metadata` can be changed while it runs (for example
 * `autoscaling/target-lifecycle-state` going from InService to Terminated).
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface ImdsStandIn {
  readonly url: string
  /** Values by path under /latest/meta-data/; absent paths answer 404. */
  readonly metadata: Record<string, string>
  /** Every request, with the TTL header of a token request and the token a read presented. */
  readonly seen: Array<{ readonly method: string; readonly path: string; readonly ttl?: string; readonly token?: string }>
  /** When false, tokens are issued but none is accepted (as if each expired at once). */
  acceptTokens: boolean
  readonly close: () => Promise<void>
}

export const startImdsStandIn = (metadata: Record<string, string>): Promise<ImdsStandIn> =>
  new Promise((resolve) => {
    const tokens = new Set<string>()
    const server = http.createServer((req, res) => {
      const ttl = req.headers["x-aws-ec2-metadata-token-ttl-seconds"]
      const token = req.headers["x-aws-ec2-metadata-token"]
      imds.seen.push({ method: req.method ?? "", path: req.url ?? "", ...(typeof ttl === "string" ? { ttl } : {}), ...(typeof token === "string" ? { token } : {}) })
      if (req.method === "PUT" && req.url === "/latest/api/token") {
        if (typeof ttl !== "string" || !(Number(ttl) >= 1 && Number(ttl) <= 21600)) return void res.writeHead(400).end()
        const issued = `token-${tokens.size + 1}`
        tokens.add(issued)
        return void res.writeHead(200, { "content-type": "text/plain" }).end(issued)
      }
      if (req.method !== "GET") return void res.writeHead(405).end()
      if (typeof token !== "string" || !tokens.has(token) || !imds.acceptTokens) return void res.writeHead(401).end()
      const value = metadata[(req.url ?? "").replace("/latest/meta-data/", "")]
      if (value === undefined) return void res.writeHead(404).end("Not Found")
      res.writeHead(200, { "content-type": "text/plain" }).end(value)
    })
    const imds: ImdsStandIn = {
      url: "",
      metadata,
      seen: [],
      acceptTokens: true,
      close: () =>
        new Promise((done) => {
          server.closeAllConnections()
          server.close(() => done())
        })
    }
    server.listen(0, "127.0.0.1", () => {
      resolve(Object.assign(imds, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }))
    })
  })
