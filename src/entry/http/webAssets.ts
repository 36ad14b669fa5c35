// The browser code and styles of the web app and the /player page: real files under ./web/ (ES
// modules with JSDoc types, checked by tsconfig.web.json; no build step), served at
// /_web/<version>/<file>. The version is a hash of all their contents, so a URL always means the
// same bytes: browsers keep them for a year without asking again (immutable), and a changed file
// gives the pages new URLs (the pages themselves are never cached). One version for all: the
// modules import each other by relative URL ("./player.js").
import { createHash } from "node:crypto"
import { fileURLToPath } from "node:url"
import { Effect, FileSystem, Path, type PlatformError } from "effect"
import { HttpPlatform, type HttpRouter, HttpServerResponse } from "effect/http"

export const webAssetsFolder = fileURLToPath(new URL("./web/", import.meta.url))
export const webAssetsMount = "/_web"

const contentTypes: ReadonlyMap<string, string> = new Map([
  [".js", "text/javascript; charset=utf-8"],
  [".css", "text/css; charset=utf-8"]
])

const webAssetCacheControl = "public, max-age=31536000, immutable"

export interface WebAsset {
  readonly name: string
  readonly file: string
  readonly contentType: string
}

export interface WebAssets {
  /** Hash of every served file's name and contents. */
  readonly version: string
  readonly files: ReadonlyArray<WebAsset>
  /** The URL path a page uses for `name` (a file in ./web/, e.g. "app.js"). */
  readonly url: (name: string) => `/${string}`
}

/** The .js and .css files of `folder` (types.ts is for the type checker only) and their version. */
export const loadWebAssetsFrom = (folder: string): Effect.Effect<WebAssets, PlatformError.PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const hash = createHash("sha256")
    const files: Array<WebAsset> = []
    for (const name of (yield* fs.readDirectory(folder)).sort()) {
      const contentType = contentTypes.get(path.extname(name))
      if (contentType === undefined) continue
      const file = path.join(folder, name)
      hash.update(name).update("\0").update(yield* fs.readFile(file)).update("\0")
      files.push({ name, file, contentType })
    }
    const version = hash.digest("hex").slice(0, 16)
    return { version, files, url: (name) => `${webAssetsMount}/${version}/${name}` }
  })

export const loadWebAssets = loadWebAssetsFrom(webAssetsFolder)

/** GET /_web/<version>/<file> for every asset; any other version is a 404 (the router's). */
export const addWebAssetRoutes = (router: HttpRouter.HttpRouter, assets: WebAssets) =>
  Effect.gen(function*() {
    const platform = yield* HttpPlatform.HttpPlatform
    for (const asset of assets.files) {
      yield* router.add(
        "GET",
        assets.url(asset.name),
        platform.fileResponse(asset.file, {
          contentType: asset.contentType,
          headers: { "cache-control": webAssetCacheControl, "x-content-type-options": "nosniff" }
        }).pipe(Effect.orElseSucceed(() => HttpServerResponse.empty({ status: 404 })))
      )
    }
  })
