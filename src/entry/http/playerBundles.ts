// The player engines' bundles, served from the installed packages (dashjs, shaka-player, hls.js) as
// they are. The pages load them with a plain <script>; the glue that drives them is
// web/dashjsEngine.js, web/shakaEngine.js and web/hlsjsEngine.js.
import { createRequire } from "node:module"
import type { PlayerEngineName } from "./web/types.ts"

export interface PlayerBundle {
  /** URL path the pages load the bundle from. */
  readonly route: string
  /** Absolute path of the bundle inside the installed package. */
  readonly file: string
}

const require = createRequire(import.meta.url)

export const playerBundles = {
  // The package's "require" export condition is the UMD bundle (defines `window.dashjs`); the
  // "import" one is ESM and would need a module loader.
  dashjs: { route: "/_player/dash.all.min.js", file: require.resolve("dashjs") },
  // The package has no "exports" map; this compiled bundle (its "main") is a UMD build that
  // defines `window.shaka` when loaded with a plain <script>.
  shaka: { route: "/_player/shaka-player.compiled.js", file: require.resolve("shaka-player/dist/shaka-player.compiled.js") },
  // The package's "require" condition is its UMD build, which defines `window.Hls`; the minified one.
  hlsjs: { route: "/_player/hls.min.js", file: require.resolve("hls.js/dist/hls.min.js") }
} as const satisfies Record<PlayerEngineName, PlayerBundle>

/** Cached for an hour: the URL does not change when the package does. */
export const playerBundleCacheControl = "public, max-age=3600"
