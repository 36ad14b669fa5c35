/**
 * How many worker fibers `vidpipe process` runs when `--workers` is not given: one per
 * `coresPerLadderEncode` cores, at least one.
 *
 * One chunk is one ffmpeg producing the whole ladder, and libx264 already spreads each rung's
 * encode over every core. What one ffmpeg cannot spread is its main loop (ffmpeg 5.1 decodes,
 * filters and feeds the encoders from one thread), so a second chunk at once only pays off when
 * the cores outnumber what one ffmpeg keeps busy: its CPU time over the time of that serial part.
 * `npm run bench` prints that figure ("how many cores one ladder ffmpeg can keep busy"): on the
 * 2-core machines here about 10 for the easy 1080p clip (44 s of CPU, 4.5 s for decode and graph
 * alone) and 5 for the hard one (costly to decode). One worker per 8 cores sits between them: below
 * 16 cores, one worker.
 * Fewer workers also mean fewer chunk boundaries, where x264's rate control starts over.
 */
export const coresPerLadderEncode = 8

/** `process --workers` accepts 1 to 64: the default stays inside that on any machine. */
export const maxLocalWorkers = 64

export const localWorkersFor = (cores: number): number =>
  Math.min(maxLocalWorkers, Math.max(1, Math.floor(cores / coresPerLadderEncode)))
