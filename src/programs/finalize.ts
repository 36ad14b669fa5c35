/**
 * Finalize: the one worker holding the lease writes the manifest, once, and marks the job ready.
 * Chunked jobs are stitched first: per rung, the chunks' segments become one continuous
 * timeline behind chunk 1's init segment (nothing is re-encoded). The manifest is checked before
 * it is published: chunks joined without gap and with one codec configuration, rungs
 * segment-aligned, and every file it references present in storage. A second finalizer (after a lease expiry) finds the manifest
 * already there and only completes the bookkeeping. Beside the MPD it writes HLS playlists over
 * the same segment files (domain/Hls.ts), before the MPD.
 */
import { Clock, Effect, Option, Result } from "effect"
import { JobStoreFailed, ManifestInvalid } from "../domain/Errors.ts"
import type { Job } from "../domain/Job.ts"
import { audioTrackOf, captionTracksOf, hlsKeyOf, manifestKeyOf, videoTracksOf } from "../domain/Job.ts"
import { buildHls, hlsContentType } from "../domain/Hls.ts"
import { recordEvent } from "../domain/jobEvents.ts"
import { buildMpd } from "../domain/Mpd.ts"
import type { Pictures, StoryboardPart } from "../domain/Pictures.ts"
import { storyboardDirectory, storyboardName } from "../domain/Pictures.ts"
import { buildStoryboardVtt } from "../domain/Storyboard.ts"
import { audioDirectory, videoDirectory } from "../domain/Task.ts"
import type { Track } from "../domain/Track.ts"
import { trackDurationSeconds } from "../domain/Track.ts"
import type { FinalizeLease } from "../services/Coordinator.ts"
import { Coordinator } from "../services/Coordinator.ts"
import { FaultInjection } from "../services/FaultInjection.ts"
import { JobStore } from "../services/JobStore.ts"
import { PipelineMetrics } from "../services/PipelineMetrics.ts"
import { PipelineSettings } from "../services/PipelineSettings.ts"
import { Storage } from "../services/Storage.ts"

const folderOf = (track: Track) => (track.kind === "video" ? videoDirectory(track.id) : audioDirectory)

/** One track per rung (chunks stitched) and the audio track. */
const tracksOf = (job: Job) =>
  Effect.gen(function*() {
    const results = job.tasks.flatMap((task) => (task.result === undefined ? [] : [task.result]))
    if (results.length < job.tasks.length || job.tasks.length === 0) {
      return yield* new JobStoreFailed({ operation: "finalize", reason: `job ${job.id}: not every task result is recorded yet`, retryable: true })
    }
    const video = videoTracksOf(job)
    if (Result.isFailure(video)) return yield* new ManifestInvalid({ reason: `chunks cannot be stitched: ${video.failure}` })
    return { video: video.success, audio: audioTrackOf(job), captions: captionTracksOf(job) }
  })

/** The pictures the tasks cut: every storyboard part and the poster. */
const picturesOf = (job: Job) => {
  const all = job.tasks.flatMap((task): ReadonlyArray<Pictures> => (task.result?.pictures === undefined ? [] : [task.result.pictures]))
  const parts = all.flatMap((pictures): ReadonlyArray<StoryboardPart> => (pictures.storyboard === undefined ? [] : [pictures.storyboard]))
  return { parts, poster: all.find((pictures) => pictures.poster !== undefined)?.poster }
}

/**
 * The poster and the storyboard's WebVTT to publish, checked against storage. Pictures are
 * extras: one that cannot be published is left out with a warning, and the job still plays.
 */
const publishablePictures = (job: Job, video: ReadonlyArray<Track>, stored: ReadonlyMap<string, number>) =>
  Effect.gen(function*() {
    const { parts, poster } = picturesOf(job)
    const posterKey = poster === undefined ? undefined : `${job.outputPrefix}${poster}`
    if (posterKey !== undefined && !stored.has(posterKey)) yield* Effect.logWarning(`job ${job.id}: the poster ${posterKey} is not stored; published without one`)
    let storyboard: string | undefined
    if (parts.length > 0) {
      const missingSheet = parts.flatMap((part) => part.sheets).map((sheet) => `${job.outputPrefix}${storyboardDirectory}/${sheet}`).find((key) => !stored.has(key))
      const built = buildStoryboardVtt(parts, Math.max(0, ...video.map(trackDurationSeconds)))
      if (missingSheet !== undefined) yield* Effect.logWarning(`job ${job.id}: storyboard sheet ${missingSheet} is not stored; published without a storyboard`)
      else if (typeof built !== "string") yield* Effect.logWarning(`job ${job.id}: no task cut storyboard thumbnail ${built.missing}; published without a storyboard`)
      else storyboard = built
    }
    return { posterKey: posterKey !== undefined && stored.has(posterKey) ? posterKey : undefined, storyboard }
  })

