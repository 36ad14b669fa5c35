/**
 * The backends an API or `serve` test runs on: in-memory queue, coordinator, job store and webhook
 * store (webhooks sent over real HTTP, private addresses refused), folder
 * storage under `root`, log metrics, scripted ffmpeg, no CDN, and quiet logs.
 */
import { Layer, References } from "effect"
import { areaFoldersUnder, folderStorageLayer } from "../../src/layers/local/FolderStorage.ts"
import { logMetricsLayer } from "../../src/layers/local/LogMetrics.ts"
import { memoryCoordinatorLayer } from "../../src/layers/local/MemoryCoordinator.ts"
import { memoryJobQueueLayer } from "../../src/layers/local/MemoryJobQueue.ts"
import { memoryJobStoreLayer } from "../../src/layers/local/MemoryJobStore.ts"
import { memoryWebhookStoreLayer } from "../../src/layers/local/MemoryWebhookStore.ts"
import { noCdnCacheLayer } from "../../src/layers/local/NoCdnCache.ts"
import { systemResolver } from "../../src/layers/webhooks/hostAddress.ts"
import { httpWebhookSenderLayer } from "../../src/layers/webhooks/HttpWebhookSender.ts"
import { makeScriptedFfmpeg } from "./scriptedFfmpeg.ts"

/** An in-memory webhook store, and webhooks sent over real HTTP with private addresses refused. */
export const webhookServices = Layer.merge(
  memoryWebhookStoreLayer,
  httpWebhookSenderLayer({ allowPrivate: false, resolve: systemResolver, timeoutMillis: 5_000 })
)

export const embeddedServices = (root: string) =>
  Layer.mergeAll(
    memoryJobQueueLayer(),
    memoryCoordinatorLayer,
    memoryJobStoreLayer,
    webhookServices,
    folderStorageLayer(areaFoldersUnder(root)),
    logMetricsLayer,
    makeScriptedFfmpeg().layer,
    noCdnCacheLayer,
    Layer.succeed(References.MinimumLogLevel, "None")
  )
