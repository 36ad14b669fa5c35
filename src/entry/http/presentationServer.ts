// Read-only HTTP server for a folder of finished DASH presentations, plus a
// player page (dash.js, or Shaka Player with ?engine=shaka). Binds 127.0.0.1 unless a host is given.
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Clock, Context, Effect, FileSystem, Layer, Option, Path, type PlatformError } from "effect"
import {
  HttpPlatform,
  HttpRouter,
  HttpServer,
  type HttpServerError,
  HttpServerRequest,
  HttpServerRespondable,
  HttpServerResponse,
  HttpStaticServer
} from "effect/http"
import { createServer } from "node:http"
import { corsUnder } from "./cors.ts"
import { indexPageResponse } from "./indexPage.ts"
import { mediaPolicyFor } from "./mediaPolicy.ts"
import type { PlaybackAccess } from "./playbackToken.ts"
import { tokenSegment, verifyPlayback } from "./playbackToken.ts"
import { playerBundleCacheControl, playerBundles } from "./playerBundles.ts"
import { parsePlayerEngine, playerPages } from "./playerPage.ts"
import { decodePathname, resolveInsideRoot } from "./safePath.ts"
import { addWebAssetRoutes, loadWebAssets } from "./webAssets.ts"

export interface PresentationServerOptions {
  /** Folder holding presentations (or a single one); must exist at startup. */
  readonly root: string
  /** 0 picks a free port; read it back with `presentationServerUrl`. */
  readonly port: number
  readonly host?: string
  /** Log every request (off by default: players fetch many segments). */
  readonly logRequests?: boolean
  /** Log "Listening on ..." once bound (on by default). */
  readonly logAddress?: boolean
}

const notFound = HttpServerResponse.empty({ status: 404 })

const withMediaPolicy = (response: HttpServerResponse.HttpServerResponse, pathname: string) => {
  const policy = mediaPolicyFor(pathname)
  const hasBody = response.status === 200 || response.status === 206
  let out = response
  if (hasBody && policy.contentType !== undefined) {
    out = HttpServerResponse.setHeader(out, "content-type", policy.contentType)
  }
  if (hasBody || response.status === 304) {
    out = HttpServerResponse.setHeader(out, "cache-control", policy.cacheControl)
  }
  return out
}

const forbidden = (reason: string) =>
  HttpServerResponse.jsonUnsafe({ error: { _tag: "PlaybackForbidden", message: reason } }, { status: 403, headers: { "cache-control": "no-store" } })

/** `/_t/<token>/<jobId>/<rest>` below the delivery mount, compiled once (every signed request tests it). */
const tokenPath = new RegExp(`^/${tokenSegment}/([^/]+)/([^/]+)(/.*)$`)

type Granted =
  | { readonly _tag: "Granted"; readonly pathname: string; readonly tokenPrefix: string }
  | { readonly _tag: "Refused"; readonly reason: string }

/**
 * Public access: the path as it is. Signed access: only `/_t/<token>/<jobId>/…` with a valid,
 * unexpired token for that job, served as `/<jobId>/…`; anything else is refused.
 */
const grantedPath = (access: PlaybackAccess, pathname: string) =>
  Effect.gen(function*() {
    if (access.mode === "public") return { _tag: "Granted", pathname, tokenPrefix: "" } satisfies Granted
    const match = tokenPath.exec(pathname)
    if (match === null) return { _tag: "Refused", reason: "playback needs a token: ask the API for the job's playback URL" } satisfies Granted
    const [, token, jobId, rest] = match
    const check = verifyPlayback(access.secret, jobId!, token!, yield* Clock.currentTimeMillis)
    if (check === "expired") return { _tag: "Refused", reason: "the playback token has expired: ask the API for the job again" } satisfies Granted
    if (check === "invalid") return { _tag: "Refused", reason: "the playback token is not valid for this job" } satisfies Granted
    return { _tag: "Granted", pathname: `/${jobId}${rest}`, tokenPrefix: `/${tokenSegment}/${token}` } satisfies Granted
  })

/**
 * GET /* : files under `root`, with Range/ETag support from HttpStaticServer.
 * "/" itself lists the presentations: the router matches "/" to "/*" even
 * when a "/" route exists, so it is handled here.
 */
