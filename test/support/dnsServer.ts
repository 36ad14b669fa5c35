/**
 * A small real DNS server over UDP on 127.0.0.1, for tests that resolve names the way production
 * does (node's c-ares Resolver) but with answers the test sets, and changes, itself. Answers A and
 * AAAA queries (RFC 1035 message format, RFC 3596 for AAAA) with a TTL of 0 so nothing is cached;
 * a known name without a record of the asked type gets NOERROR with no answer, an unknown name
 * NXDOMAIN. Every query is logged, so a test can tell that no lookup happened.
 */
import * as dgram from "node:dgram"
import * as net from "node:net"

const typeA = 1
const typeAAAA = 28
const classIN = 1
const rcodeNoError = 0
const rcodeNxDomain = 3

export interface DnsQuery {
  readonly name: string
  readonly type: number
}

export interface DnsServer {
  readonly port: number
  /** For resolverUsing / Resolver.setServers: "127.0.0.1:PORT". */
  readonly address: string
  /** Sets the name's addresses (IPv4 ones answer A, IPv6 ones AAAA); an empty list keeps the name with no records. */
  readonly set: (name: string, addresses: ReadonlyArray<string>) => void
  /** Every query received, oldest first. */
  readonly queries: ReadonlyArray<DnsQuery>
  readonly close: () => Promise<void>
}

interface Question {
  readonly name: string
  readonly type: number
  readonly qclass: number
  /** Where the question section ends in the query. */
  readonly end: number
}

/** The single question of a query, or undefined when the message is not one a stub resolver sends. */
const questionOf = (message: Buffer): Question | undefined => {
  if (message.length < 12 || message.readUInt16BE(4) !== 1) return undefined
  const labels: Array<string> = []
  let offset = 12
  for (;;) {
    const length = message[offset]
    if (length === undefined || length > 63) return undefined
    offset += 1
    if (length === 0) break
    if (offset + length > message.length) return undefined
    labels.push(message.toString("latin1", offset, offset + length))
    offset += length
  }
  if (offset + 4 > message.length) return undefined
  return { name: labels.join(".").toLowerCase(), type: message.readUInt16BE(offset), qclass: message.readUInt16BE(offset + 2), end: offset + 4 }
}

const ipv4Bytes = (address: string) => Buffer.from(address.split(".").map(Number))

// Hex groups only (no dotted IPv4 tail): enough for the addresses tests set.
const ipv6Bytes = (address: string) => {
  const [head = "", tail] = address.split("::")
  const groups = (part: string) => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)))
  const before = groups(head)
  const after = tail === undefined ? [] : groups(tail)
  const all = [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after]
  const bytes = Buffer.alloc(16)
  all.forEach((group, index) => bytes.writeUInt16BE(group, index * 2))
  return bytes
}

/** One answer record: the name as a pointer to the question's (offset 12), TTL 0. */
const answer = (type: number, data: Buffer) => {
  const record = Buffer.alloc(12)
  record.writeUInt16BE(0xc00c, 0)
  record.writeUInt16BE(type, 2)
  record.writeUInt16BE(classIN, 4)
  record.writeUInt32BE(0, 6)
  record.writeUInt16BE(data.length, 10)
  return Buffer.concat([record, data])
}

const reply = (query: Buffer, question: Question, rcode: number, answers: ReadonlyArray<Buffer>) => {
  const header = Buffer.alloc(12)
  header.writeUInt16BE(query.readUInt16BE(0), 0)
  // QR, the query's opcode and RD echoed, AA and RA set.
  header.writeUInt16BE(0x8000 | (query.readUInt16BE(2) & 0x7900) | 0x0400 | 0x0080 | rcode, 2)
  header.writeUInt16BE(1, 4)
  header.writeUInt16BE(answers.length, 6)
  return Buffer.concat([header, query.subarray(12, question.end), ...answers])
}

export const startDnsServer = async (): Promise<DnsServer> => {
  const records = new Map<string, ReadonlyArray<string>>()
  const queries: Array<DnsQuery> = []
  const socket = dgram.createSocket("udp4")
  socket.on("message", (message, peer) => {
    const question = questionOf(message)
    if (question === undefined) return
    queries.push({ name: question.name, type: question.type })
    const addresses = records.get(question.name)
    const answers =
      question.qclass !== classIN || addresses === undefined
        ? []
        : question.type === typeA
          ? addresses.filter((address) => net.isIPv4(address)).map((address) => answer(typeA, ipv4Bytes(address)))
          : question.type === typeAAAA
            ? addresses.filter((address) => net.isIPv6(address)).map((address) => answer(typeAAAA, ipv6Bytes(address)))
            : []
    socket.send(reply(message, question, addresses === undefined ? rcodeNxDomain : rcodeNoError, answers), peer.port, peer.address)
  })
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject)
    socket.bind(0, "127.0.0.1", () => resolve())
  })
  const { port } = socket.address()
  return {
    port,
    address: `127.0.0.1:${port}`,
    set: (name, addresses) => void records.set(name.toLowerCase(), addresses),
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve()))
  }
}
