/**
 * The sweeper's rule for dead letters (which run of a task a dead letter belongs to), on job
 * records alone. The end-to-end behaviour, with workers that really die, is poison.e2e.test.ts.
 */
import { describe, expect, it } from "vitest"
import { Duration } from "effect"
import type { Job, TaskState } from "../../src/domain/Job.ts"
import { deadLetterError, deadLetterFails } from "../../src/programs/sweeper.ts"

const settings = { maxReceiveCount: 3, visibility: Duration.seconds(10) }
const now = 1_000_000

const jobWith = (video: Partial<TaskState>, job: Partial<Job> = {}): Job => ({
  id: "j1",
  status: "processing",
  createdAt: now - 60_000,
  updatedAt: now - 11_000,
  fileName: "clip.mp4",
  sourceKey: "j1/clip.mp4",
  outputPrefix: "j1/",
  segmentSeconds: 4,
  tasks: [
    { taskId: "j1.audio", kind: "audio", label: "audio", status: "done", progress: 1, attempts: 1 },
    { taskId: "j1.video.240p", kind: "video", label: "240p 320x240", status: "running", progress: 0.4, attempts: 3, ...video }
  ],
  ...job
})

describe("a dead-lettered task fails its job", () => {
  it("when its last allowed delivery started and nothing has touched the job for a visibility timeout", () => {
    expect(deadLetterFails(jobWith({}), "j1.video.240p", settings, now)).toBe(true)
  })

  it("not while a worker may still be on it: the job changed within the visibility timeout", () => {
    expect(deadLetterFails(jobWith({}, { updatedAt: now - 9_000 }), "j1.video.240p", settings, now)).toBe(false)
  })

  it("not for an earlier run: a retried task is queued again, a rerun one counts its receives afresh", () => {
    expect(deadLetterFails(jobWith({ status: "queued" }, { status: "queued" }), "j1.video.240p", settings, now)).toBe(false)
    expect(deadLetterFails(jobWith({ attempts: 1 }), "j1.video.240p", settings, now)).toBe(false)
  })

  it("not when the task finished after all, the job is over, or the task is not the job's", () => {
    expect(deadLetterFails(jobWith({ status: "done" }), "j1.video.240p", settings, now)).toBe(false)
    expect(deadLetterFails(jobWith({}, { status: "failed" }), "j1.video.240p", settings, now)).toBe(false)
    expect(deadLetterFails(jobWith({}, { status: "ready" }), "j1.video.240p", settings, now)).toBe(false)
    expect(deadLetterFails(jobWith({}), "j2.video.240p", settings, now)).toBe(false)
  })

  it("says which task, how many receives, and where it went", () => {
    expect(deadLetterError("240p 320x240", 3)).toEqual({
      _tag: "TaskDeadLettered",
      message: "task 240p 320x240 was received 3 times and never finished (its worker crashed or was stopped each time); it is in the dead-letter queue"
    })
  })
})
