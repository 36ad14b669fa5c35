/**
 * CORS over real HTTP: `vidpipe serve`'s server (serverLayer on 127.0.0.1, port 0) and the API
 * Lambda's handler given API Gateway proxy events answer a browser's preflight (OPTIONS, no
 * x-api-key) alike, from the same policy (src/entry/http/cors.ts). A listed origin gets the allow
 * headers, any other origin none; the delivery route keeps its own `*` policy without leaking it
 * onto the API.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, assert, describe, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { parseOrigins } from "../../src/entry/http/cors.ts"
import type { ServeOptions } from "../../src/entry/http/serve.ts"
import { serverLayer } from "../../src/entry/http/serve.ts"
import { makeApiHandler } from "../../src/entry/lambda/apiHandler.ts"
import { UploadSlots } from "../../src/services/UploadSlots.ts"
import { embeddedServices } from "../support/embeddedServices.ts"
import { unusedMultipart } from "../support/unusedMultipart.ts"

const apiKey = "cors-test-key"
const app = "https://app.example.com"
const other = "https://elsewhere.example.net"
const roots: Array<string> = []
afterAll(() => roots.forEach((root) => fs.rmSync(root, { recursive: true, force: true })))

const services = () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-cors-"))
  roots.push(root)
  fs.mkdirSync(path.join(root, "outputs", "job1"), { recursive: true })
  fs.writeFileSync(path.join(root, "outputs", "job1", "manifest.mpd"), "<MPD/>")
  return {
    root,
    layer: embeddedServices(root)
  }
}

/** `vidpipe serve`'s server; origins given, or read from VIDPIPE_CORS_ORIGINS in `env`. */
const serve = (origins: { readonly given: ReadonlyArray<string> } | { readonly env: Record<string, string> }) => {
  const { root, layer } = services()
  const options: ServeOptions = {
    port: 0,
    host: "127.0.0.1",
    workers: 0,
    apiKeys: [apiKey],
    uploadSecret: "secret",
    outputsDir: path.join(root, "outputs"),
    publicUrl: "",
    maxUploadBytes: 1_000_000,
    uploadExpiry: "1 minute",
    instanceId: "cors-test",
    ...("given" in origins ? { corsOrigins: origins.given } : {})
  }
  const config = "env" in origins ? Layer.succeed(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(origins.env)) : Layer.empty
  return serverLayer(options).pipe(Layer.provide(layer), Layer.provide(config))
}

const request = (method: string, url: string, headers: Record<string, string>) =>
  Effect.gen(function*() {
    const base = yield* HttpServer.addressFormattedWith(Effect.succeed)
    return yield* Effect.promise(async () => {
      const response = await fetch(`${base}${url}`, { method, headers })
      await response.arrayBuffer()
      return response
    })
  })

/** What a browser sends before `POST /v1/jobs` with a JSON body and the key: no key itself. */
const preflight = (origin: string, url = "/v1/jobs") =>
  request("OPTIONS", url, { origin, "access-control-request-method": "POST", "access-control-request-headers": "x-api-key,content-type" })

const assertAllowed = (response: Response, origin: string) => {
  assert.strictEqual(response.status, 204)
  assert.strictEqual(response.headers.get("access-control-allow-origin"), origin)
  assert.deepStrictEqual(response.headers.get("access-control-allow-methods")?.split(", "), ["GET", "POST", "DELETE"])
  assert.deepStrictEqual(response.headers.get("access-control-allow-headers")?.split(", "), ["x-api-key", "content-type"])
  assert.strictEqual(response.headers.get("vary"), "Origin")
}

const assertRefused = (response: Response) => {
  assert.strictEqual(response.status, 204)
  for (const name of ["access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers"]) {
    assert.isNull(response.headers.get(name), name)
  }
}

