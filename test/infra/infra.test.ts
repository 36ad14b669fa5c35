/**
 * The infrastructure graph under Pulumi's runtime mocks (no Pulumi CLI, no AWS): infra/stack.ts
 * builds every raw resource with stand-ins for what only SST makes (the VPC with Redis, and the
 * Lambda functions, recorded as specs). The assertions read the inputs each resource was
 * registered with: the FIFO queue and its redrive, API keys on every method but the keyless CORS
 * preflight, the protector as the group's first termination policy and who may invoke it, a
 * private outputs bucket behind CloudFront, IMDSv2, a worker role granted exactly its actions
 * on exactly its resources, the workers on Spot by default (a mixed instances policy, interruption
 * notices on), and the webhook dispatcher Lambda on its one-minute schedule.
 */
import { createHash } from "node:crypto"
import * as path from "node:path"
import * as pulumi from "@pulumi/pulumi"
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch"
import { mockClient } from "aws-sdk-client-mock"
import { ConfigProvider, Effect } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { defaultScalingSettings } from "../../src/domain/ScalingPolicy.ts"
import { defaultWindowMillis } from "../../src/entry/lambda/webhooksHandler.ts"
import { makeCloudWatchMetrics } from "../../src/layers/aws/CloudWatchMetrics.ts"
import { defaultPipelineSettings } from "../../src/services/PipelineSettings.ts"

const account = "123456789012"
const region = "us-east-1"

interface Registered {
  readonly type: string
  readonly name: string
  readonly inputs: Record<string, any>
}

const registered: Array<Registered> = []

