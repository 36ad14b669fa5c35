/**
 * How the process reacts to signals. SIGINT (Ctrl-C) interrupts at once. SIGTERM asks a
 * command that can drain (the worker) to drain; any other command is interrupted.
 */
import { Deferred, Effect, Exit } from "effect"

const drainRequested = Deferred.makeUnsafe<void>()
let drainable = false

/** Completes when SIGTERM asks for a drain; marks the running command as able to drain. */
export const awaitDrainRequest = Effect.suspend(() => {
  drainable = true
  return Deferred.await(drainRequested)
})

export const onSigterm = (interrupt: () => void) => {
  if (drainable) Deferred.doneUnsafe(drainRequested, Exit.void)
  else interrupt()
}
