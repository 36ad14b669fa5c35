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
 * - Capacity (settings.ts, `worker.capacity`): Spot across several instance types (a mixed
 *   instances policy over the same launch template; the workers watch IMDS for the two-minute
 *   interruption notice and drain), or On-Demand, optionally with a warm pool of stopped
 *   instances. Never both: Auto Scaling keeps no Spot Instances in a warm pool.
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
/** The launch hook of a group with a warm pool: held until the boot script has configured the instance. */
export const prepareHookName = "prepare"
/** The boot script takes well under this (the Redis URL's retries stop at 150 s). */
export const prepareHeartbeatSeconds = 300
/** AWS marks it "(recommended)": the Spot pools least likely to be interrupted, then the cheapest of those. */
export const spotAllocationStrategy = "price-capacity-optimized"

export interface UserDataInput {
  readonly region: string
  /** Written to /etc/vidpipe/worker.env as is (values must be plain: no spaces, quotes or newlines). */
  readonly environment: Readonly<Record<string, string>>
  /** The SSM SecureString parameter holding the Redis URL (VIDPIPE_COORDINATOR). */
  readonly redisUrlParameter: string
  /** The termination hook the worker completes after its drain (VIDPIPE_LIFECYCLE_HOOK). */
  readonly lifecycleHookName: string
  /** With a warm pool: the group and its launch hook, which the boot script completes. */
  readonly warmPool?: { readonly autoScalingGroupName: string; readonly prepareHookName: string }
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
cat > /etc/vidpipe/worker.env.new <<'VIDPIPE_ENV'
${envLines({ AWS_REGION: input.region, ...input.environment, VIDPIPE_LIFECYCLE_HOOK: input.lifecycleHookName })}
VIDPIPE_ENV
printf 'VIDPIPE_INSTANCE_ID=%s\\nVIDPIPE_COORDINATOR=%s\\n' "$instance_id" "$redis_url" >> /etc/vidpipe/worker.env.new

chown root:vidpipe /etc/vidpipe/worker.env.new
chmod 0640 /etc/vidpipe/worker.env.new
# Replaced whole: a worker (re)starting meanwhile never reads half a file.
mv -f /etc/vidpipe/worker.env.new /etc/vidpipe/worker.env
# The worker completes the termination lifecycle hook itself after its drain (VIDPIPE_LIFECYCLE_HOOK).
${input.warmPool === undefined ? "systemctl enable --now vidpipe-worker.service\n" : warmPoolStart(aws, input.warmPool)}`
}

/**
 * The end of the boot script with a warm pool, which runs it at every boot (`everyBoot`). Auto
 * Scaling says where the instance is going: `Warmed:Stopped` while it is prepared for the pool
 * (configured and enabled, not started: it is stopped next), `InService` on a cold launch or a
 * warm start. A resumed instance re-registers by itself: systemd starts the enabled unit at boot,
 * the worker keeps its instance id, and its idle-set entry from before the stop is dropped as
 * stale (not seen within the protector's freshness window) until its first empty poll adds it again.
 */
const warmPoolStart = (aws: string, warmPool: NonNullable<UserDataInput["warmPool"]>) => `
# Warm pool: where Auto Scaling is taking this instance (absent for a moment right after launch).
target=""
for attempt in $(seq 30); do
  token=$(curl -fsS -m 5 -X PUT "$imds/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300" || true)
  target=$(curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/autoscaling/target-lifecycle-state" || true)
  [ -n "$target" ] && break
  sleep 2
done
if [[ "$target" == Warmed:* ]]; then
  systemctl enable vidpipe-worker.service
else
  systemctl enable --now vidpipe-worker.service
fi

# Auto Scaling holds the instance at the ${warmPool.prepareHookName} hook until this (then stops it into the pool, or
# puts it in service). After a plain reboot no action is pending, and there is nothing to complete.
for attempt in $(seq 12); do
  if answer=$(${aws} autoscaling complete-lifecycle-action --auto-scaling-group-name '${warmPool.autoScalingGroupName}' --lifecycle-hook-name '${warmPool.prepareHookName}' --lifecycle-action-result CONTINUE --instance-id "$instance_id" 2>&1); then break; fi
  case "$answer" in *"No active Lifecycle Action"*) break ;; esac
  [ "$attempt" = 12 ] && { echo "vidpipe: cannot complete the ${warmPool.prepareHookName} hook: $answer" >&2; exit 1; }
  sleep 5
done
`

/**
 * User data that cloud-init runs at every boot, not only the first: the warm pool's resumed
 * instances must complete the launch hook again. AWS's documented way ("To run user data scripts
 * when an instance restarts, the user data must be in the MIME multi-part format", warm pool
 * prerequisites): `scripts-user` with frequency `always`.
 */
export const everyBoot = (script: string) => `Content-Type: multipart/mixed; boundary="vidpipe-boot"
MIME-Version: 1.0

--vidpipe-boot
Content-Type: text/cloud-config; charset="us-ascii"
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Disposition: attachment; filename="cloud-config.txt"

#cloud-config
cloud_final_modules:
- [scripts-user, always]

--vidpipe-boot
Content-Type: text/x-shellscript; charset="us-ascii"
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Disposition: attachment; filename="userdata.txt"

${script}
--vidpipe-boot--
`

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

  const capacity = settings.worker.capacity
  const warmPool = capacity.kind === "on-demand" && capacity.warmPool.size > 0 ? capacity.warmPool : undefined

  const userData = pulumi.all([account.region, pulumi.output(inputs.backends), redisUrlParameter.name]).apply(([region, environment, parameter]) => {
    const script = workerUserData({
      region,
      environment: {
        ...environment,
        // The instance protects itself from scale-in while it holds a task (SetInstanceProtection).
        VIDPIPE_FLEET: "autoscaling",
        // Webhooks go out from the dispatcher Lambda (lambdas.ts): this group lets out only 443 and
        // Redis, receivers listen on any port, and the fleet may be at zero while retries are due.
        VIDPIPE_WEBHOOK_DISPATCH: "off",
        VIDPIPE_LOG_LEVEL: "Info",
        // Spot: the worker polls IMDS for the two-minute interruption notice and drains.
        ...(capacity.kind === "spot" ? { VIDPIPE_SPOT_NOTICES: "imds" } : {})
      },
      redisUrlParameter: parameter,
      lifecycleHookName,
      ...(warmPool === undefined ? {} : { warmPool: { autoScalingGroupName, prepareHookName } })
    })
    return Buffer.from(warmPool === undefined ? script : everyBoot(script)).toString("base64")
  })

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

  const templateVersion = launchTemplate.latestVersion.apply(String)
  // Spot: the same launch template, its instance type overridden by each of the Spot types (any
  // of them may be launched), everything above `onDemandBase` Spot. On-Demand: the template as is.
  const launch: Pick<aws.autoscaling.GroupArgs, "launchTemplate" | "mixedInstancesPolicy" | "warmPool" | "capacityRebalance"> = capacity.kind === "spot"
    ? {
      // Capacity Rebalancing: on a rebalance recommendation Auto Scaling launches a replacement
      // and then terminates the at-risk instance through the termination hook. The worker there
      // has already drained and exited (VIDPIPE_SPOT_NOTICES=imds); without this the instance
      // would sit, workerless and out of KillMe, until EC2 reclaims it.
      capacityRebalance: true,
      mixedInstancesPolicy: {
        instancesDistribution: {
          onDemandBaseCapacity: capacity.onDemandBase,
          onDemandPercentageAboveBaseCapacity: 0,
          spotAllocationStrategy
        },
        launchTemplate: {
          launchTemplateSpecification: { launchTemplateId: launchTemplate.id, version: templateVersion },
          overrides: capacity.instanceTypes.map((instanceType) => ({ instanceType }))
        }
      }
    }
    : {
      launchTemplate: { id: launchTemplate.id, version: templateVersion },
      ...(warmPool === undefined ? {} : {
        warmPool: {
          poolState: "Stopped",
          // The same minimum and maximum prepared capacity: exactly `size` stopped instances,
          // whatever the desired capacity (user guide: "the warm pool will have an absolute size").
          minSize: warmPool.size,
          maxGroupPreparedCapacity: warmPool.size,
          // Scale-in returns an instance (an idle one: the protector names no other) to the pool
          // through the termination hook, paused at Warmed:Pending:Wait; the worker drains on a
          // `Warmed:*` target state as on `Terminated` and completes the hook (AutoScalingFleetControl).
          instanceReusePolicy: { reuseOnScaleIn: warmPool.reuseOnScaleIn }
        }
      })
    }

  const group = new aws.autoscaling.Group("Workers", {
    name: autoScalingGroupName,
    minSize: settings.worker.min,
    maxSize: settings.worker.max,
    vpcZoneIdentifiers: network.privateSubnetIds,
    ...launch,
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

  // Instances bound for the warm pool pass through launch hooks too (Warmed:Pending:Wait), and
  // "Amazon EC2 Auto Scaling does not wait for user data to finish running" before stopping them:
  // this hook keeps each one running until its boot script completes it, at every boot (everyBoot),
  // so a warm start waits for it too (Pending:Wait). One that never completes it is replaced
  // rather than stopped into the pool half-configured. The first instances may launch before the
  // hook exists; their boot script then runs again at their warm start.
  const prepareHook = warmPool === undefined ? undefined : new aws.autoscaling.LifecycleHook("WorkerPrepare", {
    name: prepareHookName,
    autoscalingGroupName: group.name,
    lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
    heartbeatTimeout: prepareHeartbeatSeconds,
    defaultResult: "ABANDON"
  })

  return { redisUrlParameter, role, dataPolicy, fleetPolicy, instanceProfile, securityGroup, launchTemplate, group, drainHook, prepareHook }
}

export type WorkerFleet = ReturnType<typeof workerFleet>
