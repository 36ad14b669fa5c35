/**
 * What a deployment can be told, from the environment of `sst deploy` (VIDPIPE_DEPLOY_*), with
 * the defaults the code itself uses (pipeline timings, scaling bounds). Pure: no Pulumi here.
 */
import { Duration } from "effect"
import { defaultScalingSettings } from "../src/domain/ScalingPolicy.ts"
import { defaultPipelineSettings } from "../src/services/PipelineSettings.ts"

export interface DeploySettings {
  /** `<app>-<stage>`: the prefix of every name this stack gives. */
  readonly prefix: string
  readonly app: string
  readonly stage: string
  /** Keep the buckets (and their contents) when the stack is removed. */
  readonly retainData: boolean

  readonly worker: {
    /** The AMI built by packer/ (required). */
    readonly ami: string
    readonly instanceType: string
    readonly rootVolumeGb: number
    readonly min: number
    readonly max: number
    readonly capacity: WorkerCapacity
  }
  /** `ec2` (one small NAT instance per AZ) or `managed` (NAT gateways). */
  readonly nat: "ec2" | "managed"
  readonly redisInstance: string

  readonly uploads: {
    /** Origins allowed to PUT to presigned upload URLs from a browser. */
    readonly corsOrigins: ReadonlyArray<string>
    /** Sources are deleted this many days after upload. */
    readonly expireSourcesAfterDays: number
    readonly maxUploadBytes: number
  }
  readonly api: {
    readonly stageName: string
    /** Origins whose browser pages may call the API (CORS); none by default. */
    readonly corsOrigins: ReadonlyArray<string>
    /** Steady requests per second and burst, per API key (usage plan). */
    readonly rateLimit: number
    readonly burstLimit: number
    /** Requests per day per API key (usage plan quota). */
    readonly quotaPerDay: number
  }
  readonly protector: {
    /** Provisioned environments on the protector's `live` alias (0: none, cold starts possible). */
    readonly provisionedConcurrency: number
  }
  /**
   * Delivery by job id alone (`public`), or only with the short-lived token the API gives a job's
   * owner (`signed`: checked at the edge by a CloudFront Function with `secret`, cdn.ts).
   */
  readonly playback: { readonly mode: "public" } | { readonly mode: "signed"; readonly secret: string; readonly tokenSeconds: number }
  /** The pipeline's timings: the queue and the workers must agree on them. */
  readonly pipeline: {
    readonly visibilitySeconds: number
    readonly heartbeatSeconds: number
    readonly pollSeconds: number
    readonly maxReceiveCount: number
  }
  readonly scaling: {
    readonly targetBacklogPerInstance: number
    /** Work-sized scaling: the backlog's estimated work finished within this (0: size by tasks). */
    readonly drainTargetSeconds: number
    readonly scaleOutCooldownSeconds: number
    readonly scaleInCooldownSeconds: number
    /** How long a booting instance takes before it takes work. */
    readonly instanceWarmupSeconds: number
  }
}

/**
 * What the worker group launches. Spot and a warm pool exclude each other: Auto Scaling keeps no
 * Spot Instances in a warm pool (docs/deploy.md, "Worker capacity").
 */
export type WorkerCapacity =
  /** Spot across `instanceTypes` (a mixed instances policy); the first `onDemandBase` instances On-Demand. */
  | { readonly kind: "spot"; readonly instanceTypes: ReadonlyArray<string>; readonly onDemandBase: number }
  /** On-Demand of the worker instance type, with `warmPool.size` stopped instances kept ready (0: no warm pool). */
  | { readonly kind: "on-demand"; readonly warmPool: { readonly size: number; readonly reuseOnScaleIn: boolean } }

/** The capacity when VIDPIPE_DEPLOY_CAPACITY is unset: the one constant to change once the fleet simulation has chosen. */
export const defaultWorkerCapacity: WorkerCapacity["kind"] = "spot"

/**
 * Compute families close to the default c7i (x86_64 like the AMI, 2 vCPUs per `large`): Spot draws
 * on several capacity pools. Only sizes that every one of them has.
 */
const spotFamilies = ["c7i", "c6i", "c6a", "c5"]
const spotSizes = ["large", "xlarge", "2xlarge", "4xlarge"]

/** The worker instance type first, then the same size in the other families; another type alone. */
export const defaultSpotTypes = (instanceType: string): ReadonlyArray<string> => {
  const [family = "", size = ""] = instanceType.split(".")
  if (!spotFamilies.includes(family) || !spotSizes.includes(size)) return [instanceType]
  return [instanceType, ...spotFamilies.filter((f) => f !== family).map((f) => `${f}.${size}`)]
}

