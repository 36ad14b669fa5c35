/**
 * The in-process backends worker tests share: Node's platform services (the work folders'
 * file system), the in-memory queue (with the test's redrive and visibility), coordinator and
 * job store. Each test adds its own fleet, idle set, metrics, storage and ffmpeg.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Layer } from "effect"
import type { MemoryQueueOptions } from "../../src/layers/local/MemoryJobQueue.ts"
import { memoryJobQueueLayer } from "../../src/layers/local/MemoryJobQueue.ts"
import { memoryCoordinatorLayer } from "../../src/layers/local/MemoryCoordinator.ts"
import { memoryJobStoreLayer } from "../../src/layers/local/MemoryJobStore.ts"

export const memoryBackends = (queue: MemoryQueueOptions) =>
  Layer.mergeAll(NodeServices.layer, memoryJobQueueLayer(queue), memoryCoordinatorLayer, memoryJobStoreLayer)