/** What AWS would compute for a resource, enough for the ARNs and names the stack passes around. */
const computed = (type: string, name: string, inputs: Record<string, any>): Record<string, unknown> => {
  switch (type) {
    case "aws:s3/bucket:Bucket": {
      const bucket = `${inputs["bucketPrefix"]}mock`
      return { bucket, arn: `arn:aws:s3:::${bucket}`, bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com` }
    }
    case "aws:sqs/queue:Queue":
      return { url: `https://sqs.${region}.amazonaws.com/${account}/${inputs["name"]}`, arn: `arn:aws:sqs:${region}:${account}:${inputs["name"]}` }
    case "aws:lambda/alias:Alias":
      return { arn: `arn:aws:lambda:${region}:${account}:function:${inputs["functionName"]}:${inputs["name"]}` }
    case "aws:autoscaling/group:Group":
      return { arn: `arn:aws:autoscaling:${region}:${account}:autoScalingGroup:0f1e2d3c:autoScalingGroupName/${inputs["name"]}` }
    case "aws:ssm/parameter:Parameter":
      return { arn: `arn:aws:ssm:${region}:${account}:parameter${inputs["name"]}` }
    case "aws:apigateway/restApi:RestApi":
      return { rootResourceId: "root", executionArn: `arn:aws:execute-api:${region}:${account}:api123` }
    case "aws:apigateway/apiKey:ApiKey":
      return { value: "generated-api-key" }
    case "aws:apigateway/stage:Stage":
      return { invokeUrl: `https://api123.execute-api.${region}.amazonaws.com/${inputs["stageName"]}` }
    case "aws:cloudfront/distribution:Distribution":
      return { domainName: "d111111abcdef8.cloudfront.net", arn: `arn:aws:cloudfront::${account}:distribution/E2MOCK` }
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { latestVersion: 1 }
    case "aws:cloudwatch/eventRule:EventRule":
      // Unnamed rules get a generated name; the logical name stands in for it.
      return { name, arn: `arn:aws:events:${region}:${account}:rule/${name}` }
    case "aws:iam/instanceProfile:InstanceProfile":
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::${account}:${type.endsWith("Role") ? "role" : "instance-profile"}/${name}`, name }
    default:
      return { arn: `arn:aws:mock:${region}:${account}:${name}` }
  }
}

const functionArn = (name: string) => `arn:aws:lambda:${region}:${account}:function:vidpipe-test-${name}`

/** Every Pulumi resource reachable from the stack's return value. */
const resourcesIn = (value: unknown, seen = new Set<unknown>()): Array<pulumi.Resource> => {
  if (value === null || typeof value !== "object" || seen.has(value)) return []
  seen.add(value)
  if (pulumi.Resource.isInstance(value)) return [value]
  if (pulumi.Output.isInstance(value)) return []
  return Object.values(value).flatMap((v) => resourcesIn(v, seen))
}

const resolve = <T>(output: pulumi.Output<T>) => new Promise<T>((done) => output.apply(done))

const ofType = (type: string) => registered.filter((r) => r.type === type)
const named = (type: string, name: string) => {
  const found = registered.find((r) => r.type === type && r.name === name)
  if (found === undefined) throw new Error(`no ${type} ${name}; registered: ${registered.map((r) => `${r.type} ${r.name}`).join(", ")}`)
  return found
}

type Statement = { Sid: string; Effect: string; Action: Array<string>; Resource: Array<string>; Principal?: unknown; Condition?: Record<string, Record<string, Array<string>>> }
const statements = (policy: string): Array<Statement> => JSON.parse(policy).Statement

let stack: typeof import("../../infra/stack.ts")["vidpipeStack"] extends (...args: any) => infer R ? R : never
let settings: import("../../infra/settings.ts").DeploySettings
let fleetModule: typeof import("../../infra/fleet.ts")
const specs = new Map<string, import("../../infra/lambdas.ts").FunctionSpec>()

beforeAll(async () => {
  await pulumi.runtime.setMocks({
    newResource: (args) => {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs })
      // CloudFront's ids are upper-case letters and digits (the API Lambda's VIDPIPE_CDN holds one).
      const id = args.type === "aws:cloudfront/distribution:Distribution" ? "E2MOCK" : `${args.name}-id`
      return { id, state: { ...args.inputs, ...computed(args.type, args.name, args.inputs) } }
    },
    call: (args) => {
      switch (args.token) {
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return { accountId: account, arn: `arn:aws:iam::${account}:user/deployer`, userId: "AIDA", id: account }
        case "aws:index/getPartition:getPartition":
          return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: "aws" }
        case "aws:index/getRegion:getRegion":
          return { region, name: region, id: region, description: "US East (N. Virginia)", endpoint: `ec2.${region}.amazonaws.com` }
        default:
          throw new Error(`unexpected call ${args.token}`)
      }
    }
  }, "vidpipe", "test", false)

  const { deploySettings } = await import("../../infra/settings.ts")
  const { vidpipeStack } = await import("../../infra/stack.ts")
  fleetModule = await import("../../infra/fleet.ts")
  settings = deploySettings(
    { VIDPIPE_DEPLOY_WORKER_AMI: "ami-0123456789abcdef0" },
    { name: "vidpipe", stage: "test" }
  )
  stack = vidpipeStack(settings, {
    network: {
      vpcId: "vpc-0abc",
      privateSubnetIds: ["subnet-a", "subnet-b"],
      cidrBlock: "10.0.0.0/16",
      redisUrl: pulumi.secret("rediss://default:token@master.redis.cache.amazonaws.com:6379/0")
    },
    makeFunction: (name, spec) => {
      specs.set(name, spec)
      const arn = functionArn(name)
      return {
        name: pulumi.output(`vidpipe-test-${name}`),
        arn: pulumi.output(arn),
        invokeArn: pulumi.output(`arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${arn}/invocations`),
        version: pulumi.output(spec.publish ? "7" : "$LATEST")
      }
    }
  })
  // Every resource registered (its inputs resolved) before the assertions read them.
  await Promise.all(resourcesIn(stack).map((r) => resolve(r.urn)))
})

describe("SQS FIFO task queue", () => {
  it("is FIFO with a FIFO dead-letter queue, a redrive policy with maxReceiveCount, and the worker's visibility timeout", () => {
    const queue = named("aws:sqs/queue:Queue", "Tasks").inputs
    const dlq = named("aws:sqs/queue:Queue", "TasksDeadLetter").inputs
    expect(queue["fifoQueue"]).toBe(true)
    expect(queue["name"]).toBe("vidpipe-test-tasks.fifo")
    expect(dlq["fifoQueue"]).toBe(true)
    expect(dlq["name"]).toBe("vidpipe-test-tasks-dlq.fifo")
    expect(queue["contentBasedDeduplication"]).toBe(false)
    const redrive = JSON.parse(queue["redrivePolicy"])
    expect(redrive).toEqual({ deadLetterTargetArn: `arn:aws:sqs:${region}:${account}:vidpipe-test-tasks-dlq.fifo`, maxReceiveCount: defaultPipelineSettings.maxReceiveCount })
    // The queue's visibility is the workers' (VIDPIPE_VISIBILITY_SECONDS), three heartbeats long.
    expect(queue["visibilityTimeoutSeconds"]).toBe(60)
    expect(specs.get("Sweeper")?.environment["VIDPIPE_VISIBILITY_SECONDS"]).toBe("60")
    expect(specs.get("Sweeper")?.environment["VIDPIPE_HEARTBEAT_SECONDS"]).toBe("20")
    expect(queue["visibilityTimeoutSeconds"]).toBeGreaterThanOrEqual(3 * settings.pipeline.heartbeatSeconds)
    expect(dlq["messageRetentionSeconds"]).toBeGreaterThan(queue["messageRetentionSeconds"])
    const allow = JSON.parse(named("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "TasksDeadLetterRedriveAllow").inputs["redriveAllowPolicy"])
    expect(allow).toEqual({ redrivePermission: "byQueue", sourceQueueArns: [`arn:aws:sqs:${region}:${account}:vidpipe-test-tasks.fifo`] })
  })
})

describe("API Gateway REST API", () => {
  it("requires an API key on every method but the CORS preflight, with a usage plan (throttle and quota) holding the key", () => {
    const methods = ofType("aws:apigateway/method:Method")
    expect(methods.map((m) => m.inputs["httpMethod"]).sort()).toEqual(["ANY", "OPTIONS"])
    for (const method of methods) {
      // A browser's preflight carries no x-api-key; everything else needs one.
      expect(method.inputs["apiKeyRequired"], method.name).toBe(method.inputs["httpMethod"] !== "OPTIONS")
      expect(method.inputs["authorization"], method.name).toBe("NONE")
    }
    const plan = named("aws:apigateway/usagePlan:UsagePlan", "ApiUsagePlan").inputs
    expect(plan["throttleSettings"]).toEqual({ rateLimit: 10, burstLimit: 20 })
    expect(plan["quotaSettings"]).toEqual({ limit: 10_000, period: "DAY" })
    expect(plan["apiStages"]).toEqual([{ apiId: "Api-id", stage: "live" }])
    const planKey = named("aws:apigateway/usagePlanKey:UsagePlanKey", "ApiUsagePlanKey").inputs
    expect(planKey).toMatchObject({ keyId: "ApiKey-id", keyType: "API_KEY", usagePlanId: "ApiUsagePlan-id" })
    expect(named("aws:apigateway/restApi:RestApi", "Api").inputs["apiKeySource"]).toBe("HEADER")
  })

  it("refuses a missing or wrong key, an unknown route and throttling in the API's own error shape", () => {
    const responses: Record<string, any> = Object.fromEntries(ofType("aws:apigateway/response:Response").map((r) => [r.inputs["responseType"], r.inputs]))
    expect(Object.keys(responses).sort()).toEqual(["INVALID_API_KEY", "MISSING_AUTHENTICATION_TOKEN", "QUOTA_EXCEEDED", "THROTTLED"])
    expect(responses["INVALID_API_KEY"]!["statusCode"]).toBe("403")
    for (const response of Object.values(responses)) {
      const body = JSON.parse(response["responseTemplates"]["application/json"])
      expect(Object.keys(body.error).sort()).toEqual(["_tag", "message"])
    }
    expect(JSON.parse(responses["INVALID_API_KEY"]!["responseTemplates"]["application/json"]).error._tag).toBe("InvalidApiKey")
  })

  it("sends the keyless preflight to the API Lambda, which answers CORS, throttled at the stage", () => {
    const preflight = named("aws:apigateway/integration:Integration", "ApiV1ProxyOptionsLambda").inputs
    expect(preflight).toMatchObject({ type: "AWS_PROXY", integrationHttpMethod: "POST", httpMethod: "OPTIONS" })
    expect(preflight["uri"]).toContain(functionArn("Api"))
    const throttle = named("aws:apigateway/methodSettings:MethodSettings", "ApiPreflightThrottle").inputs
    expect(throttle).toMatchObject({ stageName: "live", methodPath: "v1/{proxy+}/OPTIONS", settings: { throttlingRateLimit: 10, throttlingBurstLimit: 20 } })
    // No origin is allowed unless the deploy names some (the routes' default is none too).
    expect(specs.get("Api")?.environment["VIDPIPE_CORS_ORIGINS"]).toBeUndefined()
  })

  it("proxies /v1/* to the API Lambda, which gets the key too", () => {
    const integration = named("aws:apigateway/integration:Integration", "ApiV1ProxyLambda").inputs
    expect(integration).toMatchObject({ type: "AWS_PROXY", integrationHttpMethod: "POST" })
    expect(integration["uri"]).toContain(functionArn("Api"))
    const invoke = named("aws:lambda/permission:Permission", "ApiInvokesLambda").inputs
    expect(invoke).toMatchObject({ principal: "apigateway.amazonaws.com", function: "vidpipe-test-Api" })
    expect(specs.get("Api")?.handler).toBe("src/entry/lambda/apiHandler.handler")
  })
})

describe("Auto Scaling group and the protector", () => {
  it("has the protector alias as its first termination policy, then Default; new instances are protected from scale-in", () => {
    const group = named("aws:autoscaling/group:Group", "Workers").inputs
    const aliasArn = `arn:aws:lambda:${region}:${account}:function:vidpipe-test-Protector:live`
    expect(group["terminationPolicies"]).toEqual([aliasArn, "Default"])
    expect(group["protectFromScaleIn"]).toBe(true)
    const alias = named("aws:lambda/alias:Alias", "ProtectorLive").inputs
    expect(alias).toMatchObject({ functionName: "vidpipe-test-Protector", functionVersion: "7", name: "live" })
    expect(specs.get("Protector")?.publish).toBe(true)
  })

  it("lets the Auto Scaling service-linked role (the group's own) invoke that alias", () => {
    const serviceRole = `arn:aws:iam::${account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`
    const permission = named("aws:lambda/permission:Permission", "ProtectorInvokedByAutoScaling").inputs
    expect(permission).toMatchObject({ action: "lambda:InvokeFunction", function: "vidpipe-test-Protector", qualifier: "live", principal: serviceRole })
    expect(named("aws:autoscaling/group:Group", "Workers").inputs["serviceLinkedRoleArn"]).toBe(serviceRole)
  })

  it("answers within Auto Scaling's 2 s: a 2 s timeout, a 1.5 s budget, one provisioned environment on the alias", () => {
    const protector = specs.get("Protector")
    expect(protector?.timeoutSeconds).toBe(2)
    expect(Number(protector?.environment["VIDPIPE_PROTECTOR_BUDGET_MS"])).toBeLessThan(2000)
    expect(named("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig", "ProtectorProvisioned").inputs).toEqual({
      functionName: "vidpipe-test-Protector",
      qualifier: "live",
      provisionedConcurrentExecutions: 1
    })
  })

  it("keeps the protector warm every 4 minutes through the same alias", () => {
    expect(named("aws:cloudwatch/eventRule:EventRule", "ProtectorWarmUp").inputs["scheduleExpression"]).toBe("rate(4 minutes)")
    expect(named("aws:cloudwatch/eventTarget:EventTarget", "ProtectorWarmUpTarget").inputs["arn"]).toBe(
      `arn:aws:lambda:${region}:${account}:function:vidpipe-test-Protector:live`
    )
    expect(named("aws:lambda/permission:Permission", "ProtectorWarmUpInvoke").inputs).toMatchObject({ principal: "events.amazonaws.com", qualifier: "live" })
  })

  it("drains on termination: a lifecycle hook outlasting systemd's stop timeout, which outlasts the drain", () => {
    const hook = named("aws:autoscaling/lifecycleHook:LifecycleHook", "WorkerDrain").inputs
    expect(hook).toMatchObject({ lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING", defaultResult: "CONTINUE", name: "drain" })
    expect(hook["heartbeatTimeout"]).toBeGreaterThan(fleetModule.stopTimeoutSeconds)
    expect(fleetModule.stopTimeoutSeconds).toBeGreaterThan(fleetModule.drainTimeoutSeconds)
  })
})

describe("buckets and CloudFront", () => {
  const bucketName = (logical: string) => `vidpipe-test-${logical.toLowerCase()}-mock`

  it("keeps the outputs bucket private: public access blocked, ACLs off, readable only by this distribution", () => {
    const outputs = bucketName("Outputs")
    for (const logical of ["Outputs", "Uploads"]) {
      const block = named("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", `${logical}PublicAccessBlock`).inputs
      expect(block).toEqual({ bucket: `${logical}-id`, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true })
      expect(named("aws:s3/bucketOwnershipControls:BucketOwnershipControls", `${logical}Ownership`).inputs["rule"]).toEqual({ objectOwnership: "BucketOwnerEnforced" })
    }
    for (const bucket of ofType("aws:s3/bucket:Bucket")) {
      expect(bucket.inputs["acl"], bucket.name).toBeUndefined()
      expect(bucket.inputs["website"], bucket.name).toBeUndefined()
    }
    const policy = statements(named("aws:s3/bucketPolicy:BucketPolicy", "OutputsPolicy").inputs["policy"])
    const allows = policy.filter((s) => s.Effect === "Allow")
    expect(allows).toEqual([{
      Sid: "CloudFrontReads",
      Effect: "Allow",
      Principal: { Service: "cloudfront.amazonaws.com" },
      Action: ["s3:GetObject"],
      Resource: [`arn:aws:s3:::${outputs}/*`],
      Condition: { StringEquals: { "AWS:SourceArn": [`arn:aws:cloudfront::${account}:distribution/E2MOCK`] } }
    }])
    expect(policy.find((s) => s.Effect === "Deny")?.Condition).toEqual({ Bool: { "aws:SecureTransport": ["false"] } })

    const distribution = named("aws:cloudfront/distribution:Distribution", "Delivery").inputs
    expect(distribution["origins"]).toEqual([{
      originId: "outputs",
      domainName: `${outputs}.s3.${region}.amazonaws.com`,
      originAccessControlId: "OutputsOriginAccess-id"
    }])
    expect(named("aws:cloudfront/originAccessControl:OriginAccessControl", "OutputsOriginAccess").inputs).toMatchObject({
      originAccessControlOriginType: "s3",
      signingBehavior: "always",
      signingProtocol: "sigv4"
    })
    expect(distribution["defaultCacheBehavior"]["viewerProtocolPolicy"]).toBe("redirect-to-https")
    expect(specs.get("Api")?.environment["VIDPIPE_DELIVERY_URL"]).toBeDefined()
  })

  it("lets browsers PUT uploads (and read each part's ETag), expires sources, and sends new uploads to ingest", () => {
    const cors = named("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "UploadsCors").inputs["corsRules"]
    expect(cors).toMatchObject([{ allowedMethods: ["PUT"], allowedOrigins: ["*"] }])
    // A browser completing a multipart upload reads each part PUT's ETag: it must be exposed.
    expect(cors[0]["exposeHeaders"]).toEqual(["ETag"])
    const rules = named("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "UploadsLifecycle").inputs["rules"]
    expect(rules).toContainEqual(expect.objectContaining({ id: "expire-sources", status: "Enabled", expiration: { days: 14 } }))
    // Parts of an upload never completed nor aborted are dropped a day after it started.
    expect(rules).toContainEqual(expect.objectContaining({ status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } }))
    // ObjectCreated:* includes s3:ObjectCreated:CompleteMultipartUpload: a multipart source reaches ingest too.
    const notification = named("aws:s3/bucketNotification:BucketNotification", "UploadsNotification").inputs
    expect(notification["lambdaFunctions"]).toEqual([{ lambdaFunctionArn: functionArn("Ingest"), events: ["s3:ObjectCreated:*"] }])
    expect(named("aws:lambda/permission:Permission", "IngestInvokedByUploads").inputs).toMatchObject({
      principal: "s3.amazonaws.com",
      sourceArn: `arn:aws:s3:::${bucketName("Uploads")}`,
      sourceAccount: account
    })
  })
})

describe("worker instances", () => {
  it("require IMDSv2 (tokens, hop limit 1) in the launch template, on the Packer AMI", () => {
    const template = named("aws:ec2/launchTemplate:LaunchTemplate", "WorkerTemplate").inputs
    expect(template["metadataOptions"]).toMatchObject({ httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 })
    expect(template["imageId"]).toBe("ami-0123456789abcdef0")
    expect(template["blockDeviceMappings"][0]["ebs"]["encrypted"]).toBe("true")
  })

  it("have a role whose policies grant exactly the actions on exactly this stack's resources", async () => {
    const bucket = (logical: string) => `arn:aws:s3:::vidpipe-test-${logical}-mock`
    const parameter = `arn:aws:ssm:${region}:${account}:parameter/vidpipe/test/redis-url`
    const group = `arn:aws:autoscaling:${region}:${account}:autoScalingGroup:0f1e2d3c:autoScalingGroupName/vidpipe-test-workers`
    const policies = ["WorkerData", "WorkerFleet"].map((name) => named("aws:iam/rolePolicy:RolePolicy", name).inputs)
    for (const policy of policies) expect(policy["role"]).toBe("WorkerRole-id")
    const all = policies.flatMap((p) => statements(p["policy"]))
    // Every statement, whole: a grant dropped, added, widened or moved to another resource fails.
    const allow = (Sid: string, Action: Array<string>, Resource: Array<string>, Condition?: Statement["Condition"]) =>
      ({ Sid, Effect: "Allow", Action, Resource, ...(Condition === undefined ? {} : { Condition }) })
    expect(all).toEqual([
      allow("ReadSources", ["s3:GetObject"], [`${bucket("uploads")}/*`]),
      allow("OutputObjects", ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], [`${bucket("outputs")}/*`]),
      allow("OutputListing", ["s3:ListBucket"], [bucket("outputs")]),
      allow(
        "TaskQueue",
        ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:SendMessage"],
        [`arn:aws:sqs:${region}:${account}:vidpipe-test-tasks.fifo`]
      ),
      // Workers sweep too: each dead letter is recorded on its job, then deleted.
      allow("DeadLetters", ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], [`arn:aws:sqs:${region}:${account}:vidpipe-test-tasks-dlq.fifo`]),
      allow("RedisUrl", ["ssm:GetParameter"], [parameter]),
      allow("PipelineMetrics", ["cloudwatch:PutMetricData"], ["*"], { StringEquals: { "cloudwatch:namespace": ["Vidpipe"] } }),
      allow("OwnGroup", ["autoscaling:SetInstanceProtection", "autoscaling:CompleteLifecycleAction"], [group])
    ])
    for (const statement of all) {
      expect(statement.Effect).toBe("Allow")
      for (const action of statement.Action) expect(action, statement.Sid).not.toMatch(/\*/)
      if (statement.Resource.includes("*")) {
        // Only PutMetricData, which has no resource ARNs, limited to the pipeline's namespace.
        expect(statement.Action).toEqual(["cloudwatch:PutMetricData"])
        expect(statement.Condition).toEqual({ StringEquals: { "cloudwatch:namespace": ["Vidpipe"] } })
      }
    }
    const dataActions = all.flatMap((s) => s.Action).filter((a) => /^(s3|sqs|ssm|autoscaling):/.test(a))
    expect(dataActions.length).toBeGreaterThan(0)
    const instanceProfile = named("aws:iam/instanceProfile:InstanceProfile", "WorkerProfile").inputs
    expect(instanceProfile["role"]).toBe("WorkerRole")
    expect(JSON.parse(named("aws:iam/role:Role", "WorkerRole").inputs["assumeRolePolicy"]).Statement[0].Principal).toEqual({ Service: "ec2.amazonaws.com" })
  })

  it("accept no inbound traffic and reach out only over HTTPS and to Redis in the VPC", () => {
    const group = named("aws:ec2/securityGroup:SecurityGroup", "WorkerSecurityGroup").inputs
    expect(group["ingress"]).toEqual([])
    expect(group["egress"].map((e: Record<string, unknown>) => [e["fromPort"], e["cidrBlocks"]])).toEqual([[443, ["0.0.0.0/0"]], [6379, ["10.0.0.0/16"]]])
  })

  it("boot with the configuration the code reads, the instance id as worker id, and the Redis URL from SSM", () => {
    const template = named("aws:ec2/launchTemplate:LaunchTemplate", "WorkerTemplate").inputs
    const script = Buffer.from(template["userData"], "base64").toString("utf8")
    expect(script).toContain(`AWS_REGION=${region}\n`)
    expect(script).toContain(`VIDPIPE_QUEUE=sqs://sqs.${region}.amazonaws.com/${account}/vidpipe-test-tasks.fifo\n`)
    expect(script).toContain(`VIDPIPE_SQS_DLQ=sqs://sqs.${region}.amazonaws.com/${account}/vidpipe-test-tasks-dlq.fifo\n`)
    expect(script).toContain("VIDPIPE_STORAGE=s3://vidpipe-test-uploads-mock\n")
    expect(script).toContain("VIDPIPE_OUTPUTS_BUCKET=vidpipe-test-outputs-mock\n")
    // Scale-in safety and the scaling alarms' inputs: self-protection and CloudWatch metrics for this group.
    expect(script).toContain("VIDPIPE_FLEET=autoscaling\n")
    // Webhooks go out from the dispatcher Lambda, not through the workers' narrow security group.
    expect(script).toContain("VIDPIPE_WEBHOOK_DISPATCH=off\n")
    expect(script).toContain("VIDPIPE_METRICS=cloudwatch\n")
    expect(script).toContain("VIDPIPE_AUTOSCALING_GROUP=vidpipe-test-workers\n")
    expect(script).toContain("--name '/vidpipe/test/redis-url' --with-decryption")
    expect(script).toContain("VIDPIPE_INSTANCE_ID=%s")
    expect(script).toContain("X-aws-ec2-metadata-token")
    // The worker completes the termination hook itself (src/programs/terminationHook.ts).
    expect(script).toContain("VIDPIPE_LIFECYCLE_HOOK=drain\n")
    // The password stays out of the user data.
    expect(script).not.toContain("token@")
    expect(script).toContain("systemctl enable --now vidpipe-worker.service\n")
    expect(script).not.toContain("vidpipe-lifecycle")
  })
})

