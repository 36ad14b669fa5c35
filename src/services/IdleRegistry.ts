/**
 * The `KillMe` set: workers that found nothing to do register here with the time they became idle,
 * and leave it when they take a task. Scale-in may only remove instances listed here (the
 * protector reads it); an entry not refreshed within the staleness window no longer counts.
 */
import type { Duration, Effect } from "effect"
import { Context } from "effect"
import type { CoordinatorFailed } from "../domain/Errors.ts"

export interface IdleEntry {
  readonly instanceId: string
  /** When it became idle (kept across repeated empty polls). */
  readonly idleSince: number
  /** When it last said it is still idle. */
  readonly seenAt: number
}

export interface IdleRegistryShape {
  /** Registers (or refreshes) an idle instance; an instance already idle keeps its `idleSince`. */
  readonly markIdle: (instanceId: string) => Effect.Effect<void, CoordinatorFailed>
  readonly markBusy: (instanceId: string) => Effect.Effect<void, CoordinatorFailed>
  /** Idle instances seen within `freshWithin`, longest idle first. */
  readonly idle: (freshWithin: Duration.Input) => Effect.Effect<ReadonlyArray<IdleEntry>, CoordinatorFailed>
}

export class IdleRegistry extends Context.Service<IdleRegistry, IdleRegistryShape>()("vidpipe/IdleRegistry") {}
