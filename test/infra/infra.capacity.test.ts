/**
 * The worker fleet On-Demand (infra/fleet.ts) under Pulumi's runtime mocks: with a warm pool, the
 * group keeps that many stopped instances with the chosen reuse policy, launches from its template
 * with no mixed instances policy, holds launches at a `prepare` hook the boot script completes
 * at every boot, and gives the workers no Spot interruption watcher. Without one, none of that.
 * The Spot default is in infra.test.ts; the refused Spot + warm pool there too.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as aws from "@pulumi/aws"
import * as pulumi from "@pulumi/pulumi"
import { beforeAll, describe, expect, it } from "vitest"

interface Registered {
  readonly type: string
  readonly name: string
  readonly inputs: Record<string, any>
}

const region = "us-east-1"
const account = "123456789012"

/** Each fleet in a stack of its own (the same logical names twice in one stack would clash). */
const stacks = new Map<string, Array<Registered>>()

const resolve = <T>(output: pulumi.Output<T>) => new Promise<T>((done) => output.apply(done))

const fleetFor = async (stack: string, env: Record<string, string>) => {
  const registered: Array<Registered> = []
  stacks.set(stack, registered)
  await pulumi.runtime.setMocks({
    newResource: (args) => {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs })
      const latest = args.type === "aws:ec2/launchTemplate:LaunchTemplate" ? { latestVersion: 1 } : {}
      return { id: `${args.name}-id`, state: { ...args.inputs, ...latest, arn: `arn:aws:mock:${region}:${account}:${args.name}` } }
    },
    call: (args) => ({ ...args.inputs })
  }, "vidpipe", stack, false)
  const { deploySettings } = await import("../../infra/settings.ts")
  const { workerFleet } = await import("../../infra/fleet.ts")
  const settings = deploySettings({ VIDPIPE_DEPLOY_WORKER_AMI: "ami-0123456789abcdef0", ...env }, { name: "vidpipe", stage: "test" })
  const permission = new aws.lambda.Permission("ProtectorInvokedByAutoScaling", { action: "lambda:InvokeFunction", function: "vidpipe-test-Protector", principal: "autoscaling.amazonaws.com" })
  const fleet = workerFleet(settings, {
    account: { accountId: pulumi.output(account), partition: pulumi.output("aws"), region: pulumi.output(region) },
    network: { vpcId: "vpc-0abc", privateSubnetIds: ["subnet-a", "subnet-b"], cidrBlock: "10.0.0.0/16", redisUrl: pulumi.secret("rediss://default:token@redis:6379/0") },
    data: { uploadsBucketArn: "arn:aws:s3:::up", outputsBucketArn: "arn:aws:s3:::out", queueArn: "arn:aws:sqs:q", deadLetterQueueArn: "arn:aws:sqs:dlq", distributionArn: "arn:aws:cloudfront::d" },
    backends: { VIDPIPE_AUTOSCALING_GROUP: "vidpipe-test-workers", VIDPIPE_QUEUE: `sqs://sqs.${region}.amazonaws.com/${account}/vidpipe-test-tasks.fifo` },
    protectorAliasArn: `arn:aws:lambda:${region}:${account}:function:vidpipe-test-Protector:live`,
    protectorInvokePermission: permission
  })
  // Every resource registered (its inputs resolved) before the assertions read them.
  await Promise.all(Object.values(fleet).flatMap((r) => (r === undefined ? [] : [resolve(r.urn)])))
  const named = (type: string, name: string) => {
    const found = registered.find((r) => r.type === type && r.name === name)
    if (found === undefined) throw new Error(`${stack}: no ${type} ${name}`)
    return found.inputs
  }
  const userData = Buffer.from(named("aws:ec2/launchTemplate:LaunchTemplate", "WorkerTemplate")["userData"], "base64").toString("utf8")
  return { registered, group: named("aws:autoscaling/group:Group", "Workers"), userData }
}

let warm: Awaited<ReturnType<typeof fleetFor>>
let plain: Awaited<ReturnType<typeof fleetFor>>

beforeAll(async () => {
  // Reuse off: the default (on) is in the settings test; this one shows the setting reaches the group.
  warm = await fleetFor("warm", { VIDPIPE_DEPLOY_CAPACITY: "on-demand", VIDPIPE_DEPLOY_WARM_POOL: "3", VIDPIPE_DEPLOY_WARM_POOL_REUSE: "false" })
  plain = await fleetFor("plain", { VIDPIPE_DEPLOY_CAPACITY: "on-demand" })
})