describe("worker capacity (the default: Spot)", () => {
  // defaultWorkerCapacity (infra/settings.ts). If it becomes on-demand, give this stack
  // VIDPIPE_DEPLOY_CAPACITY=spot so these checks keep a Spot group to read.
  it("is Spot unless VIDPIPE_DEPLOY_CAPACITY says otherwise", () => {
    expect(settings.worker.capacity.kind).toBe("spot")
  })

  it("launches Spot across same-size compute types, none On-Demand, from the worker launch template, with no warm pool", () => {
    const group = named("aws:autoscaling/group:Group", "Workers").inputs
    // A rebalance recommendation gets a replacement launched, then the drained instance terminated.
    expect(group["capacityRebalance"]).toBe(true)
    expect(group["mixedInstancesPolicy"]).toEqual({
      instancesDistribution: { onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0, spotAllocationStrategy: "price-capacity-optimized" },
      launchTemplate: {
        launchTemplateSpecification: { launchTemplateId: "WorkerTemplate-id", version: "1" },
        overrides: [{ instanceType: "c7i.large" }, { instanceType: "c6i.large" }, { instanceType: "c6a.large" }, { instanceType: "c5.large" }]
      }
    })
    // The template goes in the policy only: a group takes one or the other.
    expect(group["launchTemplate"]).toBeUndefined()
    expect(group["warmPool"]).toBeUndefined()
    expect(ofType("aws:autoscaling/lifecycleHook:LifecycleHook").map((h) => h.inputs["lifecycleTransition"])).toEqual(["autoscaling:EC2_INSTANCE_TERMINATING"])
  })

  it("turns on the workers' interruption watcher (IMDS's two-minute notice)", () => {
    const script = Buffer.from(named("aws:ec2/launchTemplate:LaunchTemplate", "WorkerTemplate").inputs["userData"], "base64").toString("utf8")
    expect(script).toContain("VIDPIPE_SPOT_NOTICES=imds\n")
    // A plain script, run once: no warm pool to come back from.
    expect(script.startsWith("#!/bin/bash\n")).toBe(true)
  })
})

/**
 * A provider over `environment` (as Lambda would see it) that records every variable asked for,
 * found or not.
 */
const recordingProvider = (environment: Record<string, string>) => {
  const requested = new Set<string>()
  const source = ConfigProvider.fromEnvRecord(environment)
  const provider = ConfigProvider.make((configPath) => {
    requested.add(configPath.join("_"))
    return source.load(configPath)
  })
  return { provider, requested }
}

describe("Lambda functions", () => {
  it("point at handlers that exist, with only environment variables their own configuration reads", async () => {
    expect([...specs.keys()].sort()).toEqual(["Api", "Ingest", "Protector", "Sweeper", "Webhooks"])
    for (const [name, spec] of specs) {
      const [file, exported] = [spec.handler.slice(0, spec.handler.lastIndexOf(".")), spec.handler.slice(spec.handler.lastIndexOf(".") + 1)]
      const module = await import(path.resolve(`${file}.ts`))
      expect(typeof module[exported], `${name}: ${spec.handler}`).toBe("function")
      // Each handler module exports, beside the handler, the effect that reads everything it reads.
      const config = module[`${exported}Config`] as Effect.Effect<unknown, unknown> | undefined
      expect(Effect.isEffect(config), `${name}: ${file}.ts exports ${exported}Config`).toBe(true)
      const environment = await resolve(pulumi.output(spec.environment))
      const { provider, requested } = recordingProvider(environment)
      const read = await Effect.runPromise(Effect.result(Effect.provideService(config!, ConfigProvider.ConfigProvider, provider)))
      expect(read._tag === "Success" ? "read" : String(read.failure), `${name}: its configuration reads from its environment`).toBe("read")
      // The protector answers a refusal (a string) when its configuration cannot work.
      if (read._tag === "Success") expect(typeof read.success, `${name}: ${String(read.success)}`).not.toBe("string")
      const unread = Object.keys(environment).filter((variable) => !requested.has(variable))
      expect(unread, `${name}: set in its environment but never read by its configuration`).toEqual([])
    }
    expect(specs.get("Ingest")?.grants.map((g) => g.actions)).toEqual([["sqs:SendMessage"]])
    // The key's digest, not the key: the function's configuration holds no usable secret.
    expect(await resolve(pulumi.output(specs.get("Api")!.environment["VIDPIPE_API_KEYS"]))).toBe(
      `sha256:${createHash("sha256").update("generated-api-key").digest("hex")}`
    )
  })

  it("run the sweeper on a schedule", () => {
    expect(named("aws:cloudwatch/eventRule:EventRule", "SweeperSchedule").inputs["scheduleExpression"]).toBe("rate(5 minutes)")
    expect(named("aws:cloudwatch/eventTarget:EventTarget", "SweeperScheduleTarget").inputs["arn"]).toBe(functionArn("Sweeper"))
  })
})

