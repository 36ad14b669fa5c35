/**
 * The pages' code and styles (src/entry/http/web: real .js and .css files) as the servers deliver
 * them: `vidpipe serve`'s web page and `vidpipe play`'s /player page hold no inline code, and every
 * file they load (stylesheets, scripts and the modules those import) answers 200 with its content
 * type, nosniff and a year's caching under a URL whose version follows the files' contents. Also:
 * the web app's reading of the API's answers (web/types.ts) fits what the API sends.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, describe, expect, expectTypeOf, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import type { JobView } from "../../src/domain/JobView.ts"
import type { CreatedJob as ApiCreatedJob, JobPage } from "../../src/entry/http/api/Api.ts"
import { playerRoutes, presentationServerUrl, servePresentations } from "../../src/entry/http/presentationServer.ts"
import { webAppRoutes } from "../../src/entry/http/webApp.ts"
import type { CreatedJob, JobListPage, JobSummary } from "../../src/entry/http/web/types.ts"
import { loadWebAssetsFrom, webAssetsFolder } from "../../src/entry/http/webAssets.ts"

const roots: Array<string> = []
afterAll(() => roots.forEach((root) => fs.rmSync(root, { recursive: true, force: true })))
const tempFolder = (prefix: string) => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  roots.push(folder)
  return folder
}

const contentTypes: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8"
}

interface Fetched {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

const fetchFrom = (base: string) => (url: string) =>
  Effect.promise(async (): Promise<Fetched> => {
    const response = await fetch(new URL(url, base))
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

/** URL paths a page loads itself (stylesheets and scripts; not links a person follows). */
const loadedByPage = (html: string) =>
  [...html.matchAll(/<(?:link rel="stylesheet" href|script(?: type="module")? src)="([^"]+)"/g)].map((m) => m[1]!)

/** Relative module imports of a script, resolved against its URL. */
const importedBy = (script: string, url: string) =>
  [...script.matchAll(/^import [^"]* from "(\.\/[^"]+)"/gm)].map((m) => new URL(m[1]!, `http://page${url}`).pathname)

/**
 * Fetches `page` and everything it loads from ./web (following module imports), checks each
 * answer, and returns the asset paths it saw.
 */
const checkPage = (get: (url: string) => Effect.Effect<Fetched>, page: string) =>
  Effect.gen(function*() {
    const html = yield* get(page)
    expect(html.status, page).toBe(200)
    // No inline code: every script is a file, and there is no <style> element or style attribute.
    expect(html.text, page).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/)
    expect(html.text, page).not.toMatch(/<style|\sstyle=/)
    const pending = loadedByPage(html.text).filter((url) => url.startsWith("/_web/"))
    expect(pending.length, page).toBeGreaterThan(0)
    const seen = new Set<string>()
    while (pending.length > 0) {
      const url = pending.pop()!
      if (seen.has(url)) continue
      seen.add(url)
      expect(url, page).toMatch(/^\/_web\/[0-9a-f]{16}\/[A-Za-z]+\.(js|css)$/)
      const asset = yield* get(url)
      expect(asset.status, url).toBe(200)
      expect(asset.headers.get("content-type"), url).toBe(contentTypes[path.extname(url)])
      expect(asset.headers.get("cache-control"), url).toBe("public, max-age=31536000, immutable")
      expect(asset.headers.get("x-content-type-options"), url).toBe("nosniff")
      if (url.endsWith(".js")) pending.push(...importedBy(asset.text, url))
    }
    return [...seen]
  })

// The routes `vidpipe serve` mounts for the page (serve.ts; test/e2e/webApp.e2e.test.ts drives the whole server).
const webPageServer = HttpRouter.serve(Layer.mergeAll(playerRoutes, webAppRoutes), { disableLogger: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layerTest)
)

const serverGet = Effect.map(HttpServer.addressFormattedWith(Effect.succeed), fetchFrom)

describe("the web page of vidpipe serve", () => {
  layer(webPageServer, { excludeTestServices: true })("", (it) => {
    it.effect("loads its code and styles from files: each with its content type and a year's caching", () =>
      Effect.gen(function*() {
        const get = yield* serverGet
        const assets = yield* checkPage(get, "/")
        expect(assets.map((url) => path.basename(url)).sort()).toEqual(
          ["app.css", "app.js", "dashjsEngine.js", "dom.js", "hlsjsEngine.js", "mediaError.js", "player.js", "playlistRung.js", "shakaEngine.js", "storyboard.css", "storyboard.js"]
        )
        const dashjs = yield* get("/_player/dash.all.min.js")
        expect(dashjs.status).toBe(200)
        expect(dashjs.headers.get("cache-control")).toBe("public, max-age=3600")
      }))

    it.effect("serves an asset under its own version only, and not the type declarations", () =>
      Effect.gen(function*() {
        const get = yield* serverGet
        const script = loadedByPage((yield* get("/")).text).find((url) => url.endsWith("/app.js"))!
        expect((yield* get(script)).status).toBe(200)
        expect((yield* get(script.replace(/\/_web\/[0-9a-f]+\//, "/_web/0000000000000000/"))).status).toBe(404)
        expect((yield* get(script.replace("app.js", "types.ts"))).status).toBe(404)
      }))
  })
})

describe("the /player page of vidpipe play", () => {
  const root = tempFolder("vidpipe-web-assets-play-")
  layer(servePresentations({ root, port: 0, logAddress: false }), { excludeTestServices: true })("", (it) => {
    it.effect("loads its code and styles from files, with each engine", () =>
      Effect.gen(function*() {
        const get = fetchFrom(yield* presentationServerUrl)
        for (const engine of ["dashjs", "shaka", "hlsjs"]) {
          const assets = yield* checkPage(get, `/player?src=%2Fmanifest.mpd&engine=${engine}`)
          expect(assets.map((url) => path.basename(url)).sort(), engine).toEqual(
            ["dashjsEngine.js", "dom.js", "hlsjsEngine.js", "mediaError.js", "player.js", "playerPage.css", "playerPage.js", "playlistRung.js", "shakaEngine.js", "storyboard.css", "storyboard.js"]
          )
        }
        const hlsjs = yield* get("/_player/hls.min.js")
        expect(hlsjs.status).toBe(200)
        expect(hlsjs.headers.get("content-type")).toContain("javascript")
      }))
  })
})

describe("the assets' version", () => {
  it.effect("follows their contents: the same files give the same version, any change a new one", () =>
    Effect.gen(function*() {
      const copy = tempFolder("vidpipe-web-assets-copy-")
      fs.cpSync(webAssetsFolder, copy, { recursive: true })
      const original = yield* loadWebAssetsFrom(webAssetsFolder)
      expect((yield* loadWebAssetsFrom(copy)).version).toBe(original.version)
      expect(original.files.map((file) => file.name)).not.toContain("types.ts")

      fs.appendFileSync(path.join(copy, "app.css"), "\n/* changed */\n")
      const changed = (yield* loadWebAssetsFrom(copy)).version
      expect(changed).not.toBe(original.version)
      fs.writeFileSync(path.join(copy, "extra.js"), "// @ts-check\n")
      expect((yield* loadWebAssetsFrom(copy)).version).not.toBe(changed)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("the web app's reading of the API (web/types.ts)", () => {
  it("fits the API's answers", () => {
    expectTypeOf<typeof JobView.Encoded>().toExtend<JobSummary>()
    expectTypeOf<typeof JobPage.Encoded>().toExtend<JobListPage>()
    expectTypeOf<typeof ApiCreatedJob.Encoded>().toExtend<CreatedJob>()
  })
})