/** The shell script inside the MIME user data (the part after the x-shellscript headers). */
const scriptPart = (userData: string) => {
  const start = userData.indexOf("#!/bin/bash\n")
  const end = userData.lastIndexOf("\n--vidpipe-boot--")
  if (start < 0 || end < start) throw new Error("no shell script part")
  return userData.slice(start, end + 1)
}

describe("On-Demand workers with a warm pool", () => {
  it("keep exactly N stopped instances with the reuse policy, from the launch template, with no mixed instances policy", () => {
    expect(warm.group["warmPool"]).toEqual({ poolState: "Stopped", minSize: 3, maxGroupPreparedCapacity: 3, instanceReusePolicy: { reuseOnScaleIn: false } })
    expect(warm.group["mixedInstancesPolicy"]).toBeUndefined()
    expect(warm.group["capacityRebalance"]).toBeUndefined()
    expect(warm.group["launchTemplate"]).toEqual({ id: "WorkerTemplate-id", version: "1" })
    expect(warm.registered.find((r) => r.name === "WorkerTemplate")?.inputs["instanceType"]).toBe("c7i.large")
  })

  it("hold every launch at a prepare hook until the boot script has configured the instance", () => {
    const hooks = warm.registered.filter((r) => r.type === "aws:autoscaling/lifecycleHook:LifecycleHook").map((r) => r.inputs)
    expect(hooks).toContainEqual({
      name: "prepare",
      autoscalingGroupName: "vidpipe-test-workers",
      lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
      heartbeatTimeout: 300,
      defaultResult: "ABANDON"
    })
    expect(hooks.map((h) => h["name"]).sort()).toEqual(["drain", "prepare"])
  })

  it("boot with a script run at every boot that starts the worker only in service and completes the hook", () => {
    // AWS's way to run user data at every boot, so a warm start completes the hook again.
    expect(warm.userData).toMatch(/^Content-Type: multipart\/mixed; boundary="vidpipe-boot"\n/)
    expect(warm.userData).toContain("#cloud-config\ncloud_final_modules:\n- [scripts-user, always]\n")
    const script = scriptPart(warm.userData)
    expect(script).toContain("/latest/meta-data/autoscaling/target-lifecycle-state")
    expect(script).toMatch(/if \[\[ "\$target" == Warmed:\* \]\]; then\n  systemctl enable vidpipe-worker.service\nelse\n  systemctl enable --now vidpipe-worker.service\nfi\n/)
    expect(script).toContain(
      "autoscaling complete-lifecycle-action --auto-scaling-group-name 'vidpipe-test-workers' --lifecycle-hook-name 'prepare' --lifecycle-action-result CONTINUE --instance-id \"$instance_id\""
    )
    // The configuration is written before the hook is completed (then the instance may be stopped).
    expect(script.indexOf("mv -f /etc/vidpipe/worker.env.new /etc/vidpipe/worker.env")).toBeLessThan(script.indexOf("complete-lifecycle-action"))
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vidpipe-userdata-"))
    fs.writeFileSync(path.join(dir, "boot.sh"), script)
    const check = spawnSync("bash", ["-n", path.join(dir, "boot.sh")], { encoding: "utf8" })
    expect(check.status, check.stderr).toBe(0)
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("give the workers no Spot interruption watcher", () => {
    expect(warm.userData).not.toContain("VIDPIPE_SPOT_NOTICES")
    expect(warm.userData).toContain("VIDPIPE_FLEET=autoscaling\n")
  })
})

describe("On-Demand workers without a warm pool", () => {
  it("launch from the template alone, once, with no prepare hook and no interruption watcher", () => {
    expect(plain.group["warmPool"]).toBeUndefined()
    expect(plain.group["mixedInstancesPolicy"]).toBeUndefined()
    expect(plain.group["launchTemplate"]).toEqual({ id: "WorkerTemplate-id", version: "1" })
    expect(plain.registered.filter((r) => r.type === "aws:autoscaling/lifecycleHook:LifecycleHook").map((r) => r.inputs["name"])).toEqual(["drain"])
    expect(plain.userData.startsWith("#!/bin/bash\n")).toBe(true)
    expect(plain.userData).toContain("systemctl enable --now vidpipe-worker.service\n")
    expect(plain.userData).not.toContain("complete-lifecycle-action")
    expect(plain.userData).not.toContain("VIDPIPE_SPOT_NOTICES")
  })
})
