/**
 * SpotNotices for a machine no cloud takes back (and VIDPIPE_SPOT_NOTICES=off): never a notice.
 */
import { Effect, Layer } from "effect"
import { SpotNotices } from "../../services/SpotNotices.ts"

export const noSpotNoticesLayer = Layer.succeed(SpotNotices, SpotNotices.of({ current: Effect.succeedNone }))
