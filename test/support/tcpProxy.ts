/**
 * A TCP proxy on 127.0.0.1 in front of a server (Redis, in the tests), whose hooks see every
 * chunk each way and decide what the client gets: delayed replies, or a connection cut between
 * the server's work and its answer.
 */
import * as net from "node:net"

export interface ProxiedConnection {
  /** Passes a chunk on to the client (nothing once the connection is gone). */
  readonly toClient: (chunk: Buffer) => void
  /** Drops the connection both ways, as a crashed server or a broken network does. */
  readonly cut: () => void
}

export interface TcpProxyHooks {
  /** Each chunk the client sends, before it goes to the server (it always does). */
  readonly request?: (chunk: Buffer, connection: ProxiedConnection) => void
  /** Each chunk the server answers; without this hook it goes to the client as it is. */
  readonly reply?: (chunk: Buffer, connection: ProxiedConnection) => void
}

export interface TcpProxy {
  readonly port: number
  readonly close: () => Promise<void>
}

export const startTcpProxy = (target: { readonly hostname: string; readonly port: number }, hooks: TcpProxyHooks = {}) =>
  new Promise<TcpProxy>((resolve) => {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.hostname)
      sockets.add(client).add(upstream)
      const cut = () => {
        client.destroy()
        upstream.destroy()
      }
      const connection: ProxiedConnection = { toClient: (chunk) => void (client.destroyed || client.write(chunk)), cut }
      client.on("data", (chunk: Buffer) => {
        hooks.request?.(chunk, connection)
        upstream.write(chunk)
      })
      upstream.on("data", (chunk: Buffer) => (hooks.reply ? hooks.reply(chunk, connection) : connection.toClient(chunk)))
      client.on("close", cut).on("error", cut)
      upstream.on("close", cut).on("error", cut)
    })
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })
