/**
 * Decides, atomically, which worker finalizes a job. Completions are recorded idempotently;
 * the completion that makes the set whole wins a lease to finalize. A lease has a fencing token
 * and an expiry: when its holder dies, the next completion or `claimFinalize` after the expiry
 * wins a new lease with a higher token, and only the current holder can mark the job finalized.
 */
import type { Duration, Effect, Option } from "effect"
import { Context } from "effect"
import type { CoordinatorFailed } from "../domain/Errors.ts"

export interface FinalizeLease {
  readonly jobId: string
  readonly owner: string
  /** Strictly increasing per job: a stale holder's token is refused. */
  readonly token: number
  readonly expiresAt: number
}

export interface CompletionOutcome {
  readonly completed: number
  readonly total: number
  /** Present for exactly one caller at a time: the one that must finalize now. */
  readonly lease: Option.Option<FinalizeLease>
}

export interface CoordinationState {
  readonly completed: ReadonlyArray<string>
  readonly total: number | undefined
  readonly finalized: boolean
  readonly lease: Option.Option<FinalizeLease>
}

export interface CoordinatorShape {
  readonly complete: (input: {
    readonly jobId: string
    readonly taskId: string
    readonly total: number
    readonly owner: string
    readonly leaseFor: Duration.Input
  }) => Effect.Effect<CompletionOutcome, CoordinatorFailed>
  /** Wins the lease if every task is complete, the job is not finalized and no live lease exists. */
  readonly claimFinalize: (input: { readonly jobId: string; readonly owner: string; readonly leaseFor: Duration.Input }) => Effect.Effect<Option.Option<FinalizeLease>, CoordinatorFailed>
  /** Extends a live lease; false when the token no longer holds it. */
  readonly renewLease: (lease: FinalizeLease, leaseFor: Duration.Input) => Effect.Effect<boolean, CoordinatorFailed>
  /** Records the job as finalized; false (and no change) when the token no longer holds the lease. */
  readonly markFinalized: (lease: FinalizeLease) => Effect.Effect<boolean, CoordinatorFailed>
  readonly state: (jobId: string) => Effect.Effect<CoordinationState, CoordinatorFailed>
  /** Drops a job's records (after deletion, or to re-run it from scratch). */
  readonly forget: (jobId: string) => Effect.Effect<void, CoordinatorFailed>
}

export class Coordinator extends Context.Service<Coordinator, CoordinatorShape>()("vidpipe/Coordinator") {}
