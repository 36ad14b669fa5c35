/**
 * The one-machine deployment: in-process queue, coordinator and job store, log metrics,
 * folder storage and the system ffmpeg.
 */
import { Layer } from "effect"
import { ffmpegCliLayer } from "./ffmpeg/FfmpegCli.ts"
import type { AreaFolders } from "./local/FolderStorage.ts"
import { folderStorageLayer } from "./local/FolderStorage.ts"
import { logMetricsLayer } from "./local/LogMetrics.ts"
import { memoryCoordinatorLayer } from "./local/MemoryCoordinator.ts"
import type { MemoryQueueOptions } from "./local/MemoryJobQueue.ts"
import { memoryJobQueueLayer } from "./local/MemoryJobQueue.ts"
import { memoryJobStoreLayer } from "./local/MemoryJobStore.ts"

export const embeddedLayer = (options: { readonly folders: AreaFolders; readonly queue?: MemoryQueueOptions }) =>
  Layer.mergeAll(
    memoryJobQueueLayer(options.queue),
    memoryCoordinatorLayer,
    memoryJobStoreLayer,
    logMetricsLayer,
    folderStorageLayer(options.folders),
    ffmpegCliLayer()
  )
