/**
 * A webhook host is resolved through a real DNS server (test/support/dnsServer.ts) and refused
 * when any of its addresses is not globally reachable; an IP address is judged with no lookup;
 * and the address that passed is the one a real HTTP request connects to, whatever the name.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { AddressRefused, lookupPinnedTo, pinnedAddress, resolverUsing, systemResolver } from "../../../src/layers/webhooks/hostAddress.ts"
import { type DnsServer, startDnsServer } from "../../support/dnsServer.ts"

let dns: DnsServer
let resolve: ReturnType<typeof resolverUsing>

beforeAll(async () => {
  dns = await startDnsServer()
  resolve = resolverUsing([dns.address])
  dns.set("private.hook.test", ["10.0.0.1"])
  dns.set("Public.Hook.Test", ["1.1.1.1"])
  dns.set("mixed.hook.test", ["1.1.1.1", "10.0.0.1"])
  dns.set("mixed6.hook.test", ["1.1.1.1", "2606:4700:4700::1111", "fd00:ec2::254"])
  dns.set("v6only.hook.test", ["2606:4700:4700::1111"])
  dns.set("local.hook.test", ["127.0.0.1"])
  dns.set("norecords.hook.test", [])
})

afterAll(() => dns.close())

const refusal = async (attempt: Promise<unknown>): Promise<AddressRefused> => {
  const outcome = await attempt.then(
    (value) => ({ value }),
    (error: unknown) => ({ error })
  )
  if (!("error" in outcome)) return assert.fail(`expected a refusal, got ${JSON.stringify(outcome.value)}`)
  assert.instanceOf(outcome.error, AddressRefused)
  if (!(outcome.error instanceof AddressRefused)) throw outcome.error
  assert.strictEqual(outcome.error.code, "VIDPIPE_ADDRESS_REFUSED")
  return outcome.error
}

const failure = async (attempt: Promise<unknown>): Promise<Error> => {
  const error = await attempt.then(
    () => undefined,
    (error: unknown) => error
  )
  assert.instanceOf(error, Error)
  if (!(error instanceof Error)) return assert.fail("expected an Error")
  assert.notInstanceOf(error, AddressRefused)
  return error
}

describe("pinnedAddress", () => {
  it("refuses a name that resolves to a private address, naming both", async () => {
    const refused = await refusal(pinnedAddress("private.hook.test", { resolve, allowPrivate: false }))
    assert.strictEqual(refused.reason, "private.hook.test resolves to 10.0.0.1, a private address (RFC 1918)")
  })

  it("pins a name that resolves to a public address to that address", async () => {
    assert.deepStrictEqual(await pinnedAddress("public.hook.test", { resolve, allowPrivate: false }), { address: "1.1.1.1", family: 4 })
    assert.deepStrictEqual(await pinnedAddress("v6only.hook.test", { resolve, allowPrivate: false }), { address: "2606:4700:4700::1111", family: 6 })
  })

  it("refuses a name with a private address among public ones, IPv4 or IPv6", async () => {
    const refused = await refusal(pinnedAddress("mixed.hook.test", { resolve, allowPrivate: false }))
    assert.include(refused.reason, "10.0.0.1")
    const refused6 = await refusal(pinnedAddress("mixed6.hook.test", { resolve, allowPrivate: false }))
    assert.strictEqual(refused6.reason, "mixed6.hook.test resolves to fd00:ec2::254, a unique local address (cloud metadata)")
  })

  it("lets a private address through when private addresses are allowed", async () => {
    assert.deepStrictEqual(await pinnedAddress("local.hook.test", { resolve, allowPrivate: true }), { address: "127.0.0.1", family: 4 })
    assert.deepStrictEqual(await pinnedAddress("[::1]", { resolve, allowPrivate: true }), { address: "::1", family: 6 })
  })

  it("judges an IP address itself, with no DNS query", async () => {
    const before = dns.queries.length
    assert.strictEqual((await refusal(pinnedAddress("127.0.0.1", { resolve, allowPrivate: false }))).reason, "127.0.0.1 is a loopback address")
    assert.strictEqual((await refusal(pinnedAddress("[::1]", { resolve, allowPrivate: false }))).reason, "::1 is a loopback address")
    assert.deepStrictEqual(await pinnedAddress("1.1.1.1", { resolve, allowPrivate: false }), { address: "1.1.1.1", family: 4 })
    assert.strictEqual(dns.queries.length, before)
    // The server is asked when there is a name (so the count above could have moved).
    await pinnedAddress("public.hook.test", { resolve, allowPrivate: false })
    assert.isAbove(dns.queries.length, before)
  })

  it("fails, without a refusal, for a name that does not resolve", async () => {
    const unknown = await failure(pinnedAddress("nowhere.hook.test", { resolve, allowPrivate: false }))
    assert.include(unknown.message, "nowhere.hook.test did not resolve")
    const empty = await failure(pinnedAddress("norecords.hook.test", { resolve, allowPrivate: true }))
    assert.include(empty.message, "norecords.hook.test did not resolve")
  })

  it("refuses localhost through the machine's own resolver", async () => {
    const refused = await refusal(pinnedAddress("localhost", { resolve: systemResolver, allowPrivate: false }))
    assert.match(refused.reason, /^localhost resolves to .*loopback/)
  })

  it("sees a changed DNS answer on the next check (nothing cached)", async () => {
    dns.set("rebinding.hook.test", ["1.1.1.1"])
    assert.deepStrictEqual(await pinnedAddress("rebinding.hook.test", { resolve, allowPrivate: false }), { address: "1.1.1.1", family: 4 })
    dns.set("rebinding.hook.test", ["169.254.169.254"])
    const refused = await refusal(pinnedAddress("rebinding.hook.test", { resolve, allowPrivate: false }))
    assert.strictEqual(refused.reason, "rebinding.hook.test resolves to 169.254.169.254, a link-local address (cloud metadata)")
  })
})

describe("lookupPinnedTo", () => {
  let server: http.Server
  let port: number

  beforeAll(async () => {
    server = http.createServer((request, response) => response.end(`reached with Host ${request.headers.host}`))
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening))
    const address: AddressInfo | string | null = server.address()
    port = typeof address === "object" && address !== null ? address.port : 0
  })

  afterAll(() => new Promise<void>((closed) => server.close(() => closed())))

  it("answers the pinned address in both of lookup's forms", async () => {
    const lookup = lookupPinnedTo({ address: "1.1.1.1", family: 4 })
    const all = await new Promise<unknown>((answered) => lookup("anything.test", { all: true }, (_error, addresses) => answered(addresses)))
    assert.deepStrictEqual(all, [{ address: "1.1.1.1", family: 4 }])
    const one = await new Promise<unknown>((answered) => lookup("anything.test", {}, (_error, address, family) => answered([address, family])))
    assert.deepStrictEqual(one, ["1.1.1.1", 4])
  })

  it("makes a real request to a made-up name reach the pinned address", async () => {
    const body = await new Promise<string>((answered, failed) => {
      const request = http.request({ host: "hook.invalid", port, path: "/", lookup: lookupPinnedTo({ address: "127.0.0.1", family: 4 }) }, (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => (text += chunk))
        response.on("end", () => answered(text))
      })
      request.on("error", failed)
      request.end()
    })
    assert.strictEqual(body, `reached with Host hook.invalid:${port}`)
  })
})
