/**
 * The configured deployment for commands that work with shared backends (worker, submit, status).
 */
import { Effect, Layer, Option } from "effect"
import type { Deployment } from "../../layers/fromConfig.ts"
import { deploymentConfig, describeBackend, isShared, layerFor, pipelineSettingsFromConfig } from "../../layers/fromConfig.ts"
import { FaultInjection } from "../../services/FaultInjection.ts"
import { faultConfig } from "./cliConfig.ts"
import { InvalidOption } from "./InvalidOption.ts"

const describe = (deployment: Deployment) =>
  `queue ${describeBackend(deployment.queue)}, coordinator ${describeBackend(deployment.coordinator)}, storage ${describeBackend(deployment.storage)}`

/** This process killed as the OOM killer would: no cleanup, no goodbye. */
const dieNow = Effect.sync(() => process.kill(process.pid, "SIGKILL")).pipe(Effect.andThen(Effect.never))

/** Test-only fault injection, named by VIDPIPE_FAULT (see services/FaultInjection.ts). */
const faultLayer = Layer.unwrap(Effect.map(faultConfig, (fault) =>
  Option.isNone(fault) ? Layer.empty : Layer.succeed(FaultInjection, {
    afterLeaseWon: fault.value === "die-after-winning-lease" ? dieNow : Effect.void,
    afterMarkedReady: fault.value === "die-after-marking-ready" ? dieNow : Effect.void
  })))

/** Loads the configuration; `needsShared` refuses in-process backends a separate process cannot see. */
export const loadDeployment = (command: string, needsShared: boolean) =>
  Effect.gen(function*() {
    const deployment = yield* deploymentConfig
    if (needsShared && !isShared(deployment)) {
      return yield* new InvalidOption({
        reason: `vidpipe ${command} needs a shared queue and coordinator: set VIDPIPE_QUEUE and VIDPIPE_COORDINATOR to redis://HOST:PORT/DB (or use vidpipe process to do everything in one process)`
      })
    }
    const settings = yield* pipelineSettingsFromConfig
    return { deployment, settings, summary: describe(deployment), layer: Layer.merge(layerFor(deployment, settings), faultLayer) }
  })

