/**
 * What the static delivery route may serve (src/entry/http/safePath.ts): URL paths decoded once,
 * hidden segments and odd characters refused, and a file served only when its real path (symlinks
 * followed) is under the root.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { decodePathname, resolveInsideRoot } from "../../src/entry/http/safePath.ts"

describe("decodePathname", () => {
  it("decodes the path once and drops the query", () => {
    expect(decodePathname("/j-1/manifest.mpd")).toBe("/j-1/manifest.mpd")
    expect(decodePathname("/j-1/my%20clip/seg-00001.m4s?token=abc&x=%2e%2e")).toBe("/j-1/my clip/seg-00001.m4s")
    expect(decodePathname("/j-1/a.b.c")).toBe("/j-1/a.b.c")
    // Decoded once: %2525 is a literal "%25" in the name, not a second round of decoding.
    expect(decodePathname("/j-1/100%2525")).toBe("/j-1/100%25")
  })

  it("refuses dot segments and hidden names, written plainly or percent-encoded", () => {
    for (const url of ["/../etc/passwd", "/j-1/../../x", "/./j-1", "/j-1/.staging/seg.m4s", "/.env", "/%2e%2e/x", "/j-1/%2Estaging/x"]) {
      expect(decodePathname(url), url).toBeUndefined()
    }
  })

  it("refuses malformed escapes, NUL and backslashes", () => {
    for (const url of ["/j-1/%E0%A4%A", "/j-1/%", "/j-1/a%00.mpd", "/j-1\\..\\x", "/j-1/%5C..%5Cx"]) {
      expect(decodePathname(url), url).toBeUndefined()
    }
  })
})

describe("resolveInsideRoot", () => {
  let base: string
  let root: string
  beforeAll(() => {
    base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-safepath-")))
    root = path.join(base, "root")
    fs.mkdirSync(path.join(root, "j-1"), { recursive: true })
    fs.writeFileSync(path.join(root, "j-1", "manifest.mpd"), "<MPD/>")
    fs.writeFileSync(path.join(base, "secret.txt"), "not for the web")
    fs.symlinkSync(path.join(base, "secret.txt"), path.join(root, "j-1", "escape.txt"))
    fs.symlinkSync(path.join(root, "j-1", "manifest.mpd"), path.join(root, "alias.mpd"))
    // A sibling whose name starts with the root's: inside by string prefix, outside by path.
    fs.mkdirSync(`${root}-other`)
    fs.writeFileSync(path.join(`${root}-other`, "x.txt"), "neighbour")
    fs.symlinkSync(path.join(`${root}-other`, "x.txt"), path.join(root, "neighbour.txt"))
  })
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }))

  const resolve = (pathname: string) => resolveInsideRoot(root, pathname).pipe(Effect.provide(NodeServices.layer))

  it.effect("gives the real path of a file under the root, symlinks within it followed", () =>
    Effect.gen(function*() {
      expect(yield* resolve("/j-1/manifest.mpd")).toEqual(Option.some(path.join(root, "j-1", "manifest.mpd")))
      expect(yield* resolve("j-1/manifest.mpd")).toEqual(Option.some(path.join(root, "j-1", "manifest.mpd")))
      expect(yield* resolve("/alias.mpd")).toEqual(Option.some(path.join(root, "j-1", "manifest.mpd")))
      expect(yield* resolve("/")).toEqual(Option.some(root))
    }))

  it.effect("refuses what is missing, what escapes lexically, and symlinks that lead out (also to a look-alike sibling)", () =>
    Effect.gen(function*() {
      expect(yield* resolve("/j-1/missing.mpd")).toEqual(Option.none())
      expect(yield* resolve("/../secret.txt")).toEqual(Option.none())
      expect(yield* resolve("/j-1/escape.txt")).toEqual(Option.none())
      expect(yield* resolve("/neighbour.txt")).toEqual(Option.none())
    }))
})
