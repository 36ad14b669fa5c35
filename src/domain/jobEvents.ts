/**
 * Recording a job's events in its own record (the outbox), inside the same store update as the
 * change they report: the update either writes both or neither, so an event is never lost to a
 * process dying between "the job is ready" and "tell the customer".
 */
import { randomBytes } from "node:crypto"
import type { Job, JobEvent, JobEventType, JobSnapshot } from "./Job.ts"

/** An event id: 128 bits from the cryptographic source. */
export const newEventId = () => `evt_${randomBytes(16).toString("hex")}`

/**
 * What an event keeps of the job: everything its view shows. The probe, sidecar caption texts and
 * upload layout are left out: they can be large and no view shows them.
 */
const snapshotOf = (job: Job): JobSnapshot => {
  const { outbox: _outbox, probe: _probe, sidecarCaptions: _captions, multipartUpload: _upload, ...rest } = job
  return rest
}

/**
 * `job` with `type` recorded in its outbox, as it is after the change. Only a job with an owner
 * (an API key) records events: nobody else can have endpoints to tell. Callers record an event
 * only when their change is the transition it names (the store's update is atomic, so exactly one
 * writer makes a given transition); the id is drawn here, so a re-run change draws a new one and
 * only the stored run's event exists.
 */
export const recordEvent = (job: Job, type: JobEventType, at: number): Job =>
  job.owner === undefined ? job : { ...job, outbox: [...(job.outbox ?? []), { id: newEventId(), type, at, job: snapshotOf(job) }] }

/** `job` without the events whose ids are given (they were relayed). */
export const withoutEvents = (job: Job, relayed: ReadonlySet<string>): Job => {
  const left = (job.outbox ?? []).filter((event) => !relayed.has(event.id))
  const { outbox: _outbox, ...rest } = job
  return left.length === 0 ? rest : { ...rest, outbox: left }
}

/** The events waiting in a job's outbox. */
export const pendingEvents = (job: Job): ReadonlyArray<JobEvent> => job.outbox ?? []
