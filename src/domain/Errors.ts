/**
 * Typed errors shared by services and programs. Each carries what a caller needs to decide:
 * `retryable` says whether trying the same thing again can succeed.
 */
import { Schema } from "effect"

/** What every backend failure carries: the operation, why, and whether retrying can help. */
const backendFailure = {
  operation: Schema.String,
  reason: Schema.String,
  retryable: Schema.Boolean
}

/** The input is not a video we can turn into a presentation (empty, not media, no video stream…). */
export class UnusableInput extends Schema.TaggedError<UnusableInput>()("UnusableInput", {
  reason: Schema.String
}) {
  readonly retryable = false
  override get message() {
    return this.reason
  }
}

/** A caption file that is not what it claims (SubRip, WebVTT): names the file and the line. */
export class CaptionsInvalid extends Schema.TaggedError<CaptionsInvalid>()("CaptionsInvalid", {
  file: Schema.String,
  line: Schema.Int,
  reason: Schema.String
}) {
  readonly retryable = false
  override get message() {
    return `captions ${this.file}, line ${this.line}: ${this.reason}`
  }
}

/** A local input path that does not exist or cannot be read. */
export class SourceNotFound extends Schema.TaggedError<SourceNotFound>()("SourceNotFound", {
  path: Schema.String
}) {
  readonly retryable = false
  override get message() {
    return `input file not found: ${this.path}`
  }
}

/** ffmpeg or ffprobe exited badly, or could not be started. */
export class FfmpegFailed extends Schema.TaggedError<FfmpegFailed>()("FfmpegFailed", {
  operation: Schema.String,
  reason: Schema.String,
  exitCode: Schema.optional(Schema.Number),
  retryable: Schema.Boolean
}) {
  override get message() {
    return `${this.operation} failed${this.exitCode === undefined ? "" : ` (exit ${this.exitCode})`}: ${this.reason}`
  }
}

/** A task ran past its time budget. */
export class TaskTimedOut extends Schema.TaggedError<TaskTimedOut>()("TaskTimedOut", {
  taskId: Schema.String,
  seconds: Schema.Number
}) {
  readonly retryable = true
  override get message() {
    return `task ${this.taskId} did not finish within ${this.seconds} s`
  }
}

export class StorageFailed extends Schema.TaggedError<StorageFailed>()("StorageFailed", {
  operation: Schema.String,
  key: Schema.String,
  reason: Schema.String,
  retryable: Schema.Boolean
}) {
  override get message() {
    return `storage ${this.operation} ${this.key}: ${this.reason}`
  }
}

export class ObjectNotFound extends Schema.TaggedError<ObjectNotFound>()("ObjectNotFound", {
  key: Schema.String
}) {
  readonly retryable = false
  override get message() {
    return `object not found: ${this.key}`
  }
}

/** A conditional write (`ifNoneMatch`) found the object already there. */
export class ObjectExists extends Schema.TaggedError<ObjectExists>()("ObjectExists", {
  key: Schema.String
}) {
  readonly retryable = false
  override get message() {
    return `object already exists: ${this.key}`
  }
}

export class QueueFailed extends Schema.TaggedError<QueueFailed>()("QueueFailed", backendFailure) {
  override get message() {
    return `queue ${this.operation}: ${this.reason}`
  }
}

/** The receipt no longer names an in-flight delivery (its visibility ran out, or it was deleted). */
export class ReceiptExpired extends Schema.TaggedError<ReceiptExpired>()("ReceiptExpired", {
  receipt: Schema.String
}) {
  readonly retryable = false
  override get message() {
    return `receipt is no longer valid: ${this.receipt}`
  }
}

export class JobNotFound extends Schema.TaggedError<JobNotFound>()("JobNotFound", {
  jobId: Schema.String
}) {
  readonly retryable = false
  override get message() {
    return `job not found: ${this.jobId}`
  }
}

export class JobStoreFailed extends Schema.TaggedError<JobStoreFailed>()("JobStoreFailed", backendFailure) {
  override get message() {
    return `job store ${this.operation}: ${this.reason}`
  }
}

