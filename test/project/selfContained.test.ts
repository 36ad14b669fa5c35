/**
 * The repository stands alone: a user clones it with nothing beside it. Every relative link of
 * its Markdown resolves to a file inside it, and no tracked file names a path beside the clone.
 * (.ci/run goes further: it runs `npm test` in a clone of its own in an empty folder.)
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const repo = path.resolve(import.meta.dirname, "../..")
const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: repo, encoding: "utf8" }).split("\0").filter((file) => file !== "")
const textOf = (file: string) => fs.readFileSync(path.join(repo, file), "utf8")

describe("the repository is self-contained", () => {
  it("every relative Markdown link points at a file inside the repository", () => {
    const outside: Array<string> = []
    for (const file of tracked.filter((f) => f.endsWith(".md"))) {
      for (const [, target] of textOf(file).matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)) {
        if (target === undefined || /^[a-z]+:/i.test(target)) continue
        const resolved = path.resolve(repo, path.dirname(file), target)
        if (!resolved.startsWith(repo + path.sep) || !fs.existsSync(resolved)) outside.push(`${file}: ${target}`)
      }
    }
    expect(outside).toEqual([])
  })

  it("no tracked file refers to the folder beside the clone", () => {
    const pattern = /\.\.\/(\.\.\/)*shared\b|"\.\.", "shared"/
    const offenders = tracked
      .filter((file) => file !== "test/project/selfContained.test.ts" && !/\.(png|jpe?g|mp4|m4s|ico)$/.test(file) && fs.existsSync(path.join(repo, file)))
      .filter((file) => pattern.test(textOf(file)))
    expect(offenders).toEqual([])
  })
})
