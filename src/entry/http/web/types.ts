// Types of the browser code in this folder (checked with tsconfig.web.json) that the server side
// and the tests share: the state each page exposes for tests, the engine interface of the player,
// and the parts of the API's answers the web app reads. Types only: nothing here runs.

export type PlayerEngineName = "dashjs" | "shaka" | "hlsjs"

export interface Representation {
  id: string
  width: number
  height: number
  bandwidth: number
}

/** A caption track as the engine lists it. */
export interface TextTrackInfo {
  language: string
  label: string
}

/**
 * The player's part of a page's test hook (player.js keeps it): `window.__player` on the /player
 * page and `window.__vidpipe` on the web app both have these fields.
 */
export interface PlayerState {
  /** The engine of the last play() (the page's default until then). */
  engine: PlayerEngineName
  /** The manifest being played, or null. */
  src: string | null
  /** The engine has loaded the stream: its video representations are known and `select` works. */
  playerReady: boolean
  /** The stream's video representations, largest first. */
  representations: Array<Representation>
  /** The video representation on screen (dash.js: rendered; Shaka: the variant it streams). */
  currentRepresentation: string | null
  /** "auto" or a pinned representation id. */
  selection: string
  readonly videoWidth: number
  readonly videoHeight: number
  readonly currentTime: number
  /** Pins a video representation (or "auto" for ABR); false if nothing is loaded or no such id. */
  readonly select: (id: string) => boolean
  /** The stream's caption tracks, in the engine's order. */
  textTracks: Array<TextTrackInfo>
  /** The caption track shown (its index in `textTracks`), -1 for none. */
  textTrack: number
  /** Shows caption track `index` (-1: none); false if nothing is loaded or no such track. */
  readonly selectText: (index: number) => boolean
  /** The poster shown before playback (the presentation's poster.jpg), or null. */
  poster: string | null
  /** Thumbnails the storyboard beside the manifest has (0: none, or not loaded yet). */
  storyboardCues: number
  /** The scrub bar's thumbnail for time `t`, as hovering there shows it; null without a storyboard. */
  readonly previewAt: (t: number) => { image: string; x: number; y: number; w: number; h: number } | null
}

/** `window.__player` on the /player page. */
export interface PlayerPageState extends PlayerState {
  /** Engine, playback, video and page errors, in order. */
  errors: Array<string>
}

/** `window.__vidpipe` on the web app. */
export interface WebAppState extends PlayerState {
  /** The job shown in the job panel (just uploaded, or opened from the list). */
  jobId: string | null
  status: JobStatus | null
  /** Overall progress of the shown job, 0..1. */
  progress: number
  /** The last view received for the shown job. */
  job: JobSummary | null
  /** Fraction of the file the last upload from this page has sent, 0..1. */
  uploadProgress: number
  /** The upload this page is sending or last sent, or null. */
  upload: UploadState | null
  /** The unfinished upload remembered across reloads, or null. */
  pendingUpload: PendingUpload | null
  /** Everything that went wrong since the page loaded (API, upload, job failures, player, page errors). */
  errors: Array<string>
}

/** One engine (dash.js, Shaka Player or hls.js) playing one manifest or playlist; player.js drives it. */
export interface Engine {
  /** "auto" (adaptive) or the id of one of the representations the engine listed. */
  readonly select: (id: string) => void
  /** Shows the caption track at this index of those it listed, or none (-1). */
  readonly selectText: (index: number) => void
  readonly destroy: () => void
}

export interface EngineEvents {
  readonly error: (message: string) => void
  /** The stream is loaded; these are its video representations and caption tracks. */
  readonly ready: (representations: ReadonlyArray<Representation>, textTracks: ReadonlyArray<TextTrackInfo>) => void
  /** The video representation now on screen (null: none known). */
  readonly rendered: (id: string | null) => void
}

/** Starts playing `src` in `video`; undefined when the engine cannot start (told through `events.error`). */
export type StartEngine = (video: HTMLVideoElement, src: string, events: EngineEvents) => Engine | undefined

// The API's answers as the web app reads them (a subset of src/domain/JobView.ts and
// src/entry/http/api/Api.ts; test/entry/webAssets.test.ts checks that the real ones fit).

export type JobStatus = "awaiting-upload" | "queued" | "processing" | "ready" | "failed"

export interface ErrorSummary {
  readonly _tag: string
  readonly message: string
}

export interface TaskSummary {
  readonly label: string
  readonly status: string
  readonly progress: number
  readonly attempts: number
  readonly error?: ErrorSummary | undefined
}

export interface JobSummary {
  readonly jobId: string
  readonly status: JobStatus
  readonly fileName: string
  readonly progress: number
  readonly tasks: ReadonlyArray<TaskSummary>
  readonly createdAt?: string | undefined
  readonly renditions?: ReadonlyArray<{ readonly width: number; readonly height: number }> | undefined
  readonly error?: ErrorSummary | undefined
  readonly playback?: {
    readonly manifest: string
    readonly player: string
    readonly hls?: string | undefined
    readonly poster?: string | undefined
    readonly storyboard?: string | undefined
  } | undefined
}

export interface JobListPage {
  readonly jobs: ReadonlyArray<JobSummary>
  readonly nextCursor?: string | undefined
}

/** One signed PUT: the whole source, or one part of it (the PUT must start by `expiresAt`). */
export interface SignedPut {
  readonly url: string
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly expiresAt: string
}

/** How a large source is cut: every part but the last is `partSize` bytes. */
export interface MultipartLayout {
  readonly contentLength: number
  readonly partSize: number
  readonly partCount: number
}

export interface CreatedJob {
  readonly jobId: string
  readonly upload:
    | ({ readonly kind: "single" } & SignedPut)
    | ({ readonly kind: "multipart" } & MultipartLayout)
}

/** POST /v1/jobs/{id}/upload/parts */
export interface PartUrlList {
  readonly parts: ReadonlyArray<SignedPut & { readonly partNumber: number }>
}

/** GET /v1/jobs/{id}/upload: what is stored so far of a multipart upload. */
export interface StoredUpload extends MultipartLayout {
  readonly kind: "multipart"
  readonly parts: ReadonlyArray<{ readonly partNumber: number; readonly size: number; readonly etag: string }>
}

/** The upload this page is sending or last sent (`window.__vidpipe.upload`). */
export interface UploadState {
  readonly jobId: string
  readonly kind: "single" | "multipart"
  readonly partCount: number
  /** Resumed after a reload (or a failure): only the parts not stored were to be sent. */
  readonly resumed: boolean
  /** The parts the server had when this page started sending (a resumed upload's). */
  readonly storedAtStart: Array<number>
  /** Part numbers this page PUT, in order of completion (a part sent twice is listed twice). */
  readonly partsSent: Array<number>
  /** Completed (multipart) or the single PUT answered. */
  done: boolean
}

/** An upload in progress as the page remembers it across reloads (localStorage). */
export interface PendingUpload {
  readonly jobId: string
  readonly fileName: string
  readonly size: number
  readonly lastModified: number
  readonly partCount: number
}
