/**
 * The one-machine deployment: in-process queue, coordinator, job store and idle registry, log metrics,
 * an in-memory fleet (protection only remembered), folder storage and the system ffmpeg.
 */
import * as os from "node:os"
import { Layer } from "effect"
import { ffmpegCliLayer } from "./ffmpeg/FfmpegCli.ts"
import type { AreaFolders } from "./local/FolderStorage.ts"
import { folderStorageLayer } from "./local/FolderStorage.ts"
import { localFleetControlLayer } from "./local/LocalFleetControl.ts"
import { logMetricsLayer } from "./local/LogMetrics.ts"
import { memoryIdleRegistryLayer } from "./local/MemoryIdleRegistry.ts"
import { memoryCoordinatorLayer } from "./local/MemoryCoordinator.ts"
import type { MemoryQueueOptions } from "./local/MemoryJobQueue.ts"
import { memoryJobQueueLayer } from "./local/MemoryJobQueue.ts"
import { memoryJobStoreLayer } from "./local/MemoryJobStore.ts"

export const embeddedLayer = (options: { readonly folders: AreaFolders; readonly queue?: MemoryQueueOptions }) =>
  Layer.mergeAll(
    memoryJobQueueLayer(options.queue),
    memoryCoordinatorLayer,
    memoryJobStoreLayer,
    memoryIdleRegistryLayer,
    localFleetControlLayer(`${os.hostname()}-${process.pid}`),
    logMetricsLayer,
    folderStorageLayer(options.folders),
    ffmpegCliLayer()
  )
