/**
 * How many worker fibers `vidpipe process` runs when `--workers` is not given: one per
 * `coresPerLadderEncode` cores, at least one.
 *
 * One chunk is one ffmpeg producing the whole ladder, and libx264 already spreads each rung's
 * encode over every core. What one ffmpeg cannot spread is its main loop (ffmpeg 5.1 decodes,
 * filters and feeds the encoders from one thread), so a second chunk at once only pays off when
 * the cores outnumber what one ffmpeg keeps busy: its CPU time over the time of that serial part.
 * `npm run bench` prints that figure ("one ladder ffmpeg keeps about N cores busy"): about 8 for
 * the easy 1080p clip (37.6 s of CPU, 4.7 s for decode and graph alone), about 19 for the hard one.
 * The easy clip's figure is the conservative one: below 16 cores, one worker; then one per 8.
 * Fewer workers also mean fewer chunk boundaries, where x264's rate control starts over.
 */
export const coresPerLadderEncode = 8

export const localWorkersFor = (cores: number): number => Math.max(1, Math.floor(cores / coresPerLadderEncode))
