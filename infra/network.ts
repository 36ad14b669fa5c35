/**
 * The VPC and the ElastiCache Redis in it (SST components: `sst.aws.Vpc`, `sst.aws.Redis`).
 *
 * Lambdas and workers run in the private subnets and reach AWS APIs through NAT (`ec2`: one small
 * NAT instance per AZ, the cheap default; `managed`: NAT gateways). Redis is a single-shard
 * replication group (vidpipe assumes one Redis, not Redis Cluster) with TLS and an auth token,
 * reachable only from inside the VPC; `noeviction`, because the queue, job records and leases
 * must never be evicted to make room.
 *
 * Only `sst.config.ts` calls this (the SST components exist only inside SST's runtime); the rest
 * of the stack takes the `Network` it returns, which tests build by hand.
 */
import * as aws from "@pulumi/aws"
import type * as pulumi from "@pulumi/pulumi"
import { redisUrl } from "./environment.ts"
import type { DeploySettings } from "./settings.ts"

export interface Network {
  readonly vpcId: pulumi.Input<string>
  readonly privateSubnetIds: pulumi.Input<Array<pulumi.Input<string>>>
  /** The VPC's CIDR block (workers may reach Redis only inside it). */
  readonly cidrBlock: pulumi.Input<string>
  /** The coordinator URL, `rediss://default:TOKEN@HOST:6379/0`. A secret. */
  readonly redisUrl: pulumi.Output<string>
}

export const sstNetwork = (settings: DeploySettings) => {
  const vpc = new sst.aws.Vpc("Vpc", { az: 2, nat: settings.nat })
  const redis = new sst.aws.Redis("Redis", {
    vpc,
    engine: "redis",
    instance: settings.redisInstance,
    cluster: false,
    parameters: { "maxmemory-policy": "noeviction" }
  })
  return { vpc, redis }
}

/** The Network the raw-Pulumi areas need, from the SST components. */
export const networkOf = (components: ReturnType<typeof sstNetwork>): Network => ({
  vpcId: components.vpc.id,
  privateSubnetIds: components.vpc.privateSubnets,
  cidrBlock: aws.ec2.getVpcOutput({ id: components.vpc.id }).cidrBlock,
  redisUrl: redisUrl(components.redis)
})
