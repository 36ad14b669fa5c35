/**
 * Timing and policy knobs shared by the programs, with defaults that suit a real deployment;
 * tests and the CLI override them by providing this reference.
 */
import { Context, Duration } from "effect"
import type { EncodeRates } from "../domain/WorkEstimate.ts"
import { defaultEncodeRates } from "../domain/WorkEstimate.ts"

export interface PipelineSettingsShape {
  readonly segmentSeconds: number
  /** Long-poll wait of an idle worker (SQS allows at most 20 s). */
  readonly pollSeconds: number
  /** How long a received task stays hidden from other workers without a heartbeat. */
  readonly visibility: Duration.Duration
  /** Heartbeat period; well under the visibility so one missed beat is harmless. */
  readonly heartbeatEvery: Duration.Duration
  /** Upper bound on one encode, after which it is abandoned and retried. */
  readonly taskTimeout: Duration.Duration
  /** How long a finalizer holds its lease before another worker may take over. */
  readonly finalizeLease: Duration.Duration
  /** Receives before a task is dead-lettered (and its job failed). */
  readonly maxReceiveCount: number
  /** In-delivery retries of a transient failure before handing the task back to the queue. */
  readonly transientRetries: number
  /** How often each worker's sweeper looks for stuck jobs. */
  readonly sweepEvery: Duration.Duration
  /** An unfinished job untouched this long has lost its messages: the sweeper sends them again. */
  readonly staleAfter: Duration.Duration
  /** What a task's encode-seconds estimate is computed with (the work the fleet is sized on). */
  readonly encodeRates: EncodeRates
}

export const defaultPipelineSettings: PipelineSettingsShape = {
  segmentSeconds: 4,
  pollSeconds: 20,
  visibility: Duration.seconds(60),
  heartbeatEvery: Duration.seconds(20),
  taskTimeout: Duration.hours(3),
  finalizeLease: Duration.seconds(60),
  maxReceiveCount: 5,
  transientRetries: 2,
  sweepEvery: Duration.seconds(30),
  staleAfter: Duration.minutes(15),
  encodeRates: defaultEncodeRates
}

export const PipelineSettings = Context.Reference<PipelineSettingsShape>("vidpipe/PipelineSettings", {
  defaultValue: () => defaultPipelineSettings
})