describe("webhook dispatcher Lambda", () => {
  it("runs the webhooks handler for longer than its window plus the reserve its last attempt needs, with no AWS grants", () => {
    const webhooks = specs.get("Webhooks")
    expect(webhooks?.handler).toBe("src/entry/lambda/webhooksHandler.handler")
    // The handler keeps 15 s back (an attempt takes at most 10 s): a shorter timeout cuts an attempt off mid-way.
    const reserveMillis = 15_000
    expect(webhooks?.timeoutSeconds).toBe(70)
    expect((webhooks?.timeoutSeconds ?? 0) * 1000).toBeGreaterThanOrEqual(defaultWindowMillis + reserveMillis)
    expect(webhooks?.memoryMb).toBe(512)
    expect(webhooks?.publish).toBe(false)
    // Redis only, over the VPC; receivers through the NAT.
    expect(webhooks?.grants).toEqual([])
  })

  it("reads the sweeper's backends and links playback as the API does", async () => {
    const environment = await resolve(pulumi.output(specs.get("Webhooks")!.environment))
    const sweeper = await resolve(pulumi.output(specs.get("Sweeper")!.environment))
    const api = await resolve(pulumi.output(specs.get("Api")!.environment))
    expect(environment).toMatchObject(sweeper)
    expect(environment["VIDPIPE_COORDINATOR"]).toBe("rediss://default:token@master.redis.cache.amazonaws.com:6379/0")
    expect(environment["VIDPIPE_QUEUE"]).toBe(`sqs://sqs.${region}.amazonaws.com/${account}/vidpipe-test-tasks.fifo`)
    expect(environment["VIDPIPE_METRICS"]).toBe("emf")
    expect(environment["VIDPIPE_DELIVERY_URL"]).toBe("https://d111111abcdef8.cloudfront.net")
    expect(environment["VIDPIPE_DELIVERY_URL"]).toBe(api["VIDPIPE_DELIVERY_URL"])
    // The SSRF guard stays on: the VPC's own addresses (Redis among them) are private.
    expect(environment["VIDPIPE_WEBHOOK_ALLOW_PRIVATE"]).toBeUndefined()
  })

  it("is invoked by EventBridge every minute", () => {
    const rule = named("aws:cloudwatch/eventRule:EventRule", "WebhooksSchedule").inputs
    expect(rule["scheduleExpression"]).toBe("rate(1 minute)")
    expect(named("aws:cloudwatch/eventTarget:EventTarget", "WebhooksScheduleTarget").inputs).toMatchObject({
      rule: "WebhooksSchedule",
      arn: functionArn("Webhooks")
    })
    expect(named("aws:lambda/permission:Permission", "WebhooksScheduleInvoke").inputs).toMatchObject({
      action: "lambda:InvokeFunction",
      function: "vidpipe-test-Webhooks",
      principal: "events.amazonaws.com",
      sourceArn: `arn:aws:events:${region}:${account}:rule/WebhooksSchedule`
    })
  })
})

