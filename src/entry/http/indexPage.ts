// "/" lists the finished presentations (folders holding a manifest.mpd) with
// links into the player (the MPD in dash.js, and the HLS master in hls.js where there is one), so
// a human can click through the served root.
import { Effect, FileSystem, Path } from "effect"
import { HttpServerResponse } from "effect/http"
import { masterPlaylistName } from "../../domain/Hls.ts"

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** A presentation's manifests, as URL paths from "/". */
export interface ListedPresentation {
  readonly mpd: string
  readonly hls: string | undefined
}

/** Every presentation (a manifest.mpd) at the root or one folder down, with its HLS master if written. */
export const listManifests = Effect.fnUntraced(function*(realRoot: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const names = yield* fs.readDirectory(realRoot).pipe(Effect.orElseSucceed(() => [] as Array<string>))
  const candidates = ["", ...names.filter((name) => !name.startsWith(".")).sort()]
  const found: Array<ListedPresentation> = []
  const exists = (name: string, file: string) => fs.exists(path.join(realRoot, name, file)).pipe(Effect.orElseSucceed(() => false))
  for (const name of candidates) {
    if (!(yield* exists(name, "manifest.mpd"))) continue
    const folder = name === "" ? "/" : `/${encodeURIComponent(name)}/`
    found.push({ mpd: `${folder}manifest.mpd`, hls: (yield* exists(name, masterPlaylistName)) ? `${folder}${masterPlaylistName}` : undefined })
  }
  return found
})

export const indexPageHtml = (presentations: ReadonlyArray<ListedPresentation>): string => {
  const items = presentations.map(({ hls, mpd }) =>
    `<li><a href="/player?src=${encodeURIComponent(mpd)}">${escapeHtml(decodeURIComponent(mpd))}</a>` +
    (hls === undefined ? "" : ` · <a href="/player?engine=hlsjs&amp;src=${encodeURIComponent(hls)}">HLS</a>`) +
    "</li>"
  )
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vidpipe presentations</title></head>
<body><h1>Presentations</h1>
${items.length === 0 ? "<p>None yet.</p>" : `<ul>\n${items.join("\n")}\n</ul>`}
</body></html>
`
}

export const indexPageResponse = (realRoot: string) =>
  listManifests(realRoot).pipe(
    Effect.map((manifests) =>
      HttpServerResponse.html(indexPageHtml(manifests)).pipe(HttpServerResponse.setHeader("cache-control", "no-cache"))
    )
  )
