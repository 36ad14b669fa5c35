/**
 * One process's worth of embedded services for worker tests: in-memory queue, coordinator, job
 * store and idle set, a local fleet, folder storage in a fresh temporary folder, and scripted
 * ffmpeg (scriptedFfmpeg.ts). Real ffmpeg runs in the end-to-end suites.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { LogLevel } from "effect"
import { Duration, Effect, Layer, References } from "effect"
import { areaFoldersUnder, folderStorageLayer } from "../../src/layers/local/FolderStorage.ts"
import { localFleetControlLayer } from "../../src/layers/local/LocalFleetControl.ts"
import { logMetricsLayer } from "../../src/layers/local/LogMetrics.ts"
import { memoryIdleRegistryLayer } from "../../src/layers/local/MemoryIdleRegistry.ts"
import { sharedScaleInProtectionLayer } from "../../src/layers/SharedScaleInProtection.ts"
import type { PipelineSettingsShape } from "../../src/services/PipelineSettings.ts"
import { defaultPipelineSettings, PipelineSettings } from "../../src/services/PipelineSettings.ts"
import type { Script } from "./scriptedFfmpeg.ts"
import { makeScriptedFfmpeg } from "./scriptedFfmpeg.ts"
import { memoryBackends } from "./memoryBackends.ts"
import { localSourceCopiesLayer } from "../../src/layers/local/LocalSourceCopies.ts"

/**
 * Timings for tests in real time, with margins for a loaded machine: a heartbeat every 300 ms keeps
 * a 2 s visibility (1.7 s of slack for a late timer).
 */
export const fastSettings: PipelineSettingsShape = {
  ...defaultPipelineSettings,
  pollSeconds: 1,
  visibility: Duration.seconds(2),
  heartbeatEvery: Duration.millis(300),
  finalizeLease: Duration.seconds(2),
  maxReceiveCount: 3,
  transientRetries: 1
}

export interface ScriptedWorkersOptions {
  readonly script?: Script
  readonly settings: PipelineSettingsShape
  /** The queue's own redrive count (default: the settings' `maxReceiveCount`). */
  readonly queueReceives?: number
  /** A delivery's visibility when a receive names none (default: the settings' `visibility`). */
  readonly queueVisibility?: Duration.Input
  readonly logLevel?: LogLevel.LogLevel
}

export const scriptedWorkers = (options: ScriptedWorkersOptions) => {
  const ffmpeg = makeScriptedFfmpeg(options.script)
  const folder = path.join(os.tmpdir(), `vidpipe-workers-${Math.random().toString(36).slice(2)}`)
  const layer = Layer.mergeAll(
    memoryBackends({
      maxReceiveCount: options.queueReceives ?? options.settings.maxReceiveCount,
      defaultVisibility: options.queueVisibility ?? options.settings.visibility
    }),
    memoryIdleRegistryLayer,
    Layer.provideMerge(sharedScaleInProtectionLayer, localFleetControlLayer("test-instance")),
    logMetricsLayer,
    folderStorageLayer(areaFoldersUnder(folder)),
    ffmpeg.layer,
    localSourceCopiesLayer(),
    Layer.succeed(PipelineSettings, options.settings),
    Layer.succeed(References.MinimumLogLevel, options.logLevel ?? "None")
  )
  const cleanup = Effect.promise(() => fs.rm(folder, { recursive: true, force: true }))
  return {
    ffmpeg,
    /** Runs `effect` over these services, then removes the folder. */
    provide: <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(layer), Effect.ensuring(cleanup))
  }
}
