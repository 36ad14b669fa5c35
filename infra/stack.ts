/**
 * The whole stack from its areas, given what only SST can make (the network with Redis, and the
 * Lambda functions). `sst.config.ts` passes SST components; test/infra/infra.test.ts passes stand-ins
 * and runs this under Pulumi mocks.
 */
import type * as pulumi from "@pulumi/pulumi"
import { currentAccount } from "./account.ts"
import { apiKey, restApi } from "./api.ts"
import { delivery } from "./cdn.ts"
import { backendEnvironment } from "./environment.ts"
import { workerFleet } from "./fleet.ts"
import type { MakeFunction } from "./lambdas.ts"
import { functionSpecs, ingestTrigger, makeFunctions, protectorWiring, sweeperSchedule, webhooksSchedule } from "./lambdas.ts"
import type { Network } from "./network.ts"
import type { DataResources } from "./policies.ts"
import { taskQueue } from "./queue.ts"
import { scaling } from "./scaling.ts"
import type { DeploySettings } from "./settings.ts"
import { buckets } from "./storage.ts"

export interface Platform {
  readonly network: Network
  readonly makeFunction: MakeFunction
}

export const vidpipeStack = (settings: DeploySettings, platform: Platform) => {
  const account = currentAccount()
  const storage = buckets(settings)
  const queue = taskQueue(settings)
  const cdn = delivery(settings, storage)
  const data: DataResources = {
    uploadsBucketArn: storage.uploads.bucket.arn,
    outputsBucketArn: storage.outputs.bucket.arn,
    queueArn: queue.queue.arn,
    deadLetterQueueArn: queue.deadLetterQueue.arn,
    distributionArn: cdn.distribution.arn
  }
  const backends = backendEnvironment(settings, {
    queueUrl: queue.queue.url,
    deadLetterQueueUrl: queue.deadLetterQueue.url,
    uploadsBucket: storage.uploads.bucket.bucket,
    outputsBucket: storage.outputs.bucket.bucket
  })
  const key = apiKey(settings)

  const specs = functionSpecs(settings, { backends, network: platform.network, data, apiKeyValue: key.value, deliveryUrl: cdn.url, distributionId: cdn.distribution.id })
  const functions = makeFunctions(platform.makeFunction, specs)
  const api = restApi(settings, functions.api, key)
  const ingest = ingestTrigger(account, storage, functions.ingest)
  const protector = protectorWiring(settings, account, functions.protector)
  const sweeper = sweeperSchedule(functions.sweeper)
  const webhooks = webhooksSchedule(functions.webhooks)

  const fleet = workerFleet(settings, {
    account,
    network: platform.network,
    data,
    backends,
    protectorAliasArn: protector.alias.arn,
    protectorInvokePermission: protector.autoScalingInvoke
  })
  const alarms = scaling(settings, { autoScalingGroupName: fleet.group.name, queueName: queue.queue.name })

  const outputs: Record<string, pulumi.Input<string>> = {
    api: api.url,
    apiKeyId: key.id,
    delivery: cdn.url,
    uploadsBucket: storage.uploads.bucket.bucket,
    outputsBucket: storage.outputs.bucket.bucket,
    queue: queue.queue.url,
    deadLetterQueue: queue.deadLetterQueue.url,
    workers: fleet.group.name
  }
  return { account, storage, queue, cdn, key, specs, functions, api, ingest, protector, sweeper, webhooks, fleet, alarms, outputs }
}

export type VidpipeStack = ReturnType<typeof vidpipeStack>