describe("scaling alarms", () => {
  it("watch the pipeline's ScaleOut/ScaleIn metrics with the dimensions CloudWatchMetrics sends", async () => {
    const alarms = ofType("aws:cloudwatch/metricAlarm:MetricAlarm")
    expect(alarms.map((a) => a.name).sort()).toEqual(["BacklogPerInstanceAlarm", "IdleWorkersAlarm", "ScaleOutOnIngestAlarm"])
    const pipelineMetrics = alarms.flatMap((a) => a.inputs["metricQueries"]).flatMap((q: any) => (q.metric?.namespace === "Vidpipe" ? [q.metric] : []))
    expect([...new Set(pipelineMetrics.map((m: any) => m.metricName))].sort()).toEqual(["BacklogWorkSeconds", "ScaleIn", "ScaleOut"])

    // What the CloudWatch layer actually sends, to a mocked client.
    const cloudWatch = mockClient(CloudWatchClient)
    cloudWatch.on(PutMetricDataCommand).resolves({})
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const metrics = yield* makeCloudWatchMetrics({
        autoScalingGroupName: "vidpipe-test-workers",
        queueName: "vidpipe-test-tasks.fifo",
        client: new CloudWatchClient({ region })
      })
      yield* metrics.record("ScaleOut", 3)
      yield* metrics.record("ScaleIn", 1, { worker: "i-0abc" })
      yield* metrics.record("BacklogWorkSeconds", 1800)
    })))
    const sent = cloudWatch.commandCalls(PutMetricDataCommand).flatMap((c) => c.args[0].input.MetricData ?? [])
    const namespaces = cloudWatch.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input.Namespace)
    expect(new Set(namespaces)).toEqual(new Set(["Vidpipe"]))
    const rolledUp = sent.filter((d) => d.Dimensions?.length === 2).map((d) => [d.MetricName, Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value]))])
    const alarmDimensions = { AutoScalingGroupName: "vidpipe-test-workers", QueueName: "vidpipe-test-tasks.fifo" }
    expect(rolledUp).toEqual([["ScaleOut", alarmDimensions], ["ScaleIn", alarmDimensions], ["BacklogWorkSeconds", alarmDimensions]])
    for (const metric of pipelineMetrics) expect(metric.dimensions).toEqual(alarmDimensions)
    cloudWatch.restore()
  })

  it("scale out on the backlog per instance above the policy's target, and in only when idle", () => {
    const backlog = named("aws:cloudwatch/metricAlarm:MetricAlarm", "BacklogPerInstanceAlarm").inputs
    expect(backlog).toMatchObject({ comparisonOperator: "GreaterThanThreshold", threshold: 1 })
    expect(backlog["alarmActions"]).toEqual([`arn:aws:mock:${region}:${account}:ScaleOutOnBacklog`])
    // The policy's work-sized target: the estimated backlog over the drain target, at least the tasks in flight, at most every task.
    const wanted = backlog["metricQueries"].find((q: any) => q.id === "perinstance").expression
    expect(wanted).toContain(`FILL(backlogwork, 0) / ${defaultScalingSettings.drainTargetSeconds}`)
    expect(wanted).toMatch(/^IF\(FILL\(inflight, 0\) > /)
    expect(backlog["metricQueries"].find((q: any) => q.id === "backlogwork").metric).toMatchObject({ metricName: "BacklogWorkSeconds", stat: "Maximum" })
    const idle = named("aws:cloudwatch/metricAlarm:MetricAlarm", "IdleWorkersAlarm").inputs
    expect(idle["alarmActions"]).toEqual([`arn:aws:mock:${region}:${account}:ScaleInWhenIdle`])
    const scaleIn = named("aws:autoscaling/policy:Policy", "ScaleInWhenIdle").inputs
    expect(scaleIn["stepAdjustments"].every((s: any) => s.scalingAdjustment < 0)).toBe(true)
    const group = named("aws:autoscaling/group:Group", "Workers").inputs
    expect(group["enabledMetrics"]).toContain("GroupDesiredCapacity")
    expect([group["minSize"], group["maxSize"]]).toEqual([defaultScalingSettings.min, defaultScalingSettings.max])
  })
})

