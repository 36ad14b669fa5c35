/** No CDN: outputs are served straight from storage (`vidpipe serve`'s /cdn), nothing to forget. */
import { Effect, Layer } from "effect"
import { CdnCache } from "../../services/CdnCache.ts"

export const noCdnCacheLayer = Layer.succeed(CdnCache, CdnCache.of({ forgetPrefix: () => Effect.void }))
