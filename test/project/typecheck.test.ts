/**
 * `tsc --noEmit` over the whole project (tsconfig.json: src, test, scripts, infra, sst.config.ts),
 * inside `npm test`, so a type error anywhere fails the suite. The list of files tsc checked is
 * compared with the folders, so a file left out of the configuration cannot pass unchecked.
 * SST's platform types cannot be installed offline; infra/sst-env.d.ts declares the SST globals
 * used instead (see that file).
 *
 * The browser code (src/entry/http/web/*.js, JSDoc types, served as it is) is checked on its own
 * with tsconfig.web.json: the DOM's types and not Node's, so a page cannot lean on a Node API.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const repo = path.resolve(import.meta.dirname, "../..")

const tsc = path.join(repo, "node_modules/typescript/bin/tsc")
const webFolder = "src/entry/http/web"

const typeScriptFilesUnder = (folder: string) =>
  fs.readdirSync(path.join(repo, folder), { recursive: true, encoding: "utf8" })
    .filter((file) => /\.(c|m)?tsx?$/.test(file) && !file.split(path.sep).includes("node_modules"))
    .map((file) => path.join(folder, file))

describe("the project's TypeScript", () => {
  it("type-checks: every file of src, test, scripts and infra and sst.config.ts, with no errors", () => {
    const result = spawnSync(process.execPath, [tsc, "--noEmit", "--listFiles", "-p", "."], { cwd: repo, encoding: "utf8" })
    const lines = `${result.stdout}${result.stderr}`.split("\n").filter((line) => line.trim() !== "")
    expect(lines.filter((line) => /error TS\d+/.test(line))).toEqual([])
    expect(result.status).toBe(0)
    const checked = new Set(lines.map((line) => path.relative(repo, line.trim())))
    const expected = ["sst.config.ts", ...["src", "test", "scripts", "infra"].flatMap(typeScriptFilesUnder)]
    expect(expected.filter((file) => !checked.has(file))).toEqual([])
  }, 300_000)

  it("type-checks the browser code: every .js file of src/entry/http/web, with the DOM's types and no errors", () => {
    const result = spawnSync(process.execPath, [tsc, "--listFiles", "-p", "tsconfig.web.json"], { cwd: repo, encoding: "utf8" })
    const lines = `${result.stdout}${result.stderr}`.split("\n").filter((line) => line.trim() !== "")
    expect(lines.filter((line) => /error TS\d+/.test(line))).toEqual([])
    expect(result.status).toBe(0)
    const checked = new Set(lines.map((line) => path.relative(repo, line.trim())))
    const scripts = fs.readdirSync(path.join(repo, webFolder)).filter((file) => file.endsWith(".js")).map((file) => path.join(webFolder, file))
    expect(scripts.length).toBeGreaterThan(0)
    expect(scripts.filter((file) => !checked.has(file))).toEqual([])
    // Marked for editors too, which check a file by its own comment when they do not read tsconfig.web.json.
    expect(scripts.filter((file) => !fs.readFileSync(path.join(repo, file), "utf8").startsWith("// @ts-check\n"))).toEqual([])
    // Node's types stay out: `process` or `Buffer` in a page would be a type error.
    expect([...checked].filter((file) => file.includes("@types/node"))).toEqual([])
  }, 300_000)
})
