/**
 * The backends an API or `serve` test runs on: in-memory queue, coordinator and job store, folder
 * storage under `root`, log metrics, scripted ffmpeg, no CDN, and quiet logs.
 */
import { Layer, References } from "effect"
import { areaFoldersUnder, folderStorageLayer } from "../../src/layers/local/FolderStorage.ts"
import { logMetricsLayer } from "../../src/layers/local/LogMetrics.ts"
import { memoryCoordinatorLayer } from "../../src/layers/local/MemoryCoordinator.ts"
import { memoryJobQueueLayer } from "../../src/layers/local/MemoryJobQueue.ts"
import { memoryJobStoreLayer } from "../../src/layers/local/MemoryJobStore.ts"
import { noCdnCacheLayer } from "../../src/layers/local/NoCdnCache.ts"
import { makeScriptedFfmpeg } from "./scriptedFfmpeg.ts"

export const embeddedServices = (root: string) =>
  Layer.mergeAll(
    memoryJobQueueLayer(),
    memoryCoordinatorLayer,
    memoryJobStoreLayer,
    folderStorageLayer(areaFoldersUnder(root)),
    logMetricsLayer,
    makeScriptedFfmpeg().layer,
    noCdnCacheLayer,
    Layer.succeed(References.MinimumLogLevel, "None")
  )
