/**
 * The Auto Scaling custom termination policy Lambda (see `programs/protector.ts`). AWS: "The
 * maximum run time for your Lambda function is two seconds (2000 milliseconds)", and "If no
 * instances are returned or your Lambda function times out, then Amazon EC2 Auto Scaling waits a
 * short time before invoking your function again" (EC2 Auto Scaling user guide, "Create a custom
 * termination policy with Lambda"). So it must answer well within 2 s, and "keep everything" is
 * a safe answer: Redis is reached through a dedicated client whose commands time out after
 * ~300 ms and are never retried, the whole answer (connection included) is bounded by the budget,
 * and any failure answers `{"InstanceIDs": []}` (Auto Scaling keeps everything and asks again).
 * The EventBridge warm-up schedule (every 4 minutes) is answered at once after touching the idle
 * set, which keeps the container and its Redis connection open between scale-ins.
 *
 * Environment for the default `handler`:
 *   VIDPIPE_COORDINATOR                redis://HOST:PORT/DB (the KillMe idle set)
 *   VIDPIPE_REDIS_PREFIX               key prefix, default `vidpipe`
 *   VIDPIPE_PROTECTOR_MIN_IDLE_SECONDS only instances idle this long are removed, default 20 (one empty long poll)
 *   VIDPIPE_PROTECTOR_FRESH_SECONDS    idle entries must be refreshed within this, default 60
 *   VIDPIPE_PROTECTOR_BUDGET_MS        the answer's time budget, default 1500
 */
import { Config, ConfigProvider, Duration, Effect, Layer, ManagedRuntime } from "effect"
import type { TerminationPolicyAnswer, WarmUpAnswer } from "../../domain/TerminationPolicy.ts"
import { isWarmUpEvent, keepEverything } from "../../domain/TerminationPolicy.ts"
import { deploymentConfig } from "../../layers/fromConfig.ts"
import { redisConnectionLayer } from "../../layers/redis/RedisConnection.ts"
import { redisIdleRegistryLayer } from "../../layers/redis/RedisIdleRegistry.ts"
import type { ProtectorOptions } from "../../programs/protector.ts"
import { protect, warmUp } from "../../programs/protector.ts"
import type { IdleRegistry } from "../../services/IdleRegistry.ts"

export type ProtectorAnswer = TerminationPolicyAnswer | WarmUpAnswer

export type ProtectorHandler = ((event: unknown, context?: unknown) => Promise<ProtectorAnswer>) & {
  readonly dispose: () => Promise<void>
}

export interface ProtectorRedisOptions {
  /** Per-command timeout; default 300 ms. */
  readonly commandTimeoutMs?: number
  /** Connection attempt timeout; default 500 ms. */
  readonly connectTimeoutMs?: number
}

/**
 * A Redis connection that fails fast: no per-command retries, a short command timeout, and a
 * short connect timeout (commands issued while connecting wait for it, and are rejected as soon
 * as the attempt fails). It reconnects in the background, so a later invocation finds it open.
 */
export const protectorRedisConnectionLayer = (url: string, prefix: string, options: ProtectorRedisOptions = {}) =>
  redisConnectionLayer(url, prefix, {
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 300,
    connectTimeout: options.connectTimeoutMs ?? 500,
    enableReadyCheck: false
  })

/**
 * The handler over an IdleRegistry layer, built on the first event and kept for later ones. The
 * budget covers everything, building the layer included: past it the answer is "keep everything".
 */
export const makeProtectorHandler = <E>(idleRegistryLayer: Layer.Layer<IdleRegistry, E>, options: ProtectorOptions): ProtectorHandler => {
  const runtime = ManagedRuntime.make(idleRegistryLayer)
  const budgetMs = Duration.toMillis(Duration.fromInputUnsafe(options.budget))
  const fallback = <A>(answer: A, run: () => Promise<A>): Promise<A> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<A>((resolve) => {
      // A little after the program's own budget, which logs the reason; this one also covers startup.
      timer = setTimeout(() => resolve(answer), budgetMs + 50)
    })
    return Promise.race([run().catch(() => answer), late]).finally(() => clearTimeout(timer))
  }
  const handle = (event: unknown): Promise<ProtectorAnswer> =>
    isWarmUpEvent(event)
      ? fallback<ProtectorAnswer>({ warm: true, redis: false }, () => runtime.runPromise(warmUp(options)))
      : fallback<ProtectorAnswer>(keepEverything, () => runtime.runPromise(protect(event, options)))
  return Object.assign(handle, { dispose: () => runtime.dispose() })
}

export const protectorOptionsConfig = Effect.gen(function*() {
  const seconds = (name: string, fallback: number) => Config.Number(name).pipe(Config.withDefault(fallback), Config.map(Duration.seconds))
  const options: ProtectorOptions = {
    minIdle: yield* seconds("VIDPIPE_PROTECTOR_MIN_IDLE_SECONDS", 20),
    freshWithin: yield* seconds("VIDPIPE_PROTECTOR_FRESH_SECONDS", 60),
    budget: Duration.millis(Math.min(yield* Config.Number("VIDPIPE_PROTECTOR_BUDGET_MS").pipe(Config.withDefault(1500)), 1900))
  }
  return options
})

/**
 * Everything `handler` reads from its environment: the deployment (only its Redis is used), then
 * the protector's options; or why that configuration cannot work. The infrastructure test runs
 * it against the function's deployed environment.
 */
export const handlerConfig = Effect.gen(function*() {
  const deployment = yield* deploymentConfig
  if (deployment.coordinator.kind !== "redis") return `VIDPIPE_COORDINATOR must be redis://…, not ${deployment.coordinator.kind}`
  const options = yield* protectorOptionsConfig
  return { redisUrl: deployment.coordinator.url, redisPrefix: deployment.redisPrefix, options }
})

/**
 * The handler configured from the environment (or `provider`), or why there is none (the answer is
 * then always "keep everything"). `handler` builds it once per container; tests build their own,
 * from their own variables, to dispose it.
 */
export const configureHandler = (provider?: ConfigProvider.ConfigProvider): ProtectorHandler | string => {
  const configured = Effect.map(handlerConfig, (config) => {
    if (typeof config === "string") return config
    const layer = redisIdleRegistryLayer.pipe(Layer.provide(protectorRedisConnectionLayer(config.redisUrl, config.redisPrefix)))
    return makeProtectorHandler(layer, config.options)
  })
  const result = Effect.runSync(Effect.result(provider === undefined ? configured : Effect.provide(configured, ConfigProvider.layer(provider))))
  return result._tag === "Success" ? result.success : `invalid configuration: ${String(result.failure)}`
}

let configured: ProtectorHandler | string | undefined

/** The deployed entry point. */
export const handler = (event: unknown, context?: unknown): Promise<ProtectorAnswer> => {
  configured ??= configureHandler()
  if (typeof configured === "string") {
    console.warn(`protector: ${configured}; keeping every instance`)
    return Promise.resolve(isWarmUpEvent(event) ? { warm: true, redis: false } : keepEverything)
  }
  return configured(event, context)
}
