/**
 * `tsc --noEmit` over infra/ and sst.config.ts (infra/tsconfig.json), inside `npm test` so CI
 * type-checks the infrastructure code. SST's platform types cannot be installed offline;
 * infra/sst-env.d.ts declares the SST globals used instead (see that file).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const repo = path.resolve(import.meta.dirname, "..")

describe("infrastructure code", () => {
  it("type-checks: every infra/ file and sst.config.ts, with no errors", () => {
    const tsc = path.join(repo, "node_modules/typescript/bin/tsc")
    const result = spawnSync(process.execPath, [tsc, "--noEmit", "--listFiles", "-p", "infra"], { cwd: repo, encoding: "utf8" })
    const lines = `${result.stdout}${result.stderr}`.split("\n").filter((line) => line.trim() !== "")
    const errors = lines.filter((line) => /error TS\d+/.test(line))
    expect(errors).toEqual([])
    expect(result.status).toBe(0)
    const checked = new Set(lines.map((line) => path.relative(repo, line.trim())))
    const expected = [
      "sst.config.ts",
      ...fs.readdirSync(path.join(repo, "infra")).filter((f) => f.endsWith(".ts")).map((f) => `infra/${f}`)
    ]
    for (const file of expected) expect(checked, file).toContain(file)
  })
})
