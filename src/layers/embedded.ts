/**
 * How a deployment's services are put together, once: one layer per concern, merged with the
 * system ffmpeg and the workers' shared scale-in protection (`servicesLayer`). The one-machine deployment (`embeddedLayer`) fills every
 * concern in-process: queue, coordinator, job store and idle registry in memory, an in-memory
 * fleet (protection only remembered), log metrics, no CDN, folder storage. A configured deployment
 * (fromConfig.ts) fills them from configuration, with the same in-memory pieces for `memory`.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Layer } from "effect"
import type { Coordinator } from "../services/Coordinator.ts"
import type { CdnCache } from "../services/CdnCache.ts"
import type { IdleRegistry } from "../services/IdleRegistry.ts"
import type { JobQueue } from "../services/JobQueue.ts"
import type { JobStore } from "../services/JobStore.ts"
import type { PipelineMetrics } from "../services/PipelineMetrics.ts"
import type { SourceCopies } from "../services/SourceCopies.ts"
import type { Storage } from "../services/Storage.ts"
import { ffmpegCliLayer } from "./ffmpeg/FfmpegCli.ts"
import type { AreaFolders } from "./local/FolderStorage.ts"
import { folderStorageLayer } from "./local/FolderStorage.ts"
import { localFleetControlLayer } from "./local/LocalFleetControl.ts"
import { localSourceCopiesLayer } from "./local/LocalSourceCopies.ts"
import { logMetricsLayer } from "./local/LogMetrics.ts"
import { memoryIdleRegistryLayer } from "./local/MemoryIdleRegistry.ts"
import { memoryCoordinatorLayer } from "./local/MemoryCoordinator.ts"
import type { MemoryQueueOptions } from "./local/MemoryJobQueue.ts"
import { memoryJobQueueLayer } from "./local/MemoryJobQueue.ts"
import { memoryJobStoreLayer } from "./local/MemoryJobStore.ts"
import { memoryWebhookStoreLayer } from "./local/MemoryWebhookStore.ts"
import { configuredWebhookSenderLayer } from "./webhooks/HttpWebhookSender.ts"
import { noCdnCacheLayer } from "./local/NoCdnCache.ts"
import { sharedScaleInProtectionLayer } from "./SharedScaleInProtection.ts"
import { thisProcessId } from "./processIdentity.ts"

/** A layer providing `A` (and maybe more), whatever it needs and however it fails. */
type Providing<A> = Layer.Layer<A, unknown, unknown>

/**
 * Every service of a deployment: one layer per concern (coordination gives the coordinator, job
 * store and idle registry), the system ffmpeg, and ScaleInProtection over the fleet.
 */
export const servicesLayer = <
  Q extends Providing<JobQueue>,
  C extends Providing<Coordinator | JobStore | IdleRegistry>,
  S extends Providing<Storage>,
  Fleet,
  FleetE,
  FleetR,
  M extends Providing<PipelineMetrics>,
  D extends Providing<CdnCache>,
  SC extends Providing<SourceCopies> = Layer.Layer<SourceCopies>
>(layers: {
  readonly queue: Q
  readonly coordination: C
  readonly storage: S
  /** FleetControl (and InstanceTermination); typed loosely so that what it gives beyond FleetControl is kept. */
  readonly fleet: Layer.Layer<Fleet, FleetE, FleetR>
  readonly metrics: M
  readonly cdn: D
  /** The workers' local source copies; default: in the OS temporary folder, 256 MiB of disk kept free. */
  readonly sourceCopies?: SC
}) =>
  Layer.mergeAll(
    layers.queue,
    layers.coordination,
    layers.storage,
    // The worker fibers of this process share one hold on the instance's protection.
    Layer.provideMerge(sharedScaleInProtectionLayer, layers.fleet),
    layers.metrics,
    layers.cdn,
    ffmpegCliLayer(),
    layers.sourceCopies ?? localSourceCopiesLayer(),
    // The file system programs use for work folders (encodeTask), on this Node process.
    NodeFileSystem.layer,
    // Webhooks go out over HTTP from wherever they are dispatched (VIDPIPE_WEBHOOK_*).
    configuredWebhookSenderLayer
  )

/** In-process coordination: what VIDPIPE_COORDINATOR=memory means. */
export const memoryCoordinationLayer = Layer.mergeAll(memoryCoordinatorLayer, memoryJobStoreLayer, memoryIdleRegistryLayer, memoryWebhookStoreLayer)

export const embeddedLayer = (options: {
  readonly folders: AreaFolders
  readonly queue?: MemoryQueueOptions
  /** Where workers keep their source copies; on the uploads' file system, a copy is a hard link. */
  readonly sourceCopiesFolder?: string
}) =>
  servicesLayer({
    queue: memoryJobQueueLayer(options.queue),
    coordination: memoryCoordinationLayer,
    storage: folderStorageLayer(options.folders),
    fleet: localFleetControlLayer(thisProcessId()),
    metrics: logMetricsLayer,
    cdn: noCdnCacheLayer,
    sourceCopies: localSourceCopiesLayer(options.sourceCopiesFolder === undefined ? {} : { folder: options.sourceCopiesFolder })
  })
