/**
 * Whether an IP address is one a webhook may be sent to: globally reachable, so that a webhook URL
 * cannot make vidpipe reach its own machine, its private network or the cloud's metadata service
 * (server-side request forgery). The ranges are IANA's special-purpose address registries
 * (iana.org/assignments/iana-ipv4-special-registry and iana-ipv6-special-registry) whose "Globally
 * Reachable" is False, plus multicast and the reserved 240.0.0.0/4. IPv6 forms that carry an IPv4
 * address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by the IPv4 address they carry,
 * since that is where a packet to them may end up.
 */
import { BlockList, isIPv4, isIPv6 } from "node:net"

type Family = "ipv4" | "ipv6"

interface Kind {
  /** What an address in these ranges is, as a noun phrase: "a loopback address". */
  readonly kind: string
  readonly ranges: BlockList
}

const kinds = (family: Family, table: ReadonlyArray<readonly [kind: string, cidrs: ReadonlyArray<string>]>): ReadonlyArray<Kind> =>
  table.map(([kind, cidrs]) => {
    const ranges = new BlockList()
    for (const cidr of cidrs) {
      const [network = "", prefix = ""] = cidr.split("/")
      ranges.addSubnet(network, Number(prefix), family)
    }
    return { kind, ranges }
  })

// First match wins: the narrower, more telling ranges (metadata, broadcast) come before the wider.
const ipv4Kinds = kinds("ipv4", [
  // AWS, GCP and Azure instance metadata, and ECS task metadata.
  ["a link-local address (cloud metadata)", ["169.254.169.254/32", "169.254.170.2/32"]],
  ["the broadcast address", ["255.255.255.255/32"]],
  ["an unspecified address (this network)", ["0.0.0.0/8"]],
  ["a loopback address", ["127.0.0.0/8"]],
  ["a private address (RFC 1918)", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]],
  ["a shared address (carrier-grade NAT, RFC 6598)", ["100.64.0.0/10"]],
  ["a link-local address", ["169.254.0.0/16"]],
  ["an IETF protocol assignment address", ["192.0.0.0/24"]],
  ["a documentation address", ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]],
  ["a 6to4 relay anycast address (deprecated)", ["192.88.99.0/24"]],
  ["a benchmarking address", ["198.18.0.0/15"]],
  ["a multicast address", ["224.0.0.0/4"]],
  ["a reserved address (240.0.0.0/4)", ["240.0.0.0/4"]]
])

const ipv6Kinds = kinds("ipv6", [
  // AWS's instance metadata service on Nitro instances.
  ["a unique local address (cloud metadata)", ["fd00:ec2::254/128"]],
  ["the unspecified address", ["::/128"]],
  ["a loopback address", ["::1/128"]],
  ["a link-local address", ["fe80::/10"]],
  ["a unique local address (private)", ["fc00::/7"]],
  ["a multicast address", ["ff00::/8"]],
  ["a documentation address", ["2001:db8::/32", "3fff::/20"]],
  ["a benchmarking address", ["2001:2::/48"]],
  ["a discard-only address", ["100::/64"]],
  ["a local-use NAT64 address", ["64:ff9b:1::/48"]],
  ["a segment routing (SRv6) address", ["5f00::/16"]]
])

const kindIn = (address: string, family: Family, table: ReadonlyArray<Kind>) =>
  table.find(({ ranges }) => ranges.check(address, family))?.kind

/** A URL's host without the brackets it puts around an IPv6 address: "[::1]" → "::1". */
export const unbracketed = (host: string) => (host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host)

/** Whether a host (as a URL has it, IPv6 in brackets or not) is an IP address rather than a name. */
export const isIpLiteral = (host: string) => {
  const inner = unbracketed(host)
  return inner !== host ? isIPv6(inner) : isIPv4(host) || isIPv6(host)
}

/** The eight 16-bit groups of a valid IPv6 address (without a zone), a dotted IPv4 tail included. */
const ipv6Groups = (address: string): ReadonlyArray<number> => {
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address)
  const hex = dotted
    ? address.slice(0, dotted.index) + ((Number(dotted[1]) << 8) | Number(dotted[2])).toString(16) + ":" + ((Number(dotted[3]) << 8) | Number(dotted[4])).toString(16)
    : address
  const [head = "", tail] = hex.split("::")
  const groups = (part: string) => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)))
  if (tail === undefined) return groups(head)
  const before = groups(head)
  const after = groups(tail)
  return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after]
}

const dottedFrom = (high: number, low: number) => [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".")

/** The IPv4 address an IPv6 address carries, and how it carries it; undefined when it carries none. */
const embeddedIpv4 = (groups: ReadonlyArray<number>): { readonly address: string; readonly how: string } | undefined => {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups
  const zeroTo4 = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0
  if (zeroTo4 && g4 === 0 && g5 === 0xffff) return { address: dottedFrom(g6, g7), how: "IPv4-mapped" }
  if (zeroTo4 && g4 === 0xffff && g5 === 0) return { address: dottedFrom(g6, g7), how: "IPv4-translated" }
  // ::/128 and ::1 are IPv6's own unspecified and loopback addresses, judged as such.
  if (zeroTo4 && g4 === 0 && g5 === 0 && (g6 !== 0 || g7 > 1)) return { address: dottedFrom(g6, g7), how: "IPv4-compatible" }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return { address: dottedFrom(g6, g7), how: "NAT64" }
  if (g0 === 0x2002) return { address: dottedFrom(g1, g2), how: "6to4" }
  return undefined
}

/**
 * What kind of not-globally-reachable address `address` is, as a noun phrase ("a loopback
 * address"); undefined when it is globally reachable.
 */
export const addressKind = (address: string): string | undefined => {
  const literal = unbracketed(address)
  if (isIPv4(literal)) return kindIn(literal, "ipv4", ipv4Kinds)
  if (!isIPv6(literal)) return "not an IP address"
  // A zone ("fe80::1%eth0") names an interface, not bits of the address.
  const bare = literal.split("%")[0] ?? literal
  const embedded = embeddedIpv4(ipv6Groups(bare))
  if (embedded !== undefined) {
    const kind = kindIn(embedded.address, "ipv4", ipv4Kinds)
    return kind && `the ${embedded.how} form of ${embedded.address}, ${kind}`
  }
  return kindIn(bare, "ipv6", ipv6Kinds)
}

/**
 * Why a webhook may not go to `address` (an IPv4 or IPv6 literal), as a short sentence naming
 * it ("10.0.0.1 is a private address (RFC 1918)"); undefined when it is globally reachable.
 */
export const addressProblem = (address: string): string | undefined => {
  const kind = addressKind(address)
  return kind && `${address} is ${kind}`
}
