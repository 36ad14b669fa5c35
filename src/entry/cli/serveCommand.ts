/**
 * `vidpipe serve`: API, uploads, delivery, player, web page and (by default) worker fibers in one
 * process. With VIDPIPE_QUEUE/VIDPIPE_COORDINATOR on Redis, separate `vidpipe worker` processes
 * share the work.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Config, Console, Duration, Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"
import { HttpServer } from "effect/http"
import { embeddedWorkers, serverLayer } from "../http/serve.ts"
import { defaultInstanceId, loadDeployment } from "./deployment.ts"
import { InvalidOption } from "./InvalidOption.ts"
import { reportingFailures } from "./runCommand.ts"

const serveSettings = Effect.gen(function*() {
  const keys = yield* Config.String("VIDPIPE_API_KEYS").pipe(Config.withDefault(""))
  return {
    apiKeys: keys.split(",").map((k) => k.trim()).filter((k) => k.length > 0),
    uploadSecret: yield* Config.String("VIDPIPE_UPLOAD_SECRET").pipe(Config.withDefault(randomBytes(32).toString("hex"))),
    publicUrl: (yield* Config.String("VIDPIPE_PUBLIC_URL").pipe(Config.withDefault(""))).replace(/\/+$/, ""),
    maxUploadBytes: yield* Config.Number("VIDPIPE_MAX_UPLOAD_BYTES").pipe(Config.withDefault(10 * 1024 ** 3)),
    uploadExpiry: Duration.seconds(yield* Config.Number("VIDPIPE_UPLOAD_EXPIRY_SECONDS").pipe(Config.withDefault(5)))
  }
})

export const serveCommand = Command.make(
  "serve",
  {
    port: Flag.Int("port").pipe(Flag.withDescription("Port to listen on (0 picks a free one)"), Flag.withDefault(8080)),
    host: Flag.String("host").pipe(Flag.withDescription("Address to listen on"), Flag.withDefault("127.0.0.1")),
    workers: Flag.Int("workers").pipe(Flag.withDescription("Worker fibers in this process (0 for none)"), Flag.withDefault(2))
  },
  (flags) =>
    Effect.gen(function*() {
      if (flags.workers < 0 || flags.workers > 64) return yield* new InvalidOption({ reason: `--workers must be between 0 and 64 (got ${flags.workers})` })
      const { deployment, layer, summary } = yield* loadDeployment("serve", false)
      if (flags.workers === 0 && deployment.queue.kind === "memory") {
        return yield* new InvalidOption({ reason: "--workers 0 needs a shared queue (VIDPIPE_QUEUE=redis://…) for separate vidpipe worker processes" })
      }
      const settings = yield* serveSettings
      const generatedKey = settings.apiKeys.length === 0 ? `vp_${randomBytes(18).toString("hex")}` : undefined
      const options = {
        ...settings,
        apiKeys: generatedKey === undefined ? settings.apiKeys : [generatedKey],
        port: flags.port,
        host: flags.host,
        workers: flags.workers,
        outputsDir: path.join(deployment.storage.kind === "file" ? deployment.storage.dir : "data", "outputs"),
        instanceId: defaultInstanceId()
      }
      // The delivery route resolves its folder once, at start.
      yield* Effect.promise(() => fs.mkdir(options.outputsDir, { recursive: true }))
      yield* Effect.gen(function*() {
        const address = yield* HttpServer.addressFormattedWith(Effect.succeed)
        yield* Console.log(`vidpipe serve: listening on ${address}`)
        yield* Console.log(generatedKey === undefined ? "vidpipe serve: API keys from VIDPIPE_API_KEYS" : `vidpipe serve: API key ${generatedKey}`)
        yield* Effect.logInfo(`serving with ${summary}, ${flags.workers} worker fiber(s)`)
        return yield* Effect.never
      }).pipe(Effect.provide(Layer.merge(serverLayer(options), embeddedWorkers(options)).pipe(Layer.provideMerge(layer))))
    }).pipe(reportingFailures({ json: false }))
).pipe(Command.withDescription("Serve the HTTP API, uploads, delivery and the web page, with embedded workers"))
