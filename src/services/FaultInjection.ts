/**
 * Hooks where tests inject crashes at moments no signal can hit reliably (a finalizer that dies
 * right after winning its lease, or right after marking the job ready). They do nothing unless a
 * test entry point provides them.
 */
import type { Effect } from "effect"
import { Context, Effect as E } from "effect"

export interface FaultInjectionShape {
  readonly afterLeaseWon: Effect.Effect<void>
  /** After the finalizer's write that made the job ready (and recorded `job.ready`) returned. */
  readonly afterMarkedReady: Effect.Effect<void>
}

export const FaultInjection = Context.Reference<FaultInjectionShape>("vidpipe/FaultInjection", {
  defaultValue: () => ({ afterLeaseWon: E.void, afterMarkedReady: E.void })
})
