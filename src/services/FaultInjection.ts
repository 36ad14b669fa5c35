/**
 * Hooks where tests inject crashes at moments no signal can hit reliably (a finalizer that dies
 * right after winning its lease). They do nothing unless a test entry point provides them.
 */
import type { Effect } from "effect"
import { Context, Effect as E } from "effect"

export interface FaultInjectionShape {
  readonly afterLeaseWon: Effect.Effect<void>
}

export const FaultInjection = Context.Reference<FaultInjectionShape>("vidpipe/FaultInjection", {
  defaultValue: () => ({ afterLeaseWon: E.void })
})
