/**
 * Signed playback on AWS: with VIDPIPE_DEPLOY_PLAYBACK=signed the distribution runs the playback
 * check on every behavior's viewer requests (Pulumi's runtime mocks), and the API Lambda signs with
 * the same secret. The check's own code — the text CloudFront would run — is executed here against
 * tokens made by `vidpipe serve`'s signer: a valid token is admitted and stripped from the URI,
 * a missing, forged, other job's or expired one is answered 403.
 */
import * as crypto from "node:crypto"
import { createRequire } from "node:module"
import * as pulumi from "@pulumi/pulumi"
import { beforeAll, describe, expect, it } from "vitest"
import { signPlayback } from "../../src/entry/http/playbackToken.ts"

const secret = "0123456789abcdef".repeat(4)
const registered: Array<{ readonly type: string; readonly name: string; readonly inputs: Record<string, any> }> = []
const resolve = <T>(value: pulumi.Input<T>) => new Promise<T>((done) => pulumi.output(value).apply((v) => done(v as T)))

beforeAll(async () => {
  await pulumi.runtime.setMocks({
    newResource: (args) => {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs })
      return { id: `${args.name}-id`, state: { ...args.inputs, arn: `arn:aws:mock:::${args.name}`, bucketRegionalDomainName: "outputs.s3.amazonaws.com" } }
    },
    call: (args) => ({ ...args.inputs })
  }, "vidpipe", "test", false)
})

const deliveryFor = async (env: Record<string, string>) => {
  const { deploySettings } = await import("../../infra/settings.ts")
  const { buckets } = await import("../../infra/storage.ts")
  const { delivery } = await import("../../infra/cdn.ts")
  const settings = deploySettings({ VIDPIPE_DEPLOY_WORKER_AMI: "ami-0123456789abcdef0", ...env }, { name: "vidpipe", stage: "test" })
  return { settings, cdn: delivery(settings, buckets(settings)) }
}

describe("signed playback on CloudFront (infra/cdn.ts)", () => {
  it("runs the playback check on every behavior only when playback is signed", async () => {
    const open = await deliveryFor({})
    const openBehaviors = await resolve(pulumi.all([open.cdn.distribution.defaultCacheBehavior, open.cdn.distribution.orderedCacheBehaviors]))
    expect(open.cdn.playbackCheck).toBeUndefined()
    // The default (segments) and the short-lived ones: manifests, playlists, WebVTT and JPEG.
    expect([openBehaviors[0], ...(openBehaviors[1] ?? [])].map((b) => b.functionAssociations)).toEqual([undefined, undefined, undefined, undefined, undefined])

    const signed = await deliveryFor({ VIDPIPE_DEPLOY_PLAYBACK: "signed", VIDPIPE_DEPLOY_PLAYBACK_SECRET: secret })
    const [defaultBehavior, ordered] = await resolve(pulumi.all([signed.cdn.distribution.defaultCacheBehavior, signed.cdn.distribution.orderedCacheBehaviors]))
    const arn = await resolve(signed.cdn.playbackCheck!.arn)
    // Registered (the mock saw it) once its outputs resolved.
    const fn = registered.find((r) => r.type === "aws:cloudfront/function:Function")
    expect(fn?.inputs).toMatchObject({ runtime: "cloudfront-js-2.0", publish: true })
    for (const behavior of [defaultBehavior, ...(ordered ?? [])]) {
      expect(behavior.functionAssociations).toEqual([{ eventType: "viewer-request", functionArn: arn }])
    }
  })

  it("gives the API and webhooks Lambdas the same secret and lifetime, and refuses a signed setting without a secret", async () => {
    const { deploySettings } = await import("../../infra/settings.ts")
    const { functionSpecs } = await import("../../infra/lambdas.ts")
    const settings = deploySettings({ VIDPIPE_DEPLOY_WORKER_AMI: "ami-0123456789abcdef0", VIDPIPE_DEPLOY_PLAYBACK: "signed", VIDPIPE_DEPLOY_PLAYBACK_SECRET: secret, VIDPIPE_DEPLOY_PLAYBACK_TOKEN_SECONDS: "600" }, { name: "vidpipe", stage: "test" })
    const specs = functionSpecs(settings, { backends: {}, network: { vpcId: "v", privateSubnetIds: [], cidrBlock: "10.0.0.0/16", redisUrl: pulumi.output("rediss://x") }, data: {} as never, apiKeyValue: "k", deliveryUrl: "https://d.cloudfront.net", distributionId: "E2" })
    expect(specs.api.environment).toMatchObject({ VIDPIPE_PLAYBACK: "signed", VIDPIPE_PLAYBACK_SECRET: secret, VIDPIPE_PLAYBACK_TOKEN_SECONDS: "600" })
    // Webhook events carry the same job view, so their playback links are signed alike.
    expect(specs.webhooks.environment).toMatchObject({
      VIDPIPE_DELIVERY_URL: "https://d.cloudfront.net",
      VIDPIPE_PLAYBACK: "signed",
      VIDPIPE_PLAYBACK_SECRET: secret,
      VIDPIPE_PLAYBACK_TOKEN_SECONDS: "600"
    })
    expect(() => deploySettings({ VIDPIPE_DEPLOY_WORKER_AMI: "ami-0123456789abcdef0", VIDPIPE_DEPLOY_PLAYBACK: "signed" }, { name: "vidpipe", stage: "x" })).toThrow(/VIDPIPE_DEPLOY_PLAYBACK_SECRET: required/)
    expect(() => deploySettings({ VIDPIPE_DEPLOY_WORKER_AMI: "ami-0123456789abcdef0", VIDPIPE_DEPLOY_PLAYBACK: "private" }, { name: "vidpipe", stage: "x" })).toThrow(/VIDPIPE_DEPLOY_PLAYBACK/)
  })
})