export class InvalidDeploySetting extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem} (see docs/deploy.md)`)
    this.name = "InvalidDeploySetting"
  }
}

type Env = Readonly<Record<string, string | undefined>>

const text = (env: Env, name: string, fallback: string) => {
  const value = env[name]?.trim()
  return value === undefined || value === "" ? fallback : value
}

const required = (env: Env, name: string, pattern: RegExp, expected: string) => {
  const value = env[name]?.trim() ?? ""
  if (value === "") throw new InvalidDeploySetting(name, `required: ${expected}`)
  if (!pattern.test(value)) throw new InvalidDeploySetting(name, `${value} is not ${expected}`)
  return value
}

const integer = (env: Env, name: string, fallback: number, min: number, max: number) => {
  const raw = env[name]?.trim()
  if (raw === undefined || raw === "") return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) throw new InvalidDeploySetting(name, `${raw} is not an integer in ${min}..${max}`)
  return value
}

const flag = (env: Env, name: string, fallback: boolean) => {
  const value = text(env, name, String(fallback))
  if (value !== "true" && value !== "false") throw new InvalidDeploySetting(name, `${value} is not true or false`)
  return value === "true"
}

/** Comma-separated instance types; x86_64 only, as the worker AMI is. */
const instanceTypes = (env: Env, name: string, fallback: ReadonlyArray<string>) => {
  const list = [...new Set(text(env, name, fallback.join(",")).split(",").map((t) => t.trim()).filter((t) => t !== ""))]
  if (list.length === 0) throw new InvalidDeploySetting(name, "no instance type")
  // Auto Scaling takes at most 40 instance types in a mixed instances policy.
  if (list.length > 40) throw new InvalidDeploySetting(name, `${list.length} instance types, at most 40`)
  for (const type of list) {
    if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(type)) throw new InvalidDeploySetting(name, `${type} is not an instance type (family.size)`)
    // A `g` after the generation (c7g, m6gd, t4g) is Graviton.
    if (/^[a-z]+\d+[a-z]*g/.test(type)) throw new InvalidDeploySetting(name, `${type} is arm64 (Graviton); the worker AMI is x86_64`)
  }
  return list
}

const capacity = (env: Env, instanceType: string, max: number): WorkerCapacity => {
  const kind = text(env, "VIDPIPE_DEPLOY_CAPACITY", defaultWorkerCapacity)
  const warmPool = integer(env, "VIDPIPE_DEPLOY_WARM_POOL", 0, 0, 1000)
  if (kind === "on-demand") return { kind, warmPool: { size: warmPool, reuseOnScaleIn: flag(env, "VIDPIPE_DEPLOY_WARM_POOL_REUSE", true) } }
  if (kind !== "spot") throw new InvalidDeploySetting("VIDPIPE_DEPLOY_CAPACITY", `${kind} is not spot or on-demand`)
  if (warmPool > 0) {
    const chosen = env["VIDPIPE_DEPLOY_CAPACITY"]?.trim() ? "VIDPIPE_DEPLOY_CAPACITY is spot" : "VIDPIPE_DEPLOY_CAPACITY is unset, spot by default"
    throw new InvalidDeploySetting(
      "VIDPIPE_DEPLOY_WARM_POOL",
      `a warm pool needs VIDPIPE_DEPLOY_CAPACITY=on-demand (${chosen}): EC2 Auto Scaling keeps no Spot Instances in a warm pool ` +
        `("You cannot add a warm pool to Auto Scaling groups that … launch Spot Instances", EC2 Auto Scaling user guide, warm pools, Limitations)`
    )
  }
  return {
    kind,
    instanceTypes: instanceTypes(env, "VIDPIPE_DEPLOY_SPOT_TYPES", defaultSpotTypes(instanceType)),
    onDemandBase: integer(env, "VIDPIPE_DEPLOY_ON_DEMAND_BASE", 0, 0, max)
  }
}

/** Comma-separated browser origins (`https://app.example.com`), or `*` alone. */
const origins = (env: Env, name: string, fallback: string) => {
  const list = text(env, name, fallback).split(",").map((o) => o.trim()).filter((o) => o !== "")
  for (const origin of list) {
    const exact = origin === "*" ? list.length === 1 : URL.canParse(origin) && new URL(origin).origin === origin
    if (!exact) throw new InvalidDeploySetting(name, `${origin} is not an origin (scheme://host[:port]) or * alone`)
  }
  return list
}