describe("vidpipe serve, with an allowed origin", () => {
  layer(serve({ given: [app] }), { excludeTestServices: true })("", (it) => {
    it.effect("answers the preflight without a key: the origin, the API's methods and its two headers", () =>
      Effect.gen(function*() {
        assertAllowed(yield* preflight(app), app)
        assertAllowed(yield* preflight(app, "/v1/jobs/abc/retry"), app)
      }))

    it.effect("gives another origin no allow header", () =>
      Effect.gen(function*() {
        assertRefused(yield* preflight(other))
        const answer = yield* request("GET", "/v1/jobs", { origin: other, "x-api-key": apiKey })
        assert.strictEqual(answer.status, 200)
        assert.isNull(answer.headers.get("access-control-allow-origin"))
      }))

    it.effect("puts the allow header on answers and on refusals, so the page can read them", () =>
      Effect.gen(function*() {
        const listed = yield* request("GET", "/v1/jobs", { origin: app, "x-api-key": apiKey })
        assert.strictEqual(listed.status, 200)
        assert.strictEqual(listed.headers.get("access-control-allow-origin"), app)
        const refused = yield* request("GET", "/v1/jobs", { origin: app })
        assert.strictEqual(refused.status, 401)
        assert.strictEqual(refused.headers.get("access-control-allow-origin"), app)
      }))

    it.effect("lets the same origin PUT uploads, and keeps delivery open to any origin without leaking it onto the API", () =>
      Effect.gen(function*() {
        const upload = yield* request("OPTIONS", "/upload/job1", { origin: app, "access-control-request-method": "PUT" })
        assert.strictEqual(upload.headers.get("access-control-allow-origin"), app)
        assert.strictEqual(upload.headers.get("access-control-allow-methods"), "PUT")
        const manifest = yield* request("GET", "/cdn/job1/manifest.mpd", { origin: other })
        assert.strictEqual(manifest.status, 200)
        assert.strictEqual(manifest.headers.get("access-control-allow-origin"), "*")
        const segmentPreflight = yield* request("OPTIONS", "/cdn/job1/manifest.mpd", { origin: other, "access-control-request-method": "GET" })
        assert.strictEqual(segmentPreflight.headers.get("access-control-allow-methods"), "GET, HEAD, OPTIONS")
        assertRefused(yield* preflight(other))
      }))
  })
})

describe("vidpipe serve, origins from VIDPIPE_CORS_ORIGINS", () => {
  layer(serve({ env: { VIDPIPE_CORS_ORIGINS: ` ${other} , ${app} ` } }), { excludeTestServices: true })("listed", (it) => {
    it.effect("allows each listed origin", () =>
      Effect.gen(function*() {
        assertAllowed(yield* preflight(app), app)
        assertAllowed(yield* preflight(other), other)
        assertRefused(yield* preflight("https://third.example.org"))
      }))
  })

  layer(serve({ env: {} }), { excludeTestServices: true })("unset", (it) => {
    it.effect("allows no other origin by default", () =>
      Effect.gen(function*() {
        assertRefused(yield* preflight(app))
      }))
  })
})

describe("VIDPIPE_CORS_ORIGINS", () => {
  it.effect("takes exact origins or * alone, and refuses paths, wildcards in lists and bare hosts", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* parseOrigins("V", `${app},http://127.0.0.1:5173`), [app, "http://127.0.0.1:5173"])
      assert.strictEqual(yield* parseOrigins("V", " * "), "*")
      assert.deepStrictEqual(yield* parseOrigins("V", ""), [])
      for (const wrong of [`${app}/`, `${app}/path`, `*,${app}`, "app.example.com"]) {
        const failure = yield* Effect.flip(parseOrigins("V", wrong))
        assert.strictEqual(failure._tag, "InvalidConfiguration", wrong)
      }
    }))
})

describe("the API Lambda", () => {
  it.effect("answers API Gateway's keyless OPTIONS like vidpipe serve", () =>
    Effect.gen(function*() {
      const { layer: backends } = services()
      const uploadSlots = Layer.succeed(UploadSlots, UploadSlots.of({ ...unusedMultipart, create: () => Effect.die("not used") }))
      const context = yield* Layer.build(Layer.merge(backends, uploadSlots))
      const api = makeApiHandler(Layer.succeedContext(context), { deliveryBase: "https://cdn.test", apiKeys: [apiKey], maxUploadBytes: 1_000, corsOrigins: [app] })
      yield* Effect.addFinalizer(() => Effect.promise(() => api.dispose()))
      const event = (origin: string) => ({
        httpMethod: "OPTIONS",
        path: "/v1/jobs",
        headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key,content-type" }
      })
      const allowed = yield* Effect.promise(() => api(event(app)))
      assert.strictEqual(allowed.statusCode, 204)
      assert.strictEqual(allowed.headers["access-control-allow-origin"], app)
      assert.strictEqual(allowed.headers["access-control-allow-methods"], "GET, POST, DELETE")
      assert.strictEqual(allowed.headers["access-control-allow-headers"], "x-api-key, content-type")
      const refused = yield* Effect.promise(() => api(event(other)))
      assert.strictEqual(refused.statusCode, 204)
      assert.isUndefined(refused.headers["access-control-allow-origin"])
    }).pipe(Effect.scoped))
})
