/**
 * The sweeper on a schedule (EventBridge, every few minutes): one `sweepOnce` pass over the active
 * jobs, as every worker also runs in-process. It finalizes jobs whose finalizer died, re-sends the
 * tasks of jobs nobody touched for too long, and fails jobs whose tasks were dead-lettered, so
 * those still happen when no worker is running. The event itself is ignored.
 *
 * A pass that fails (Redis or SQS unreachable) rejects, so the invocation is reported as an error;
 * the next scheduled one simply tries again.
 */
import type { Layer } from "effect"
import { Effect, ManagedRuntime } from "effect"
import { lambdaConfiguredLayer, lambdaLayerConfig } from "../../layers/fromConfig.ts"
import { sweepOnce } from "../../programs/sweeper.ts"
import { sweeperOwnerConfig } from "./lambdaConfig.ts"

/** What one sweep uses: the job store, queue, coordinator, storage, metrics and settings. */
export type SweeperServices = Effect.Services<ReturnType<typeof sweepOnce>>

export interface SweepResult {
  readonly owner: string
}

export type SweeperHandler = ((event?: unknown, context?: unknown) => Promise<SweepResult>) & {
  readonly dispose: () => Promise<void>
}

/** The lease owner this container finalizes as (one per container, like a worker's id). */
const defaultOwner = () => `sweeper-${Effect.runSync(sweeperOwnerConfig)}`

/** The services are built on the first invocation and reused by later ones in this container. */
export const makeSweeperHandler = <E>(
  servicesLayer: Layer.Layer<SweeperServices, E>,
  owner: string = defaultOwner()
): SweeperHandler => {
  const runtime = ManagedRuntime.make(servicesLayer)
  const handle = async () => {
    await runtime.runPromise(sweepOnce(owner))
    return { owner }
  }
  return Object.assign(handle, { dispose: () => runtime.dispose() })
}

let configured: SweeperHandler | undefined

/**
 * Everything `handler` reads from configuration: what `lambdaConfiguredLayer` reads when it is built
 * (VIDPIPE_METRICS must not be cloudwatch in a Lambda)
 * (the owner's AWS_LAMBDA_LOG_STREAM_NAME is Lambda's own). The infrastructure test runs it
 * against the function's deployed environment.
 */
export const handlerConfig = lambdaLayerConfig

/**
 * The deployed entry point: backends from `lambdaConfiguredLayer` (VIDPIPE_QUEUE, VIDPIPE_COORDINATOR,
 * VIDPIPE_STORAGE, …). The sweep is complete (dead letters recorded and deleted, tasks re-sent,
 * metrics written as EMF lines) when the promise resolves: Lambda freezes the environment then.
 */
export const handler = (event?: unknown, context?: unknown): Promise<SweepResult> => {
  configured ??= makeSweeperHandler(lambdaConfiguredLayer)
  return configured(event, context)
}
