/**
 * What the default Lambda handlers read from the environment, beside the backends
 * (`configuredLayer`: VIDPIPE_QUEUE, VIDPIPE_COORDINATOR, VIDPIPE_STORAGE, …):
 *   VIDPIPE_API_KEYS          comma-separated, plain or sha256:<hex>; checked again here after API
 *                             Gateway's usage plan (a job's owner is the usage plan key's id)
 *   VIDPIPE_ADMIN_API_KEYS    keys that see every job (entry/http/api/apiKeysConfig.ts)
 *   VIDPIPE_DELIVERY_URL      where outputs are served (CloudFront); default `${VIDPIPE_PUBLIC_URL}/cdn`
 *   VIDPIPE_MAX_UPLOAD_BYTES  default 10 GiB
 *   VIDPIPE_MULTIPART_THRESHOLD  default 64 MiB: larger sources upload in parts
 *   VIDPIPE_UPLOAD_EXPIRY_SECONDS  default 5
 *   VIDPIPE_CORS_ORIGINS      origins whose pages may call the API (see entry/http/cors.ts); default none
 *   VIDPIPE_PLAYBACK, VIDPIPE_PLAYBACK_SECRET, VIDPIPE_PLAYBACK_TOKEN_SECONDS
 *                             signed playback (entry/http/playbackConfig.ts); CloudFront checks the tokens
 * Upload slots are S3 presigned PUTs when VIDPIPE_STORAGE=s3://…; with folder storage they are
 * URLs of a `vidpipe serve` at VIDPIPE_PUBLIC_URL sharing VIDPIPE_UPLOAD_SECRET.
 */
import { Config, Duration, Effect, Layer, Redacted } from "effect"
import { s3UploadSlotsLayer } from "../../layers/aws/S3UploadSlots.ts"
import { deploymentConfig } from "../../layers/fromConfig.ts"
import { signedUploadSlotsLayer } from "../../layers/local/SignedUploadSlots.ts"
import { thisProcessId } from "../../layers/processIdentity.ts"
import type { ApiRoutesOptions } from "../http/api/routes.ts"
import { apiKeysConfig } from "../http/api/apiKeysConfig.ts"
import { corsOriginsConfig } from "../http/cors.ts"
import { deliveryUrlConfig, maxUploadBytesConfig, multipartThresholdConfig, publicUrlConfig, requiredPublicUrlConfig, uploadExpiryConfig, uploadSecretConfig } from "../http/uploadConfig.ts"
import { playbackConfig } from "../http/playbackConfig.ts"



/**
 * The sweeper's lease owner: its Lambda log stream (one per execution environment,
 * AWS_LAMBDA_LOG_STREAM_NAME, set by Lambda), or this process's id elsewhere.
 */
export const sweeperOwnerConfig = Config.String("AWS_LAMBDA_LOG_STREAM_NAME").pipe(
  Config.map((stream) => stream.split("]").pop() ?? stream),
  Config.withDefault(thisProcessId()),
  Effect.orElseSucceed(thisProcessId)
)

export const apiOptionsConfig = Effect.gen(function*() {
  const { apiKeys, adminApiKeys } = yield* apiKeysConfig
  const base = yield* publicUrlConfig
  const options: ApiRoutesOptions = {
    apiKeys,
    adminApiKeys,
    gatewayKeyIds: true,
    deliveryBase: yield* deliveryUrlConfig(base),
    maxUploadBytes: yield* maxUploadBytesConfig,
    multipartThreshold: yield* multipartThresholdConfig,
    corsOrigins: yield* corsOriginsConfig,
    playback: yield* playbackConfig
  }
  return options
})

/**
 * Where clients upload: the uploads bucket through an S3 presigned PUT on AWS; with folder storage
 * (a self-hosted API Lambda), the upload route of a `vidpipe serve` at VIDPIPE_PUBLIC_URL that
 * shares VIDPIPE_UPLOAD_SECRET and the storage — both required, since a Lambda cannot receive
 * uploads itself and a random secret would match no server.
 */
export type UploadSlotsConfig =
  | { readonly kind: "s3"; readonly bucket: string; readonly region: string; readonly endpoint: string | undefined; readonly expiresIn: Duration.Duration }
  | { readonly kind: "signed"; readonly publicBase: string; readonly secret: string; readonly expiresIn: Duration.Duration }

/** What `uploadSlotsLayer` reads from configuration. */
export const uploadSlotsConfig = Effect.gen(function*() {
  const deployment = yield* deploymentConfig
  const expiresIn = yield* uploadExpiryConfig
  if (deployment.storage.kind === "s3") {
    const config: UploadSlotsConfig = { kind: "s3", bucket: deployment.storage.bucket, region: deployment.aws.region, endpoint: deployment.aws.s3Endpoint, expiresIn }
    return config
  }
  const config: UploadSlotsConfig = {
    kind: "signed",
    // Both required here: a Lambda cannot receive uploads itself, and a random secret would match no server.
    publicBase: yield* requiredPublicUrlConfig,
    secret: Redacted.value(yield* uploadSecretConfig),
    expiresIn
  }
  return config
})

export const uploadSlotsLayer = Layer.unwrap(Effect.map(uploadSlotsConfig, (config) =>
  config.kind === "s3"
    ? s3UploadSlotsLayer({
      bucket: config.bucket,
      expiresIn: config.expiresIn,
      clientConfig: { region: config.region, ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint, forcePathStyle: true }) }
    })
    : signedUploadSlotsLayer({ publicBase: config.publicBase, secret: config.secret, expiresIn: config.expiresIn })
))