export const finalize = Effect.fn("finalize")(function*(jobId: string, lease: FinalizeLease) {
  const store = yield* JobStore
  const storage = yield* Storage
  const coordinator = yield* Coordinator
  const metrics = yield* PipelineMetrics

  const job = yield* store.get(jobId)
  const tracks = yield* tracksOf(job)
  const built = buildMpd(tracks)
  if (Result.isFailure(built)) return yield* built.failure
  const stored = new Map((yield* storage.list("outputs", job.outputPrefix)).map((o) => [o.key, o.size]))
  const keyOf = (track: Track, file: string) => `${job.outputPrefix}${folderOf(track)}/${file}`
  const missing = [...tracks.video, ...(tracks.audio ? [tracks.audio] : [])].flatMap((track) =>
    track.files.map((file) => keyOf(track, file)).filter((key) => !stored.has(key))
  )
  const missingCaption = tracks.captions.find((caption) => !stored.has(`${job.outputPrefix}${caption.file}`))
  if (missingCaption !== undefined) missing.push(`${job.outputPrefix}${missingCaption.file}`)
  if (missing.length > 0) {
    return yield* new ManifestInvalid({ reason: `${missing.length} referenced file(s) missing from storage, first ${missing[0]}` })
  }
  const playlists = buildHls({ ...tracks, folderOf, sizeOf: (track, file) => stored.get(keyOf(track, file)) })
  if (Result.isFailure(playlists)) return yield* playlists.failure
  const pictures = yield* publishablePictures(job, tracks.video, stored)
  const storyboardKey = pictures.storyboard === undefined ? undefined : `${job.outputPrefix}${storyboardName}`
  if (storyboardKey !== undefined && pictures.storyboard !== undefined) {
    yield* storage.put("outputs", storyboardKey, pictures.storyboard, { contentType: "text/vtt", ifNoneMatch: true }).pipe(
      Effect.catchTag("ObjectExists", () => Effect.void)
    )
  }

  // HLS first, each playlist written once (create-if-absent, the same bytes if a finalizer
  // before us died half way), media playlists before the master naming them, and the MPD last:
  // a player never finds a playlist naming a file that is not there.
  yield* Effect.forEach(playlists.success, (playlist) =>
    storage.put("outputs", `${job.outputPrefix}${playlist.path}`, playlist.body, { contentType: hlsContentType, ifNoneMatch: true }).pipe(
      Effect.catchTag("ObjectExists", () => Effect.void)
    ), { discard: true })

  const manifestKey = manifestKeyOf(job)
  const wrote = yield* storage.put("outputs", manifestKey, built.success, { contentType: "application/dash+xml", ifNoneMatch: true }).pipe(
    Effect.as(true),
    Effect.catchTag("ObjectExists", () => Effect.succeed(false))
  )
  if (wrote) yield* metrics.record("JobsFinalized", 1, { jobId })
  let stillHolder = yield* coordinator.markFinalized(lease)
  if (!stillHolder) {
    // The lease ran out while we worked. If nobody took it over, take it again and finish; if
    // someone did, that holder finishes (and counts the run): only our manifest write is ours.
    const renewed = yield* coordinator.claimFinalize({ jobId, owner: lease.owner, leaseFor: (yield* PipelineSettings).finalizeLease })
    if (Option.isSome(renewed)) stillHolder = yield* coordinator.markFinalized(renewed.value)
  }
  const now = yield* Clock.currentTimeMillis
  const marked = yield* store.update(jobId, (current) => {
    const next: Job = {
    ...current,
    ...(stillHolder ? {
      status: "ready" as const,
      manifestKey,
      hlsKey: hlsKeyOf(job),
      ...(pictures.posterKey === undefined ? {} : { posterKey: pictures.posterKey }),
      ...(storyboardKey === undefined ? {} : { storyboardKey }),
      ...(tracks.captions.length === 0 ? {} : { captions: tracks.captions }),
      finishedAt: current.finishedAt ?? now, finalizeRuns: (current.finalizeRuns ?? 0) + 1
    } : {}),
    updatedAt: now,
    // Create-if-absent: a manifest found in place was written once, maybe by a finalizer that died before recording it.
    manifestWrites: wrote ? (current.manifestWrites ?? 0) + 1 : Math.max(current.manifestWrites ?? 0, 1)
    }
    // `job.ready` goes in the same write as the status: only the write that makes the job ready records it.
    return stillHolder && current.status !== "ready" ? recordEvent(next, "job.ready", now) : next
  })
  if (stillHolder && marked.status === "ready") yield* (yield* FaultInjection).afterMarkedReady
  yield* Effect.logInfo(`job ${jobId}: ${stillHolder ? "ready" : "published by the finalizer that took the lease over"} (${manifestKey}${wrote ? "" : ", manifest was already published"})`)
  return { manifestKey, wrote }
})
