/**
 * How many workers chunk planning assumes (`auto`'s rule and chunk sizes). `vidpipe process`
 * sets it to its `--workers`; elsewhere ingest reads `VIDPIPE_CHUNK_WORKERS` (default 2).
 */
import { Context } from "effect"

export interface ChunkPlanningShape {
  /** Undefined: ingest's configured default applies. */
  readonly workers: number | undefined
}

export const ChunkPlanning = Context.Reference<ChunkPlanningShape>("vidpipe/ChunkPlanning", {
  defaultValue: () => ({ workers: undefined })
})
