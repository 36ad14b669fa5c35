/**
 * The worker fleet (raw Pulumi: SST has no Auto Scaling component).
 *
 * - Launch template: the Packer AMI (VIDPIPE_DEPLOY_WORKER_AMI), IMDSv2 required with a hop limit
 *   of 1 (containers on the host cannot reach the metadata service), an encrypted gp3 root volume,
 *   a security group that only lets out HTTPS (AWS APIs, through NAT) and Redis inside the VPC,
 *   and an instance profile whose role may do only what the worker does, on exactly this stack's
 *   buckets, queues, parameter and group (policies.ts).
 * - User data writes /etc/vidpipe/worker.env (the backends, this instance's id as the worker id
 *   the protector matches, the Redis URL read from an SSM SecureString parameter so the password
 *   is not in the user data) and starts the units the AMI installed (packer/files/).
 * - Auto Scaling group: the protector alias first in its termination policies (then `Default`),
 *   new instances protected from scale-in (a worker drops its protection only when idle), a
 *   termination lifecycle hook whose heartbeat outlasts the worker's drain, and group metrics
 *   for the scaling alarms (scaling.ts).
 */
import * as aws from "@pulumi/aws"
import * as pulumi from "@pulumi/pulumi"
import type { Account } from "./account.ts"
import type { Environment } from "./environment.ts"
import { workerGroupName } from "./environment.ts"
import { autoScalingServiceRoleArn } from "./lambdas.ts"
import type { Network } from "./network.ts"
import type { DataResources } from "./policies.ts"
import { policyJson, workerFleetGrants, workerGrants } from "./policies.ts"
import type { DeploySettings } from "./settings.ts"

/** `vidpipe worker --drain-timeout` in packer/files/vidpipe-worker.service (also the CLI's default). */
export const drainTimeoutSeconds = 600
/** `TimeoutStopSec` of that unit: longer than the drain, so systemd never kills a draining worker. */
export const stopTimeoutSeconds = 660
/** The termination hook waits this long at most for the drain (the instance completes it sooner). */
export const lifecycleHeartbeatSeconds = 900
export const lifecycleHookName = "drain"

export interface UserDataInput {
  readonly region: string
  /** Written to /etc/vidpipe/worker.env as is (values must be plain: no spaces, quotes or newlines). */
  readonly environment: Readonly<Record<string, string>>
  /** The SSM SecureString parameter holding the Redis URL (VIDPIPE_COORDINATOR). */
  readonly redisUrlParameter: string
  /** The termination hook the worker completes after its drain (VIDPIPE_LIFECYCLE_HOOK). */
  readonly lifecycleHookName: string
}

const plain = /^[A-Za-z0-9_.,:/@%+=-]*$/

const envLines = (values: Readonly<Record<string, string>>) =>
  Object.entries(values).map(([name, value]) => {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name) || !plain.test(value)) throw new Error(`user data: ${name}=${value} cannot be written to an environment file as is`)
    return `${name}=${value}`
  }).join("\n")

/** The boot script (launch template user data, before base64). Pure, so tests read it. */
export const workerUserData = (input: UserDataInput): string => {
  const aws = `/snap/bin/aws --region ${input.region}`
  return `#!/bin/bash
# vidpipe worker boot (infra/fleet.ts): configuration for the units the AMI installed, then start them.
set -euo pipefail
imds=http://169.254.169.254
token=$(curl -fsS -m 5 -X PUT "$imds/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
instance_id=$(curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/instance-id")

# The Redis URL (with its password) from SSM; retried while snapd and the instance role settle.
for attempt in $(seq 30); do
  if redis_url=$(${aws} ssm get-parameter --name '${input.redisUrlParameter}' --with-decryption --query Parameter.Value --output text); then break; fi
  [ "$attempt" = 30 ] && { echo "vidpipe: cannot read ${input.redisUrlParameter}" >&2; exit 1; }
  sleep 5
done

umask 027
cat > /etc/vidpipe/worker.env <<'VIDPIPE_ENV'
${envLines({ AWS_REGION: input.region, ...input.environment, VIDPIPE_LIFECYCLE_HOOK: input.lifecycleHookName })}
VIDPIPE_ENV
printf 'VIDPIPE_INSTANCE_ID=%s\\nVIDPIPE_COORDINATOR=%s\\n' "$instance_id" "$redis_url" >> /etc/vidpipe/worker.env

chown root:vidpipe /etc/vidpipe/worker.env
chmod 0640 /etc/vidpipe/worker.env
# The worker completes the termination lifecycle hook itself after its drain (VIDPIPE_LIFECYCLE_HOOK).
systemctl enable --now vidpipe-worker.service
`
}

export interface FleetInputs {
  readonly account: Account
  readonly network: Network
  readonly data: DataResources
  /** Backend environment of the workers (environment.ts), without the coordinator. */
  readonly backends: Environment
  /** The protector alias's ARN: the group's first termination policy. */
  readonly protectorAliasArn: pulumi.Input<string>
  /** The permission letting Auto Scaling invoke that alias, in place before the group uses it. */
  readonly protectorInvokePermission: pulumi.Resource
}

const ec2AssumeRole = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }]
})

