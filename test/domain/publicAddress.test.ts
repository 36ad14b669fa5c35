/**
 * Webhooks go only to globally reachable addresses: loopback, private, link-local (cloud
 * metadata), shared, reserved and multicast ones are refused, IPv4 smuggled inside IPv6 too, with
 * a reason that names the address.
 */
import { assert, describe, it } from "@effect/vitest"
import { addressProblem, isIpLiteral } from "../../src/domain/publicAddress.ts"

const accepted = ["1.1.1.1", "8.8.8.8", "93.184.215.14", "172.15.255.255", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "2a00:1450:4001:82b::200e", "::ffff:1.1.1.1", "64:ff9b::101:101", "2002:101:101::1"]

// Each refused address with a word its reason must contain.
const refused: ReadonlyArray<readonly [address: string, says: string]> = [
  ["127.0.0.1", "loopback"],
  ["127.255.0.9", "loopback"],
  ["10.0.0.1", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["192.168.1.1", "private"],
  ["169.254.169.254", "cloud metadata"],
  ["169.254.1.1", "link-local"],
  ["100.64.0.1", "carrier-grade NAT"],
  ["100.127.255.255", "carrier-grade NAT"],
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "unspecified"],
  ["192.0.0.170", "IETF"],
  ["192.0.2.1", "documentation"],
  ["198.51.100.7", "documentation"],
  ["203.0.113.200", "documentation"],
  ["192.88.99.1", "6to4"],
  ["198.19.255.1", "benchmarking"],
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["240.0.0.1", "reserved"],
  ["255.255.255.255", "broadcast"],
  ["::", "unspecified"],
  ["::1", "loopback"],
  ["fe80::1", "link-local"],
  ["fe80::1%eth0", "link-local"],
  ["fd00:ec2::254", "cloud metadata"],
  ["fc00::1", "unique local"],
  ["fdff:ffff::1", "unique local"],
  ["ff02::1", "multicast"],
  ["2001:db8::1", "documentation"],
  ["100::1", "discard"],
  ["::ffff:127.0.0.1", "loopback"],
  ["::ffff:7f00:1", "loopback"],
  ["::ffff:127.0.0.1%1", "loopback"],
  ["::ffff:169.254.169.254", "cloud metadata"],
  ["::ffff:0:a00:1", "private"],
  ["::127.0.0.1", "loopback"],
  ["64:ff9b::a00:1", "private"],
  ["64:ff9b::7f00:1", "loopback"],
  ["2002:a00:1::1", "private"],
  ["2002:c0a8:101::", "private"],
  ["[::1]", "loopback"]
]

describe("addressProblem", () => {
  for (const address of accepted) {
    it(`accepts ${address}`, () => {
      assert.isUndefined(addressProblem(address))
    })
  }

  for (const [address, says] of refused) {
    it(`refuses ${address}: ${says}`, () => {
      const problem = addressProblem(address)
      assert.isString(problem)
      assert.include(problem, address)
      assert.include(problem, says)
    })
  }

  it("names the IPv4 address an IPv6 one carries", () => {
    assert.strictEqual(addressProblem("::ffff:7f00:1"), "::ffff:7f00:1 is the IPv4-mapped form of 127.0.0.1, a loopback address")
    assert.strictEqual(addressProblem("2002:a00:1::1"), "2002:a00:1::1 is the 6to4 form of 10.0.0.1, a private address (RFC 1918)")
  })

  it("refuses what is not an IP address", () => {
    assert.strictEqual(addressProblem("hook.example"), "hook.example is not an IP address")
    assert.strictEqual(addressProblem("127.1"), "127.1 is not an IP address")
    assert.strictEqual(addressProblem(""), " is not an IP address")
  })
})

describe("isIpLiteral", () => {
  it("takes IPv4, IPv6 and URL-bracketed IPv6, not names or bracketed IPv4", () => {
    for (const host of ["127.0.0.1", "::1", "[::1]", "[fd00:ec2::254]"]) assert.isTrue(isIpLiteral(host), host)
    for (const host of ["hook.example", "localhost", "[127.0.0.1]", "[hook.example]", "127.1", ""]) assert.isFalse(isIpLiteral(host), host)
  })
})
