/**
 * Every service contract, run against the embedded (one-machine) layers.
 */
import * as os from "node:os"
import * as path from "node:path"
import { Duration } from "effect"
import { areaFoldersUnder, folderStorageLayer } from "../../src/layers/local/FolderStorage.ts"
import { memoryIdleRegistryLayer } from "../../src/layers/local/MemoryIdleRegistry.ts"
import { memoryCoordinatorLayer } from "../../src/layers/local/MemoryCoordinator.ts"
import { memoryJobQueueLayer } from "../../src/layers/local/MemoryJobQueue.ts"
import { memoryJobStoreLayer } from "../../src/layers/local/MemoryJobStore.ts"
import { idleRegistryContract } from "../contracts/idleRegistryContract.ts"
import { coordinatorContract } from "../contracts/coordinatorContract.ts"
import { jobQueueContract } from "../contracts/jobQueueContract.ts"
import { jobStoreContract } from "../contracts/jobStoreContract.ts"
import { storageContract } from "../contracts/storageContract.ts"
import { webhookStoreContract } from "../contracts/webhookStoreContract.ts"
import { memoryWebhookStoreLayer } from "../../src/layers/local/MemoryWebhookStore.ts"

jobQueueContract("in-process", (options) =>
  memoryJobQueueLayer({
    maxReceiveCount: options.maxReceiveCount,
    defaultVisibility: Duration.seconds(options.defaultVisibilitySeconds)
  })
)
coordinatorContract("in-process", () => memoryCoordinatorLayer)
jobStoreContract("in-process", () => memoryJobStoreLayer)
storageContract("folder", () => folderStorageLayer(areaFoldersUnder(path.join(os.tmpdir(), "vidpipe-storage-contract"))))
idleRegistryContract("in-process", () => memoryIdleRegistryLayer)
webhookStoreContract("in-process", () => memoryWebhookStoreLayer)