describe("the playback check's code (what CloudFront runs)", () => {
  type Request = { readonly method: string; uri: string }
  type Answer = Request | { readonly statusCode: number; readonly body: string }
  const handler = async (): Promise<(event: { request: Request }) => Answer> => {
    const { playbackFunctionCode } = await import("../../infra/playbackFunction.ts")
    // CloudFront provides `require('crypto')`; Node's has the same createHmac.
    return new Function("require", `${playbackFunctionCode(secret)}\nreturn handler`)(createRequire(import.meta.url))
  }
  const jobId = "0123456789abcdef0123456789abcdef"
  const request = (uri: string, method = "GET") => ({ request: { method, uri } })
  const status = (answer: Answer) => ("statusCode" in answer ? answer.statusCode : 200)

  it("admits a token made by vidpipe's signer and strips it from the URI (one cache entry for every viewer)", async () => {
    const check = await handler()
    const token = signPlayback(secret, jobId, Date.now() + 60_000)
    expect(check(request(`/_t/${token}/${jobId}/manifest.mpd`))).toEqual({ method: "GET", uri: `/${jobId}/manifest.mpd` })
    expect(check(request(`/_t/${token}/${jobId}/video/360p/seg-00001.m4s`))).toEqual({ method: "GET", uri: `/${jobId}/video/360p/seg-00001.m4s` })
  })

  it("answers 403 without a token, with a forged or another job's token, and with an expired one", async () => {
    const check = await handler()
    const valid = signPlayback(secret, jobId, Date.now() + 60_000)
    const refusals = {
      none: `/${jobId}/manifest.mpd`,
      otherJob: `/_t/${signPlayback(secret, "f".repeat(32), Date.now() + 60_000)}/${jobId}/manifest.mpd`,
      otherSecret: `/_t/${signPlayback("another secret", jobId, Date.now() + 60_000)}/${jobId}/manifest.mpd`,
      longerLife: `/_t/${(Date.now() + 3_600_000).toString(36)}.${valid.split(".")[1]}/${jobId}/manifest.mpd`,
      expired: `/_t/${signPlayback(secret, jobId, Date.now() - 1000)}/${jobId}/manifest.mpd`,
      hidden: `/_t/${signPlayback(secret, ".hidden", Date.now() + 60_000)}/.hidden/x`
    }
    for (const [name, uri] of Object.entries(refusals)) {
      const answer = check(request(uri))
      expect(status(answer), name).toBe(403)
      expect(JSON.parse((answer as { body: string }).body).error._tag, name).toBe("PlaybackForbidden")
    }
    expect(JSON.parse((check(request(refusals.expired)) as { body: string }).body).error.message).toMatch(/expired/)
    // CORS preflights carry no token; the response headers policy answers them.
    expect(status(check(request(`/${jobId}/manifest.mpd`, "OPTIONS")))).toBe(200)
    expect(crypto.createHmac).toBeTypeOf("function")
  })
})