export class CoordinatorFailed extends Schema.TaggedError<CoordinatorFailed>()("CoordinatorFailed", backendFailure) {
  override get message() {
    return `coordinator ${this.operation}: ${this.reason}`
  }
}

/** The manifest could not be built or did not pass its checks; nothing was published. */
export class ManifestInvalid extends Schema.TaggedError<ManifestInvalid>()("ManifestInvalid", {
  reason: Schema.String
}) {
  readonly retryable = false
  override get message() {
    return `manifest not published: ${this.reason}`
  }
}

/** The job ended `failed`; carries the first error that failed it. */
export class JobFailed extends Schema.TaggedError<JobFailed>()("JobFailed", {
  jobId: Schema.String,
  errorTag: Schema.String,
  reason: Schema.String
}) {
  readonly retryable = false
  override get message() {
    return this.reason
  }
}

/** The upload service (S3's multipart calls, or the local store's) failed; nothing was changed. */
export class UploadFailed extends Schema.TaggedError<UploadFailed>()("UploadFailed", backendFailure) {
  override get message() {
    return `upload ${this.operation}: ${this.reason}`
  }
}

/** The multipart upload is not in progress: completed already, aborted, or never started (S3 NoSuchUpload). */
export class UploadNotFound extends Schema.TaggedError<UploadNotFound>()("UploadNotFound", {
  uploadId: Schema.String
}) {
  readonly retryable = false
  override get message() {
    return `no multipart upload in progress with id ${this.uploadId}`
  }
}

/**
 * Storage refused to assemble the parts as listed (S3 InvalidPart, InvalidPartOrder,
 * EntityTooSmall): `field` names the part at fault; nothing was stored.
 */
export class PartsRejected extends Schema.TaggedError<PartsRejected>()("PartsRejected", {
  field: Schema.String,
  reason: Schema.String
}) {
  readonly retryable = false
  override get message() {
    return this.reason
  }
}

/**
 * A completion came while parts of the same upload were still being received (`vidpipe serve`
 * assembling in place): completing now could publish a source those parts then change. Nothing
 * was published; complete again once every part has been answered.
 */
export class PartsInFlight extends Schema.TaggedError<PartsInFlight>()("PartsInFlight", {
  uploadId: Schema.String,
  count: Schema.Number
}) {
  readonly retryable = true
  override get message() {
    return `${this.count} part(s) of this upload are still being received; complete it once every part has been answered`
  }
}

/**
 * A worker's disk cannot hold what a task needs (its copy of the source, its outputs, the reserve
 * kept free): the worker refuses the task and hands it back at once, for a worker with room.
 */
export class DiskTooSmall extends Schema.TaggedError<DiskTooSmall>()("DiskTooSmall", {
  /** The folder whose file system is short: the source copies' folder or the work folder. */
  folder: Schema.String,
  neededBytes: Schema.Number,
  freeBytes: Schema.Number
}) {
  readonly retryable = true
  override get message() {
    const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`
    return `not enough free disk for this task in ${this.folder}: ${mib(this.neededBytes)} needed, ${mib(this.freeBytes)} free`
  }
}

export class WebhookStoreFailed extends Schema.TaggedError<WebhookStoreFailed>()("WebhookStoreFailed", backendFailure) {
  override get message() {
    return `webhook store ${this.operation}: ${this.reason}`
  }
}

export class WebhookNotFound extends Schema.TaggedError<WebhookNotFound>()("WebhookNotFound", {
  /** The endpoint's id, or a delivery's. */
  id: Schema.String
}) {
  readonly retryable = false
  override get message() {
    return `no webhook ${this.id}`
  }
}

/** An endpoint URL vidpipe will not call: not http(s), or its host is (or resolves to) a private address. */
export class WebhookUrlRefused extends Schema.TaggedError<WebhookUrlRefused>()("WebhookUrlRefused", {
  url: Schema.String,
  reason: Schema.String
}) {
  readonly retryable = false
  override get message() {
    return `webhook URL refused: ${this.reason}`
  }
}