const playback = (env: Env): DeploySettings["playback"] => {
  const mode = text(env, "VIDPIPE_DEPLOY_PLAYBACK", "public")
  if (mode === "public") return { mode }
  if (mode !== "signed") throw new InvalidDeploySetting("VIDPIPE_DEPLOY_PLAYBACK", `${mode} is not public or signed`)
  // Never echoed: an error names the variable and what is expected only.
  const secret = env["VIDPIPE_DEPLOY_PLAYBACK_SECRET"]?.trim() ?? ""
  if (!/^[0-9a-f]{64}$/.test(secret)) {
    throw new InvalidDeploySetting("VIDPIPE_DEPLOY_PLAYBACK_SECRET", "required with signed playback: 64 lowercase hex digits (openssl rand -hex 32)")
  }
  return { mode, secret, tokenSeconds: integer(env, "VIDPIPE_DEPLOY_PLAYBACK_TOKEN_SECONDS", 7200, 1, 7 * 24 * 3600) }
}

const seconds = (duration: Duration.Duration) => Math.round(Duration.toMillis(duration) / 1000)

/**
 * VIDPIPE_DEPLOY_WORKER_AMI is required; everything else has a default. `production` keeps its buckets on removal.
 */
export const deploySettings = (env: Env, app: { readonly name: string; readonly stage: string }): DeploySettings => {
  const min = integer(env, "VIDPIPE_DEPLOY_WORKER_MIN", defaultScalingSettings.min, 0, 1000)
  const max = integer(env, "VIDPIPE_DEPLOY_WORKER_MAX", defaultScalingSettings.max, Math.max(1, min), 1000)
  const instanceType = text(env, "VIDPIPE_DEPLOY_WORKER_INSTANCE_TYPE", "c7i.large")
  const nat = text(env, "VIDPIPE_DEPLOY_NAT", "ec2")
  if (nat !== "ec2" && nat !== "managed") throw new InvalidDeploySetting("VIDPIPE_DEPLOY_NAT", `${nat} is not ec2 or managed`)
  const pipeline = defaultPipelineSettings
  return {
    prefix: `${app.name}-${app.stage}`,
    app: app.name,
    stage: app.stage,
    retainData: app.stage === "production",
    worker: {
      ami: required(env, "VIDPIPE_DEPLOY_WORKER_AMI", /^ami-[0-9a-f]{8,17}$/, "an AMI id (ami-…) built with packer/build.sh"),
      instanceType,
      rootVolumeGb: integer(env, "VIDPIPE_DEPLOY_WORKER_VOLUME_GB", 50, 8, 16384),
      min,
      max,
      capacity: capacity(env, instanceType, max)
    },
    nat,
    redisInstance: text(env, "VIDPIPE_DEPLOY_REDIS_INSTANCE", "t4g.micro"),
    uploads: {
      corsOrigins: text(env, "VIDPIPE_DEPLOY_UPLOAD_ORIGINS", "*").split(",").map((o) => o.trim()).filter((o) => o !== ""),
      expireSourcesAfterDays: integer(env, "VIDPIPE_DEPLOY_SOURCE_EXPIRY_DAYS", 14, 1, 3650),
      maxUploadBytes: integer(env, "VIDPIPE_DEPLOY_MAX_UPLOAD_BYTES", 10 * 1024 ** 3, 1, 5 * 1024 ** 4)
    },
    api: {
      stageName: "live",
      corsOrigins: origins(env, "VIDPIPE_DEPLOY_API_ORIGINS", ""),
      rateLimit: integer(env, "VIDPIPE_DEPLOY_API_RATE", 10, 1, 10_000),
      burstLimit: integer(env, "VIDPIPE_DEPLOY_API_BURST", 20, 1, 5_000),
      quotaPerDay: integer(env, "VIDPIPE_DEPLOY_API_QUOTA_PER_DAY", 10_000, 1, 100_000_000)
    },
    protector: { provisionedConcurrency: integer(env, "VIDPIPE_DEPLOY_PROTECTOR_PROVISIONED", 1, 0, 10) },
    playback: playback(env),
    pipeline: {
      visibilitySeconds: seconds(pipeline.visibility),
      heartbeatSeconds: seconds(pipeline.heartbeatEvery),
      pollSeconds: pipeline.pollSeconds,
      maxReceiveCount: pipeline.maxReceiveCount
    },
    scaling: {
      targetBacklogPerInstance: defaultScalingSettings.targetBacklogPerInstance,
      drainTargetSeconds: defaultScalingSettings.drainTargetSeconds,
      scaleOutCooldownSeconds: defaultScalingSettings.scaleOutCooldownMs / 1000,
      scaleInCooldownSeconds: defaultScalingSettings.scaleInCooldownMs / 1000,
      instanceWarmupSeconds: 90
    }
  }
}
