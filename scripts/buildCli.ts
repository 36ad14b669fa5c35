/**
 * Builds the `vidpipe` command line into `dist/cli/` (what `npm run vidpipe` runs), when any
 * source is newer than the last build.
 *
 * Why a build: started from the TypeScript sources, Node resolves, reads and strips the types of
 * some 420 modules (Effect alone is 280 of them) before `vidpipe process` can begin: 0.65–0.75 s
 * on the 2-core machines here, more than the whole rest of a job's fixed cost. One bundle of our
 * code and Effect, split per subcommand (each is loaded only when named), starts in 0.2–0.25 s.
 * Other packages stay external (Redis, the AWS SDK, players): loaded from node_modules as before.
 *
 * Old chunks are kept for a day: a long-running `serve` or `worker` started from an earlier build
 * may still load one of its lazily imported chunks after a rebuild.
 *
 *   node scripts/buildCli.ts [--force]
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "rolldown"

const root = fileURLToPath(new URL("..", import.meta.url))
export const cliBundleFolder = path.join(root, "dist", "cli")
export const cliBundleEntry = path.join(cliBundleFolder, "main.js")
const webSource = path.join(root, "src", "entry", "http", "web")
const inputs = [path.join(root, "src"), path.join(root, "package-lock.json"), fileURLToPath(import.meta.url)]
const dayMs = 24 * 3600 * 1000

/** The newest modification time among the inputs (files under folders included). */
const newestInput = async (): Promise<number> => {
  let newest = 0
  const visit = async (entry: string): Promise<void> => {
    const stat = await fs.stat(entry)
    newest = Math.max(newest, stat.mtimeMs)
    if (stat.isDirectory()) for (const name of await fs.readdir(entry)) await visit(path.join(entry, name))
  }
  for (const input of inputs) await visit(input)
  return newest
}

const isStale = async () => {
  const built = await fs.stat(cliBundleEntry).then((s) => s.mtimeMs, () => -1)
  return built < (await newestInput())
}

/** Only our code and Effect's packages go into the bundle; every other package is imported from node_modules. */
const bundled = (id: string) => id.startsWith(".") || path.isAbsolute(id) || id === "effect" || id.startsWith("effect/") || id.startsWith("@effect/")

export const buildCli = async (options: { readonly force?: boolean } = {}) => {
  if (!options.force && !(await isStale())) return false
  const staging = `${cliBundleFolder}.staging-${process.pid}`
  await fs.rm(staging, { recursive: true, force: true })
  await build({
    input: path.join(root, "src", "entry", "cli", "main.ts"),
    platform: "node",
    external: (id) => !bundled(id),
    output: { dir: staging, format: "esm", entryFileNames: "main.js.next", chunkFileNames: "[name]-[hash].js" },
    logLevel: "warn"
  })
  // The web page's files, found beside the chunk that serves them (`new URL("./web/", import.meta.url)`).
  await fs.cp(webSource, path.join(staging, "web"), { recursive: true })
  await fs.mkdir(cliBundleFolder, { recursive: true })
  const fresh = new Set(await fs.readdir(staging))
  for (const name of fresh) {
    if (name === "main.js.next") continue
    // A file replaces its namesake in one step (same name, same content); the web folder is swapped whole.
    if (name === "web") await fs.rm(path.join(cliBundleFolder, name), { recursive: true, force: true })
    await fs.rename(path.join(staging, name), path.join(cliBundleFolder, name))
  }
  // The entry last, in one rename: a process starting now sees the old build or the new one, whole.
  await fs.rename(path.join(staging, "main.js.next"), cliBundleEntry)
  await fs.rm(staging, { recursive: true, force: true })
  const now = Date.now()
  for (const name of await fs.readdir(cliBundleFolder)) {
    if (fresh.has(name) || name === "main.js") continue
    const file = path.join(cliBundleFolder, name)
    if (now - (await fs.stat(file)).mtimeMs > dayMs) await fs.rm(file, { recursive: true, force: true })
  }
  return true
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const started = performance.now()
  const built = await buildCli({ force: process.argv.includes("--force") })
  if (built) process.stderr.write(`vidpipe: built the command line into dist/cli in ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
}
