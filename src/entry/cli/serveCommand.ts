/**
 * `vidpipe serve`: API, uploads, delivery, player, web page and (by default) worker fibers in one
 * process. With VIDPIPE_QUEUE/VIDPIPE_COORDINATOR on Redis, separate `vidpipe worker` processes
 * share the work, and `--fleet MIN..MAX` starts and stops them itself (the local fleet).
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Config, Console, Effect, Layer, Option, Redacted } from "effect"
import { Command, Flag } from "effect/cli"
import { HttpServer } from "effect/http"
import { embeddedWorkers, serverLayer } from "../http/serve.ts"
import { runLocalFleet } from "../../programs/localFleet.ts"
import { instanceIdConfig } from "../../layers/fromConfig.ts"
import { loadDeployment } from "./deployment.ts"
import { checkedFleetOptions, fleetTimingFlags, parseFleetRange } from "./fleetOptions.ts"
import { apiKeysConfig } from "../http/api/apiKeysConfig.ts"
import { playbackConfig } from "../http/playbackConfig.ts"
import { maxUploadBytesConfig, multipartThresholdConfig, publicUrlConfig, uploadExpiryConfig, uploadSecretConfig } from "../http/uploadConfig.ts"
import { rateLimitsConfig } from "../http/api/rateLimitsConfig.ts"
import type { KeyLimits } from "../http/api/RateLimits.ts"
import { InvalidOption } from "./InvalidOption.ts"
import { reportingFailures } from "./runCommand.ts"
import { workerProcesses } from "./workerProcesses.ts"

const serveSettings = Effect.gen(function*() {
  const { apiKeys, adminApiKeys } = yield* apiKeysConfig
  return {
    apiKeys,
    adminApiKeys,
    playback: yield* playbackConfig,
    // Random per process unless set: set it when several serve processes share a deployment.
    uploadSecret: Redacted.value(yield* uploadSecretConfig.pipe(Config.withDefault(Redacted.make(randomBytes(32).toString("hex"))))),
    publicUrl: yield* publicUrlConfig,
    maxUploadBytes: yield* maxUploadBytesConfig,
    multipartThreshold: yield* multipartThresholdConfig,
    uploadExpiry: yield* uploadExpiryConfig,
    limits: yield* rateLimitsConfig
  }
})

/** "10 requests/s (bursts of 20), 10000 jobs a day, 4 uploads at once", naming what is off. */
const describeLimits = (limits: KeyLimits) =>
  [
    limits.rate > 0 ? `${limits.rate} requests/s (bursts of ${limits.burst})` : "no rate limit",
    limits.dailyJobs > 0 ? `${limits.dailyJobs} jobs a day (UTC; admin keys: no quota)` : "no daily job quota",
    limits.uploadsPerKey > 0 ? `${limits.uploadsPerKey} uploads at once` : "no bound on uploads at once"
  ].join(", ")

export const serveCommand = Command.make(
  "serve",
  {
    port: Flag.Int("port").pipe(Flag.withDescription("Port to listen on (0 picks a free one)"), Flag.withDefault(8080)),
    host: Flag.String("host").pipe(Flag.withDescription("Address to listen on"), Flag.withDefault("127.0.0.1")),
    workers: Flag.Int("workers").pipe(Flag.withDescription("Worker fibers in this process (0 for none)"), Flag.withDefault(2)),
    fleet: Flag.String("fleet").pipe(
      Flag.withDescription("Instead of worker fibers, a local fleet of MIN..MAX `vidpipe worker` processes scaled by the backlog (needs Redis)"),
      Flag.optional
    ),
    ...fleetTimingFlags("fleet-")
  },
  (flags) =>
    Effect.gen(function*() {
      if (flags.workers < 0 || flags.workers > 64) return yield* new InvalidOption({ reason: `--workers must be between 0 and 64 (got ${flags.workers})` })
      const fleet = Option.isSome(flags.fleet)
        ? Option.some(yield* checkedFleetOptions(yield* parseFleetRange(flags.fleet.value), flags, `serve-${process.pid}`))
        : Option.none()
      const { deployment, layer, summary } = yield* loadDeployment("serve --fleet", Option.isSome(fleet))
      const workers = Option.isSome(fleet) ? 0 : flags.workers
      if (workers === 0 && deployment.queue.kind === "memory") {
        return yield* new InvalidOption({ reason: "--workers 0 needs a shared queue (VIDPIPE_QUEUE=redis://…) for separate vidpipe worker processes" })
      }
      const settings = yield* serveSettings
      const configuredKeys = settings.apiKeys.length + settings.adminApiKeys.length
      // With no key configured, one is made for this run and shown once (the only way to learn it).
      const generatedKey = configuredKeys === 0 ? `vp_${randomBytes(18).toString("hex")}` : undefined
      const options = {
        ...settings,
        apiKeys: generatedKey === undefined ? settings.apiKeys : [generatedKey],
        port: flags.port,
        host: flags.host,
        workers,
        outputsDir: path.join(deployment.storage.kind === "file" ? deployment.storage.dir : "data", "outputs"),
        instanceId: yield* instanceIdConfig
      }
      // The delivery route resolves its folder once, at start.
      yield* Effect.promise(() => fs.mkdir(options.outputsDir, { recursive: true }))
      yield* Effect.gen(function*() {
        const address = yield* HttpServer.addressFormattedWith(Effect.succeed)
        yield* Console.log(`vidpipe serve: listening on ${address}`)
        // Configured keys are never printed: only how many there are.
        yield* Console.log(
          generatedKey === undefined
            ? `vidpipe serve: ${settings.apiKeys.length} API key(s) from VIDPIPE_API_KEYS, ${settings.adminApiKeys.length} admin key(s) from VIDPIPE_ADMIN_API_KEYS (not shown)`
            : `vidpipe serve: API key ${generatedKey}`
        )
        if (generatedKey !== undefined) yield* Console.log("vidpipe serve: (that key was made for this run; set VIDPIPE_API_KEYS to keep one)")
        yield* Console.log(`vidpipe serve: playback ${settings.playback.mode === "signed" ? "signed (a token from the API is needed)" : "public (by job id)"}`)
        yield* Console.log(`vidpipe serve: limits per key: ${describeLimits(settings.limits)}`)
        if (Option.isSome(fleet)) {
          yield* Effect.logInfo(`serving with ${summary}, a local fleet of ${fleet.value.min}..${fleet.value.max} worker processes`)
          // Interrupting serve stops the fleet, which drains its workers (SIGTERM) and waits for them.
          return yield* runLocalFleet(fleet.value, workerProcesses()).pipe(Effect.andThen(Effect.never), Effect.scoped)
        }
        yield* Effect.logInfo(`serving with ${summary}, ${workers} worker fiber(s)`)
        return yield* Effect.never
      }).pipe(Effect.provide(Layer.merge(serverLayer(options), embeddedWorkers(options)).pipe(Layer.provideMerge(layer))))
    }).pipe(reportingFailures({ json: false }))
).pipe(Command.withDescription("Serve the HTTP API, uploads, delivery and the web page, with embedded workers"))
