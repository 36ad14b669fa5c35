/**
 * The upload and link settings `vidpipe serve` and the API Lambda both read, defined once:
 *   VIDPIPE_PUBLIC_URL             public origin for links and upload URLs (default: none, relative)
 *   VIDPIPE_MAX_UPLOAD_BYTES       the largest upload a job may announce (default 10 GiB)
 *   VIDPIPE_UPLOAD_EXPIRY_SECONDS  how long an upload URL works after it is issued (default 5)
 *   VIDPIPE_UPLOAD_SECRET          the upload URLs' signing key (a secret, never printed)
 */
import { Config, Duration } from "effect"

const trimSlashes = (url: string) => url.trim().replace(/\/+$/, "")

/** Required where links must be absolute (an API Lambda handing out a `serve`'s upload URLs). */
export const requiredPublicUrlConfig = Config.String("VIDPIPE_PUBLIC_URL").pipe(Config.map(trimSlashes))

export const publicUrlConfig = requiredPublicUrlConfig.pipe(Config.withDefault(""))

export const maxUploadBytesConfig = Config.Int("VIDPIPE_MAX_UPLOAD_BYTES").pipe(Config.withDefault(10 * 1024 ** 3))

export const uploadExpiryConfig = Config.Int("VIDPIPE_UPLOAD_EXPIRY_SECONDS").pipe(Config.withDefault(5), Config.map(Duration.seconds))

export const uploadSecretConfig = Config.Redacted("VIDPIPE_UPLOAD_SECRET")

/** Where outputs are served: VIDPIPE_DELIVERY_URL (the CDN), else the public URL's `/cdn`. */
export const deliveryUrlConfig = (publicUrl: string) =>
  Config.String("VIDPIPE_DELIVERY_URL").pipe(Config.map(trimSlashes), Config.withDefault(`${publicUrl}/cdn`))
