/** The account, partition and region the stack is deployed in (for ARNs the stack spells out). */
import * as aws from "@pulumi/aws"
import type * as pulumi from "@pulumi/pulumi"

export interface Account {
  readonly accountId: pulumi.Output<string>
  readonly partition: pulumi.Output<string>
  readonly region: pulumi.Output<string>
}

export const currentAccount = (): Account => ({
  accountId: aws.getCallerIdentityOutput().accountId,
  partition: aws.getPartitionOutput().partition,
  region: aws.getRegionOutput().region
})
