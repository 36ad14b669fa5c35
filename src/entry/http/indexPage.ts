// "/" lists the finished presentations (folders holding a manifest.mpd) with
// links into the player, so a human can click through the served root.
import { Effect, FileSystem, Path } from "effect"
import { HttpServerResponse } from "effect/http"

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** URL paths (from "/") of every manifest.mpd at the root or one folder down. */
export const listManifests = Effect.fnUntraced(function*(realRoot: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const names = yield* fs.readDirectory(realRoot).pipe(Effect.orElseSucceed(() => [] as Array<string>))
  const candidates = ["", ...names.filter((name) => !name.startsWith(".")).sort()]
  const found: Array<string> = []
  for (const name of candidates) {
    const exists = yield* fs.exists(path.join(realRoot, name, "manifest.mpd")).pipe(Effect.orElseSucceed(() => false))
    if (exists) found.push(name === "" ? "/manifest.mpd" : `/${encodeURIComponent(name)}/manifest.mpd`)
  }
  return found
})

export const indexPageHtml = (manifests: ReadonlyArray<string>): string => {
  const items = manifests.map((mpd) =>
    `<li><a href="/player?src=${encodeURIComponent(mpd)}">${escapeHtml(decodeURIComponent(mpd))}</a></li>`
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