const presentationFiles = (root: string, mount = "", access: PlaybackAccess = { mode: "public" }) =>
  HttpRouter.use(Effect.fnUntraced(function*(router) {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const services = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    // Compare against the real root so symlinked roots (e.g. /tmp) still work.
    const realRoot = yield* fs.realPath(path.resolve(root))
    // index: undefined -> directories are 404, never listed or redirected.
    const staticFiles = yield* HttpStaticServer.make({ root: realRoot, index: undefined })
    const handler = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const fullPath = decodePathname(request.url)
      if (fullPath === undefined || !fullPath.startsWith(`${mount}/`)) return notFound
      const granted = yield* grantedPath(access, fullPath.slice(mount.length))
      if (granted._tag === "Refused") return forbidden(granted.reason)
      const pathname = granted.pathname
      if (pathname === "/") return mount === "" ? yield* indexPageResponse(realRoot) : notFound
      const file = yield* resolveInsideRoot(realRoot, pathname)
      if (Option.isNone(file)) return notFound
      // The static server resolves files from the request's URL: hand it the URL below the mount
      // (and below the token, which is URL-safe, so it is the same in the raw URL).
      const stripped = mount.length + granted.tokenPrefix.length
      const below = stripped === 0 ? request : request.modify({ url: request.url.slice(stripped) })
      const response = yield* staticFiles.pipe(Effect.provideService(HttpServerRequest.HttpServerRequest, below))
      return withMediaPolicy(response, pathname)
    }).pipe(
      Effect.catch(HttpServerRespondable.toResponse),
      Effect.provideContext(services)
    )
    yield* router.add("GET", `${mount}/*` as `/${string}`, handler)
  }))

/**
 * GET /player (engine from ?engine=: dashjs by default, or shaka; anything
 * else is a 400 rather than a silent fallback), each engine's bundle, and the
 * pages' code and styles (webAssets.ts; the web app of `vidpipe serve` uses them too).
 */
export const playerRoutes = HttpRouter.use(Effect.fnUntraced(function*(router) {
  const platform = yield* HttpPlatform.HttpPlatform
  const assets = yield* loadWebAssets
  const pages = playerPages(assets)
  yield* router.add(
    "GET",
    "/player",
    Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
      const engine = parsePlayerEngine(new URL(request.url, "http://localhost").searchParams.get("engine"))
      if (engine === undefined) {
        return HttpServerResponse.text(`unknown engine; use one of: ${Object.keys(playerBundles).join(", ")}\n`, {
          status: 400
        })
      }
      return HttpServerResponse.html(pages[engine]).pipe(HttpServerResponse.setHeader("cache-control", "no-cache"))
    })
  )
  for (const bundle of Object.values(playerBundles)) {
    yield* router.add(
      "GET",
      bundle.route,
      platform.fileResponse(bundle.file, {
        contentType: "text/javascript; charset=utf-8",
        headers: { "cache-control": playerBundleCacheControl }
      }).pipe(Effect.orElseSucceed(() => notFound))
    )
  }
  yield* addWebAssetRoutes(router, assets)
}))

// Players on other origins fetch segments with Range: allow any origin, let
// them read the length/range headers, and answer preflights (OPTIONS -> 204),
// as the CloudFront distribution does on AWS (infra/cdn.ts). Only under the
// mount: `vidpipe serve`'s API has its own policy.
const corsLayer = (mount: string) =>
  corsUnder(mount, {
    origins: "*",
    methods: ["GET", "HEAD", "OPTIONS"],
    headers: ["Range", "Content-Type"],
    exposedHeaders: ["Content-Length", "Content-Range", "Accept-Ranges", "Content-Type", "ETag"],
    maxAgeSeconds: 600
  })

/**
 * The delivery route of `vidpipe serve`: files under `root` served at `${mount}/…` (the CDN's job
 * on AWS), with ranges, DASH content types, caching headers and CORS.
 */
export const deliveryRoutes = (root: string, mount: string, access: PlaybackAccess = { mode: "public" }) =>
  Layer.mergeAll(presentationFiles(root, mount, access), corsLayer(mount))

/** Routes only; needs HttpRouter plus FileSystem, Path and HttpPlatform. */
export const presentationRoutes = (root: string) =>
  Layer.mergeAll(presentationFiles(root), playerRoutes, corsLayer(""))

/**
 * A listening server as a Layer; it stops when the Layer's scope closes.
 * Only HttpServer is exposed (for its address), not the Node platform services.
 */
export const servePresentations = (options: PresentationServerOptions): Layer.Layer<
  HttpServer.HttpServer,
  PlatformError.PlatformError | HttpServerError.ServeError
> =>
  Layer.merge(
    HttpRouter.serve(presentationRoutes(options.root), {
      disableLogger: options.logRequests !== true,
      disableListenLog: options.logAddress === false
    }),
    Layer.effect(HttpServer.HttpServer, HttpServer.HttpServer)
  ).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port: options.port, host: options.host ?? "127.0.0.1" }))
  )

/** Base URL of the bound server, e.g. "http://127.0.0.1:41234" (port 0 resolved). */
export const presentationServerUrl: Effect.Effect<string, never, HttpServer.HttpServer> = HttpServer
  .addressFormattedWith(Effect.succeed)

/** Starts the server inside the current Scope and returns its base URL. */
export const startPresentationServer = (options: PresentationServerOptions) =>
  Layer.build(servePresentations(options)).pipe(
    Effect.map((context) => HttpServer.formatAddress(Context.get(context, HttpServer.HttpServer).address))
  )

/** Serves until interrupted (for the CLI). */
export const runPresentationServer = (options: PresentationServerOptions) => Layer.launch(servePresentations(options))
