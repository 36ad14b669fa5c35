/**
 * sst.config.ts itself, under Pulumi's runtime mocks with stand-ins for SST's globals (`$config`,
 * `$app`, `sst.aws.Vpc`/`Redis`/`Function`, which exist only inside SST's runtime): `app()` per
 * stage, and `run()` through the SST-only paths (infra/network.ts, `sstFunctions`) into the stack.
 * The stand-ins record the arguments SST's components are given; the real components are not
 * exercised here (see docs/deploy.md, "Known gaps").
 */
import * as fs from "node:fs"
import * as pulumi from "@pulumi/pulumi"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const globals = globalThis as Record<string, unknown>
const componentArgs = new Map<string, { kind: string; args: any }>()

class Vpc {
  readonly id = pulumi.output("vpc-0abc")
  readonly publicSubnets = pulumi.output(["subnet-pub-a", "subnet-pub-b"])
  readonly privateSubnets = pulumi.output(["subnet-a", "subnet-b"])
  readonly securityGroups = pulumi.output(["sg-vpc"])
  constructor(name: string, args: unknown) {
    componentArgs.set(name, { kind: "Vpc", args })
  }
}

class Redis {
  readonly host = pulumi.output("master.vidpipe.cache.amazonaws.com")
  readonly port = pulumi.output(6379)
  readonly username = pulumi.output("default")
  readonly password = pulumi.secret("p@ss/word")
  constructor(name: string, args: unknown) {
    componentArgs.set(name, { kind: "Redis", args })
  }
}

class Function {
  readonly name: pulumi.Output<string>
  readonly arn: pulumi.Output<string>
  readonly nodes: { function: { invokeArn: pulumi.Output<string>; version: pulumi.Output<string> } }
  constructor(name: string, args: any) {
    componentArgs.set(name, { kind: "Function", args })
    const arn = `arn:aws:lambda:us-east-1:123456789012:function:vidpipe-dev-${name}`
    this.name = pulumi.output(`vidpipe-dev-${name}`)
    this.arn = pulumi.output(arn)
    this.nodes = { function: { invokeArn: pulumi.output(`${arn}/invocations`), version: pulumi.output(args.versioning ? "3" : "$LATEST") } }
  }
}

const resolve = <T>(value: pulumi.Input<T>) => new Promise<T>((done) => pulumi.output(value).apply((v) => done(v as T)))

const deployEnv = {
  VIDPIPE_DEPLOY_WORKER_AMI: "ami-0123456789abcdef0"
}

let config: { app: (input: { stage: string }) => any; run: () => Promise<Record<string, unknown> | void> }
let outputs: Record<string, unknown>

beforeAll(async () => {
  await pulumi.runtime.setMocks({
    newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, arn: `arn:aws:mock:::${args.name}`, url: `https://sqs.us-east-1.amazonaws.com/123456789012/${args.inputs["name"]}` } }),
    call: (args) => {
      switch (args.token) {
        case "aws:ec2/getVpc:getVpc":
          return { id: args.inputs["id"], cidrBlock: "10.0.0.0/16" }
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/deployer", userId: "AIDA", id: "123456789012" }
        case "aws:index/getPartition:getPartition":
          return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: "aws" }
        case "aws:index/getRegion:getRegion":
          return { region: "us-east-1", name: "us-east-1", id: "us-east-1", description: "", endpoint: "" }
        default:
          throw new Error(`unexpected call ${args.token}`)
      }
    }
  }, "vidpipe", "dev", false)
  globals["$config"] = (input: unknown) => input
  globals["$app"] = { name: "vidpipe", stage: "dev", removal: "remove", protect: false }
  globals["sst"] = { aws: { Vpc, Redis, Function } }
  Object.assign(process.env, deployEnv)
  config = (await import("../sst.config.ts")).default as typeof config
  outputs = (await config.run()) ?? {}
  await Promise.all(Object.values(outputs).map((o) => resolve(o as pulumi.Input<unknown>)))
})

afterAll(() => {
  for (const name of Object.keys(deployEnv)) delete process.env[name]
  for (const name of ["$config", "$app", "sst"]) delete globals[name]
})

