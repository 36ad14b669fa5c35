/**
 * The upload and link settings `vidpipe serve` and the API Lambda both read, defined once:
 *   VIDPIPE_PUBLIC_URL             public origin for links and upload URLs (default: none, relative)
 *   VIDPIPE_MAX_UPLOAD_BYTES       the largest upload a job may announce (default 10 GiB, at most 5 TiB)
 *   VIDPIPE_MULTIPART_THRESHOLD    sources above it upload in parts (default 64 MiB, at most 5 GiB)
 *   VIDPIPE_UPLOAD_EXPIRY_SECONDS  how long an upload URL works after it is issued (default 5)
 *   VIDPIPE_UPLOAD_SECRET          the upload URLs' signing key (a secret, never printed)
 */
import { Config, Duration, Effect } from "effect"
import { maxSinglePutBytes, maxSourceBytes, MiB } from "../../domain/Multipart.ts"
import { InvalidConfiguration } from "../../layers/InvalidConfiguration.ts"

const trimSlashes = (url: string) => url.trim().replace(/\/+$/, "")

/** Required where links must be absolute (an API Lambda handing out a `serve`'s upload URLs). */
export const requiredPublicUrlConfig = Config.String("VIDPIPE_PUBLIC_URL").pipe(Config.map(trimSlashes))

export const publicUrlConfig = requiredPublicUrlConfig.pipe(Config.withDefault(""))

/** A whole number of bytes within [1, maximum], from `variable`; `fallback` when unset. */
const bytesSetting = (variable: string, fallback: number, maximum: number, why: string) =>
  Effect.gen(function*() {
    const raw = (yield* Config.String(variable).pipe(Config.withDefault(""))).trim()
    if (raw === "") return fallback
    const value = Number(raw)
    return /^\d+$/.test(raw) && value >= 1 && value <= maximum
      ? value
      : yield* new InvalidConfiguration({ variable, value: raw, expected: `a whole number of bytes from 1 to ${maximum} (${why})` })
  })

/** A declared length is refused above it. */
export const maxUploadBytesConfig = bytesSetting("VIDPIPE_MAX_UPLOAD_BYTES", 10 * 1024 ** 3, maxSourceBytes, "5 TiB, S3's largest object")

/** Above it, a source uploads in parts. */
export const multipartThresholdConfig = bytesSetting("VIDPIPE_MULTIPART_THRESHOLD", 64 * MiB, maxSinglePutBytes, "5 GiB, S3's largest single PUT")

export const uploadExpiryConfig = Config.Int("VIDPIPE_UPLOAD_EXPIRY_SECONDS").pipe(Config.withDefault(5), Config.map(Duration.seconds))

export const uploadSecretConfig = Config.Redacted("VIDPIPE_UPLOAD_SECRET")

/** Where outputs are served: VIDPIPE_DELIVERY_URL (the CDN), else the public URL's `/cdn`. */
export const deliveryUrlConfig = (publicUrl: string) =>
  Config.String("VIDPIPE_DELIVERY_URL").pipe(Config.map(trimSlashes), Config.withDefault(`${publicUrl}/cdn`))