export const workerFleet = (settings: DeploySettings, inputs: FleetInputs) => {
  const { account, network } = inputs
  const autoScalingGroupName = workerGroupName(settings)
  const tags = { App: settings.app, Stage: settings.stage }

  const redisUrlParameter = new aws.ssm.Parameter("WorkerRedisUrl", {
    name: `/${settings.app}/${settings.stage}/redis-url`,
    description: "VIDPIPE_COORDINATOR of the vidpipe workers",
    type: "SecureString",
    value: network.redisUrl,
    tags
  })

  const role = new aws.iam.Role("WorkerRole", {
    description: "vidpipe worker instances",
    assumeRolePolicy: ec2AssumeRole,
    tags
  })
  const dataPolicy = new aws.iam.RolePolicy("WorkerData", {
    role: role.id,
    policy: policyJson(workerGrants({ ...inputs.data, redisUrlParameterArn: redisUrlParameter.arn }))
  })
  const instanceProfile = new aws.iam.InstanceProfile("WorkerProfile", { role: role.name, tags })

  const securityGroup = new aws.ec2.SecurityGroup("WorkerSecurityGroup", {
    description: "vidpipe workers: HTTPS out (AWS APIs via NAT), Redis inside the VPC, nothing in",
    vpcId: network.vpcId,
    ingress: [],
    egress: [
      { description: "AWS APIs", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
      { description: "Redis", protocol: "tcp", fromPort: 6379, toPort: 6379, cidrBlocks: [network.cidrBlock] }
    ],
    tags
  })

  const userData = pulumi.all([account.region, pulumi.output(inputs.backends), redisUrlParameter.name]).apply(([region, environment, parameter]) =>
    Buffer.from(workerUserData({
      region,
      // The instance protects itself from scale-in while it holds a task (SetInstanceProtection).
      // Webhooks go out from the dispatcher Lambda (lambdas.ts): this group lets out only 443 and
      // Redis, receivers listen on any port, and the fleet may be at zero while retries are due.
      environment: { ...environment, VIDPIPE_FLEET: "autoscaling", VIDPIPE_WEBHOOK_DISPATCH: "off", VIDPIPE_LOG_LEVEL: "Info" },
      redisUrlParameter: parameter,
      lifecycleHookName
    })).toString("base64")
  )

  const launchTemplate = new aws.ec2.LaunchTemplate("WorkerTemplate", {
    namePrefix: `${settings.prefix}-worker-`,
    description: "vidpipe worker",
    imageId: settings.worker.ami,
    instanceType: settings.worker.instanceType,
    iamInstanceProfile: { arn: instanceProfile.arn },
    vpcSecurityGroupIds: [securityGroup.id],
    metadataOptions: {
      httpEndpoint: "enabled",
      httpTokens: "required",
      httpPutResponseHopLimit: 1,
      instanceMetadataTags: "disabled"
    },
    blockDeviceMappings: [{
      deviceName: "/dev/sda1",
      ebs: { volumeSize: settings.worker.rootVolumeGb, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" }
    }],
    userData,
    updateDefaultVersion: true,
    tagSpecifications: [
      { resourceType: "instance", tags: { ...tags, Name: `${settings.prefix}-worker` } },
      { resourceType: "volume", tags }
    ],
    tags
  })

  const group = new aws.autoscaling.Group("Workers", {
    name: autoScalingGroupName,
    minSize: settings.worker.min,
    maxSize: settings.worker.max,
    vpcZoneIdentifiers: network.privateSubnetIds,
    launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
    // Auto Scaling asks the protector which instances it may remove; `Default` breaks ties.
    terminationPolicies: [inputs.protectorAliasArn, "Default"],
    serviceLinkedRoleArn: autoScalingServiceRoleArn(account),
    protectFromScaleIn: true,
    // Removing the stack terminates the workers at once: protected instances would otherwise keep
    // the group's deletion waiting forever.
    forceDelete: true,
    healthCheckType: "EC2",
    healthCheckGracePeriod: 120,
    defaultInstanceWarmup: settings.scaling.instanceWarmupSeconds,
    metricsGranularity: "1Minute",
    enabledMetrics: ["GroupDesiredCapacity", "GroupInServiceInstances", "GroupPendingInstances", "GroupTerminatingInstances", "GroupTotalInstances"],
    tags: [
      { key: "App", value: settings.app, propagateAtLaunch: true },
      { key: "Stage", value: settings.stage, propagateAtLaunch: true }
    ]
  }, { dependsOn: [inputs.protectorInvokePermission] })

  const fleetPolicy = new aws.iam.RolePolicy("WorkerFleet", {
    role: role.id,
    policy: policyJson(workerFleetGrants(group.arn))
  })

  const drainHook = new aws.autoscaling.LifecycleHook("WorkerDrain", {
    name: lifecycleHookName,
    autoscalingGroupName: group.name,
    lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
    heartbeatTimeout: lifecycleHeartbeatSeconds,
    defaultResult: "CONTINUE"
  })

  return { redisUrlParameter, role, dataPolicy, fleetPolicy, instanceProfile, securityGroup, launchTemplate, group, drainHook }
}

export type WorkerFleet = ReturnType<typeof workerFleet>