describe("sst.config.ts", () => {
  it("has no top-level imports (SST refuses them) and imports the infra/ areas in run()", () => {
    const source = fs.readFileSync("sst.config.ts", "utf8")
    expect(source).not.toMatch(/^\s*import\s/m)
    expect([...source.matchAll(/await import\("(\.\/infra\/[a-z]+\.ts)"\)/g)].map((m) => m[1])).toEqual([
      "./infra/settings.ts",
      "./infra/network.ts",
      "./infra/lambdas.ts",
      "./infra/stack.ts"
    ])
  })

  it("keeps and protects production, removes other stages, and pins the AWS provider package.json pins", () => {
    const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"))
    expect(config.app({ stage: "production" })).toMatchObject({ name: "vidpipe", home: "aws", removal: "retain", protect: true })
    expect(config.app({ stage: "dev" })).toMatchObject({ removal: "remove", protect: false })
    expect(config.app({ stage: "dev" }).providers.aws.version).toBe(pkg.devDependencies["@pulumi/aws"])
  })

  it("makes the VPC with NAT and a single-shard, non-evicting Redis in it", () => {
    expect(componentArgs.get("Vpc")).toEqual({ kind: "Vpc", args: { az: 2, nat: "ec2" } })
    const redis = componentArgs.get("Redis")?.args
    expect(redis.vpc).toBeInstanceOf(Vpc)
    expect(redis).toMatchObject({ engine: "redis", cluster: false, instance: "t4g.micro", parameters: { "maxmemory-policy": "noeviction" } })
  })

  it("makes the four Lambdas as SST Functions in the VPC, with the grants and settings of their specs", async () => {
    const functions = [...componentArgs.entries()].filter(([, c]) => c.kind === "Function")
    expect(functions.map(([name]) => name).sort()).toEqual(["Api", "Ingest", "Protector", "Sweeper"])
    for (const [name, { args }] of functions) {
      expect(args.runtime, name).toBe("nodejs22.x")
      expect(args.vpc, name).toBeInstanceOf(Vpc)
      expect(args.timeout, name).toMatch(/^\d+ seconds$/)
      expect(args.memory, name).toMatch(/^\d+ MB$/)
      expect(args.versioning, name).toBe(name === "Protector")
    }
    expect(componentArgs.get("Protector")?.args.timeout).toBe("2 seconds")
    const api = componentArgs.get("Api")?.args
    expect(await resolve(api.environment["VIDPIPE_COORDINATOR"])).toBe("rediss://default:p%40ss%2Fword@master.vidpipe.cache.amazonaws.com:6379/0")
    // Workers probe uploads: no Lambda carries a layer (no ffprobe build to deploy first).
    for (const [name, { kind, args }] of componentArgs) if (kind === "Function") expect(args.layers, name).toBeUndefined()
  })

  it("gives each Lambda exactly its grants: these actions on these resources, nothing else", async () => {
    // The mocks give every resource `arn:aws:mock:::<logical name>`.
    const arn = (logical: string) => `arn:aws:mock:::${logical}`
    const allow = (actions: Array<string>, resources: Array<string>) => ({ effect: "allow", actions, resources })
    const writeOutputs = [
      allow(["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], [`${arn("Outputs")}/*`]),
      allow(["s3:ListBucket"], [arn("Outputs")])
    ]
    const expected: Record<string, Array<unknown>> = {
      Api: [
        allow(["s3:PutObject", "s3:DeleteObject"], [`${arn("Uploads")}/*`]),
        allow(["s3:DeleteObject"], [`${arn("Outputs")}/*`]),
        allow(["s3:ListBucket"], [arn("Outputs")]),
        allow(["sqs:SendMessage"], [arn("Tasks")]),
        allow(["cloudfront:CreateInvalidation"], [arn("Delivery")])
      ],
      // It only sends the plan task; the worker that plans reads the source.
      Ingest: [allow(["sqs:SendMessage"], [arn("Tasks")])],
      // Nothing beyond its VPC access: it reads Redis only.
      Protector: [],
      Sweeper: [
        ...writeOutputs,
        allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:SendMessage"], [arn("Tasks")]),
        allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], [arn("TasksDeadLetter")])
      ]
    }
    const granted: Record<string, Array<unknown>> = {}
    for (const [name, { kind, args }] of componentArgs) {
      if (kind !== "Function") continue
      granted[name] = await Promise.all(args.permissions.map(async (permission: any) => ({ ...permission, resources: await Promise.all(permission.resources.map(resolve)) })))
    }
    expect(granted).toEqual(expected)
    // An empty list proves nothing for a function that must reach its resources.
    for (const name of ["Api", "Ingest", "Sweeper"]) expect(granted[name]?.length, name).toBeGreaterThan(0)
  })

  it("returns the stack's outputs", () => {
    expect(Object.keys(outputs).sort()).toEqual(["api", "apiKeyId", "deadLetterQueue", "delivery", "outputsBucket", "queue", "uploadsBucket", "workers"])
  })
})
