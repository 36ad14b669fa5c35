// Maps a request URL onto a file under the served root, or refuses it.
// HttpStaticServer already resolves lexically inside its root; this adds the
// checks it leaves out: hidden/dot segments and symlinks escaping the root.
import { Effect, FileSystem, Option, Path } from "effect"

/**
 * Decoded URL path, or undefined when it is malformed or names a hidden
 * segment (`.`/`..`/dotfiles: staging dirs must never be served).
 * Strips the query exactly like HttpStaticServer so both see the same path.
 */
export const decodePathname = (url: string): string | undefined => {
  const queryIndex = url.indexOf("?")
  const raw = queryIndex === -1 ? url : url.slice(0, queryIndex)
  let decoded: string
  try {
    decoded = decodeURIComponent(raw)
  } catch {
    return undefined
  }
  if (decoded.includes("\u0000") || decoded.includes("\\")) return undefined
  if (decoded.split("/").some((segment) => segment.startsWith("."))) return undefined
  return decoded
}

/** Real path of the file for `pathname`, only when it really lives under `realRoot`. */
export const resolveInsideRoot = Effect.fnUntraced(function*(realRoot: string, pathname: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const lexical = path.resolveWithin(realRoot, pathname.replace(/^\/+/, ""))
  if (Option.isNone(lexical)) return Option.none<string>()
  const real = yield* fs.realPath(lexical.value).pipe(Effect.option)
  if (Option.isNone(real)) return Option.none<string>()
  const inside = real.value === realRoot || real.value.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep)
  return inside ? real : Option.none<string>()
})