describe("deploy settings", () => {
  it("require the worker AMI (and nothing else: no ffprobe layer), with reasons", async () => {
    const { deploySettings } = await import("../../infra/settings.ts")
    expect(() => deploySettings({}, { name: "vidpipe", stage: "x" })).toThrow(/VIDPIPE_DEPLOY_WORKER_AMI: required/)
    expect(deploySettings({ VIDPIPE_DEPLOY_WORKER_AMI: "ami-0123456789abcdef0" }, { name: "vidpipe", stage: "x" }).worker.ami).toBe("ami-0123456789abcdef0")
    expect(() => deploySettings({ VIDPIPE_DEPLOY_WORKER_AMI: "ubuntu" }, { name: "vidpipe", stage: "x" })).toThrow(/is not an AMI id/)
  })

  it("take the API's browser origins and the protector's provisioned concurrency", async () => {
    const { deploySettings } = await import("../../infra/settings.ts")
    const required = { VIDPIPE_DEPLOY_WORKER_AMI: "ami-0123456789abcdef0" }
    const app = { name: "vidpipe", stage: "x" }
    expect(settings.api.corsOrigins).toEqual([])
    expect(settings.protector.provisionedConcurrency).toBe(1)
    const chosen = deploySettings({ ...required, VIDPIPE_DEPLOY_API_ORIGINS: "https://a.example, http://127.0.0.1:5173", VIDPIPE_DEPLOY_PROTECTOR_PROVISIONED: "0" }, app)
    expect(chosen.api.corsOrigins).toEqual(["https://a.example", "http://127.0.0.1:5173"])
    expect(chosen.protector.provisionedConcurrency).toBe(0)
    expect(deploySettings({ ...required, VIDPIPE_DEPLOY_API_ORIGINS: "*" }, app).api.corsOrigins).toEqual(["*"])
    for (const wrong of ["https://a.example/", "a.example", "*,https://a.example"]) {
      expect(() => deploySettings({ ...required, VIDPIPE_DEPLOY_API_ORIGINS: wrong }, app), wrong).toThrow(/VIDPIPE_DEPLOY_API_ORIGINS/)
    }
  })

  it("take the worker capacity: Spot types around the instance type, an On-Demand base, or On-Demand with a warm pool", async () => {
    const { deploySettings, defaultWorkerCapacity } = await import("../../infra/settings.ts")
    const required = { VIDPIPE_DEPLOY_WORKER_AMI: "ami-0123456789abcdef0" }
    const capacity = (env: Record<string, string>) => deploySettings({ ...required, ...env }, { name: "vidpipe", stage: "x" }).worker.capacity
    expect(defaultWorkerCapacity).toBe(settings.worker.capacity.kind)
    expect(capacity({ VIDPIPE_DEPLOY_CAPACITY: "spot" })).toEqual({ kind: "spot", instanceTypes: ["c7i.large", "c6i.large", "c6a.large", "c5.large"], onDemandBase: 0 })
    // The Spot types replace the template's own type: they follow a bigger worker type.
    expect(capacity({ VIDPIPE_DEPLOY_CAPACITY: "spot", VIDPIPE_DEPLOY_WORKER_INSTANCE_TYPE: "c6i.2xlarge" })).toMatchObject({
      instanceTypes: ["c6i.2xlarge", "c7i.2xlarge", "c6a.2xlarge", "c5.2xlarge"]
    })
    expect(capacity({ VIDPIPE_DEPLOY_CAPACITY: "spot", VIDPIPE_DEPLOY_WORKER_INSTANCE_TYPE: "m7i.large" })).toMatchObject({ instanceTypes: ["m7i.large"] })
    expect(capacity({ VIDPIPE_DEPLOY_CAPACITY: "spot", VIDPIPE_DEPLOY_SPOT_TYPES: " c7i.large, c7a.large ,c7i.large", VIDPIPE_DEPLOY_ON_DEMAND_BASE: "1" })).toEqual({
      kind: "spot",
      instanceTypes: ["c7i.large", "c7a.large"],
      onDemandBase: 1
    })
    expect(capacity({ VIDPIPE_DEPLOY_CAPACITY: "on-demand" })).toEqual({ kind: "on-demand", warmPool: { size: 0, reuseOnScaleIn: true } })
    expect(capacity({ VIDPIPE_DEPLOY_CAPACITY: "on-demand", VIDPIPE_DEPLOY_WARM_POOL: "2", VIDPIPE_DEPLOY_WARM_POOL_REUSE: "false" })).toEqual({
      kind: "on-demand",
      warmPool: { size: 2, reuseOnScaleIn: false }
    })
    const refused: Array<[Record<string, string>, RegExp]> = [
      [{ VIDPIPE_DEPLOY_CAPACITY: "reserved" }, /VIDPIPE_DEPLOY_CAPACITY: reserved is not spot or on-demand/],
      [{ VIDPIPE_DEPLOY_SPOT_TYPES: "c7i.large,c7g.large" }, /VIDPIPE_DEPLOY_SPOT_TYPES: c7g.large is arm64/],
      [{ VIDPIPE_DEPLOY_SPOT_TYPES: "c7i" }, /VIDPIPE_DEPLOY_SPOT_TYPES: c7i is not an instance type/],
      [{ VIDPIPE_DEPLOY_SPOT_TYPES: " , " }, /VIDPIPE_DEPLOY_SPOT_TYPES: no instance type/],
      [{ VIDPIPE_DEPLOY_WORKER_MAX: "4", VIDPIPE_DEPLOY_ON_DEMAND_BASE: "5" }, /VIDPIPE_DEPLOY_ON_DEMAND_BASE: 5 is not an integer in 0..4/],
      [{ VIDPIPE_DEPLOY_CAPACITY: "on-demand", VIDPIPE_DEPLOY_WARM_POOL_REUSE: "yes" }, /VIDPIPE_DEPLOY_WARM_POOL_REUSE: yes is not true or false/]
    ]
    for (const [env, reason] of refused) expect(() => capacity(env), JSON.stringify(env)).toThrow(reason)
  })

  it("refuse a warm pool with Spot, naming both variables and AWS's documented limit", async () => {
    const { deploySettings, InvalidDeploySetting } = await import("../../infra/settings.ts")
    const required = { VIDPIPE_DEPLOY_WORKER_AMI: "ami-0123456789abcdef0" }
    const app = { name: "vidpipe", stage: "x" }
    const limit = /"You cannot add a warm pool to Auto Scaling groups that … launch Spot Instances"/
    for (const [env, chosen] of [[{}, "VIDPIPE_DEPLOY_CAPACITY is unset, spot by default"], [{ VIDPIPE_DEPLOY_CAPACITY: "spot" }, "VIDPIPE_DEPLOY_CAPACITY is spot"]] as const) {
      const refuse = () => deploySettings({ ...required, ...env, VIDPIPE_DEPLOY_WARM_POOL: "2" }, app)
      expect(refuse).toThrow(InvalidDeploySetting)
      expect(refuse).toThrow(`VIDPIPE_DEPLOY_WARM_POOL: a warm pool needs VIDPIPE_DEPLOY_CAPACITY=on-demand (${chosen})`)
      expect(refuse).toThrow(limit)
    }
    // No warm pool (0) is no conflict.
    expect(deploySettings({ ...required, VIDPIPE_DEPLOY_WARM_POOL: "0" }, app).worker.capacity.kind).toBe("spot")
  })
})
