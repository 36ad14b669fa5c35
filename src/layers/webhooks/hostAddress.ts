/**
 * The address a webhook is sent to: its URL's host resolved once, every address checked
 * (domain/publicAddress.ts), and the request then connected to exactly that address. Checking a
 * name and letting the HTTP client resolve it again would let a DNS answer that changes in between
 * (DNS rebinding, a TTL of 0) send the request somewhere that was never checked; pinning the
 * checked address into the request's `lookup` closes that gap.
 */
import * as dns from "node:dns"
import * as net from "node:net"
import { addressKind, isIpLiteral, unbracketed } from "../../domain/publicAddress.ts"

export interface ResolvedAddress {
  readonly address: string
  readonly family: 4 | 6
}

/** Every address a host name resolves to. */
export type ResolveHost = (host: string) => Promise<ReadonlyArray<ResolvedAddress>>

/** The machine's own resolution (getaddrinfo: /etc/hosts, then DNS), as an HTTP client does it. */
export const systemResolver: ResolveHost = async (host) => {
  const answers = await dns.promises.lookup(host, { all: true, verbatim: true })
  return answers.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }))
}

const errorCode = (error: unknown) => (error instanceof Error && "code" in error ? String(error.code) : String(error))

// Answers that only say "no record of this type": fine for one family when the other answered.
const noRecord = new Set(["ENODATA", "ENOTFOUND"])

/**
 * Resolution by asking the given DNS servers ("127.0.0.1:5353") for A and AAAA records directly,
 * without /etc/hosts or the machine's resolver settings.
 */
export const resolverUsing = (servers: ReadonlyArray<string>): ResolveHost => {
  // Short tries: a delivery waits for this, and a retry comes later anyway.
  const resolver = new dns.promises.Resolver({ timeout: 2_000, tries: 2 })
  resolver.setServers([...servers])
  return async (host) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)])
    const failures = [v4, v6].flatMap((answer) => (answer.status === "rejected" ? [errorCode(answer.reason)] : []))
    const hard = failures.find((code) => !noRecord.has(code))
    if (hard !== undefined) throw new Error(`looking up ${host} failed (${hard})`)
    const addresses: ReadonlyArray<ResolvedAddress> = [
      ...(v4.status === "fulfilled" ? v4.value.map((address): ResolvedAddress => ({ address, family: 4 })) : []),
      ...(v6.status === "fulfilled" ? v6.value.map((address): ResolvedAddress => ({ address, family: 6 })) : [])
    ]
    if (addresses.length === 0) throw new Error(`${host} has no A or AAAA record (${failures.join(", ") || "empty answers"})`)
    return addresses
  }
}

/** A webhook host refused because it is, or resolves to, an address that is not globally reachable. */
export class AddressRefused extends Error {
  readonly code = "VIDPIPE_ADDRESS_REFUSED"
  /** Names the host and the address: "hook.example resolves to 10.0.0.1, a private address (RFC 1918)". */
  readonly reason: string
  constructor(reason: string) {
    super(`webhook address refused: ${reason}`)
    this.name = "AddressRefused"
    this.reason = reason
  }
}

/**
 * The one address to connect to for `host` (a URL's host: a name, an IPv4 address or a bracketed
 * IPv6 one). An IP address is checked as it is, with no lookup; a name is resolved and refused
 * when ANY of its addresses is not globally reachable (the client could pick any of them), unless
 * `allowPrivate`. Rejects with AddressRefused, or with an Error when the name does not resolve.
 * The caller must connect to the returned address and nothing else (lookupPinnedTo): it is the
 * address that was checked.
 */
export const pinnedAddress = async (
  host: string,
  options: { readonly resolve: ResolveHost; readonly allowPrivate: boolean }
): Promise<ResolvedAddress> => {
  if (isIpLiteral(host)) {
    const address = unbracketed(host)
    const kind = addressKind(address)
    if (kind !== undefined && !options.allowPrivate) throw new AddressRefused(`${address} is ${kind}`)
    return { address, family: net.isIPv6(address) ? 6 : 4 }
  }
  const addresses = await options.resolve(host).catch((cause: unknown) => {
    throw new Error(`${host} did not resolve: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  })
  const [first] = addresses
  if (first === undefined) throw new Error(`${host} did not resolve to any address`)
  if (!options.allowPrivate) {
    for (const { address } of addresses) {
      const kind = addressKind(address)
      if (kind !== undefined) throw new AddressRefused(`${host} resolves to ${address}, ${kind}`)
    }
  }
  return { address: first.address, family: first.family }
}

/**
 * A `lookup` for http.request / https.request that answers the pinned address whatever the name,
 * so the connection goes where the check looked. The request keeps its host for the Host header
 * and TLS (SNI and the certificate check still use the name). Node asks with `all: true` when it
 * may try several addresses (autoSelectFamily), for one address otherwise.
 */
export const lookupPinnedTo = (pinned: ResolvedAddress): net.LookupFunction => (_hostname, options, callback) => {
  // Answered later, as dns.lookup answers, never before lookup has returned.
  process.nextTick(() => {
    if (options.all) callback(null, [{ address: pinned.address, family: pinned.family }])
    else callback(null, pinned.address, pinned.family)
  })
}
