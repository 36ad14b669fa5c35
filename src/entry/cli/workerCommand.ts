/**
 * `vidpipe worker`: a long-running worker process for a shared deployment (Redis queue and
 * coordinator). SIGTERM drains it: it stops receiving, lets the current task finish within
 * `--drain-timeout` (or hands it back to the queue), and exits 0. Ctrl-C stops at once.
 *
 * With VIDPIPE_LIFECYCLE_HOOK (the Auto Scaling group's termination hook, set by the stack's user
 * data) it also drains when the fleet terminates the instance, and then completes that hook.
 *
 * With VIDPIPE_SPOT_NOTICES=imds it drains on a Spot interruption notice (a task that cannot end
 * VIDPIPE_SPOT_MARGIN_SECONDS before the action time is handed back at once) or a rebalance
 * recommendation (programs/spotInterruption.ts).
 */
import { Config, Duration, Effect, Layer, Option, Schedule } from "effect"
import { Command, Flag } from "effect/cli"
import { reapOrphanedEncoders } from "../../layers/ffmpeg/orphans.ts"
import { runSweeper } from "../../programs/sweeper.ts"
import { runWorkerInFleet } from "../../programs/terminationHook.ts"
import { completeHookAfterSpotDrain, defaultSpotMargin, drainingOnSpotNotices } from "../../programs/spotInterruption.ts"
import type { WorkerOptions } from "../../programs/worker.ts"
import { runWorker } from "../../programs/worker.ts"
import { instanceIdConfig, spotNoticesLayer } from "../../layers/fromConfig.ts"
import { InvalidConfiguration } from "../../layers/InvalidConfiguration.ts"
import { logLevelLayer } from "./cliConfig.ts"
import { loadDeployment } from "./deployment.ts"
import { reportingFailures } from "./runCommand.ts"
import { awaitDrainRequest } from "./signals.ts"
import { runWebhookDispatcher } from "../../programs/webhookDelivery.ts"
import { WebhookSettings } from "../../services/WebhookSettings.ts"
import { deliveryUrlConfig, publicUrlConfig } from "../http/uploadConfig.ts"
import { webhookDispatchConfig, webhookSettingsConfig } from "../http/webhookConfig.ts"

export const workerCommand = Command.make(
  "worker",
  {
    id: Flag.String("id").pipe(Flag.withDescription("Instance id (default: hostname-pid, or VIDPIPE_INSTANCE_ID)"), Flag.optional),
    drainTimeout: Flag.Finite("drain-timeout").pipe(
      Flag.withDescription("Seconds a draining worker lets its current task run before handing it back"),
      Flag.withDefault(600)
    )
  },
  (flags) =>
    Effect.gen(function*() {
      const { layer, summary } = yield* loadDeployment("worker", true)
      const lifecycleHook = yield* Config.String("VIDPIPE_LIFECYCLE_HOOK").pipe(Config.option)
      const spotMarginSeconds = yield* Config.Number("VIDPIPE_SPOT_MARGIN_SECONDS").pipe(Config.withDefault(Duration.toSeconds(defaultSpotMargin)))
      if (!(spotMarginSeconds >= 0)) {
        return yield* new InvalidConfiguration({ variable: "VIDPIPE_SPOT_MARGIN_SECONDS", value: String(spotMarginSeconds), expected: "a number of seconds, 0 or more" })
      }
      const workerId = flags.id._tag === "Some" ? flags.id.value : yield* instanceIdConfig
      yield* Effect.gen(function*() {
        yield* Effect.logInfo(`worker ${workerId}: started (${summary})`)
        // At start and then every few seconds: another worker on this machine may die at any time.
        const reap = Effect.promise(reapOrphanedEncoders).pipe(
          Effect.tap((reaped) =>
            reaped.length > 0 ? Effect.logWarning(`worker ${workerId}: stopped ${reaped.length} encoder(s) left by a dead worker`) : Effect.void
          )
        )
        yield* reap
        yield* Effect.forkScoped(reap.pipe(Effect.repeat(Schedule.spaced("5 seconds"))))
        yield* Effect.forkScoped(runSweeper(workerId))
        // Webhooks go out from every worker (claims share the work), unless a dispatcher runs
        // elsewhere: on AWS a scheduled Lambda does it (VIDPIPE_WEBHOOK_DISPATCH=off, docs/deploy.md).
        if (yield* webhookDispatchConfig) {
          const webhookSettings = yield* webhookSettingsConfig(yield* deliveryUrlConfig(yield* publicUrlConfig))
          yield* Effect.forkScoped(runWebhookDispatcher.pipe(Effect.provideService(WebhookSettings, webhookSettings)))
        }
        const options = { drain: awaitDrainRequest, drainTimeout: Duration.seconds(flags.drainTimeout) }
        const spot = { margin: Duration.seconds(spotMarginSeconds) }
        const hook = Option.isSome(lifecycleHook) ? lifecycleHook.value.trim() : ""
        yield* hook !== ""
          ? drainingOnSpotNotices(workerId, options, (withNotices) => runWorkerInFleet(workerId, { ...withNotices, lifecycleHookName: hook }), spot, completeHookAfterSpotDrain(hook))
          : drainingOnSpotNotices(workerId, options, (withNotices: WorkerOptions) => runWorker(workerId, withNotices), spot)
        yield* Effect.logInfo(`worker ${workerId}: exiting`)
      }).pipe(Effect.scoped, Effect.provide(Layer.merge(layer, spotNoticesLayer)))
    }).pipe(
      reportingFailures({ json: false }),
      // A daemon says what it does unless told otherwise.
      Effect.provide(logLevelLayer("Info"))
    )
).pipe(Command.withDescription("Run a worker for a shared (Redis) deployment; SIGTERM drains it"))
