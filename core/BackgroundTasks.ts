/**
 * A process's background work (spec ALG-M): spawned tasks live in the process scope, so a
 * crash (closing the scope) stops all of them at once; a failed task dies alone and is
 * reported to the ProcessObserver, as a panicking spawned task is logged in persist.
 * Maintenance goes here too: GC to the shard's worker, the rollup in its own task, and
 * whatever follow-up those produce.
 */
import { Cause, Deferred, Effect, type Scope } from "effect"
import { withTask } from "./Attribution.ts"
import type { GarbageCollector } from "./Gc.ts"
import type { Machine } from "./Machine.ts"
import { RoutineMaintenance } from "./Maintenance.ts"
import { assert } from "./Panic.ts"
import type { ProcessObserverShape } from "./ProcessObserver.ts"

export interface ShardHandle {
  readonly machine: Machine
  readonly gc: GarbageCollector
}

export class BackgroundTasks {
  constructor(
    /** Background fibers live here; closing it is a crash of the process. */
    readonly scope: Scope.Scope,
    private readonly observer: ProcessObserverShape
  ) {}

  /** Forks `effect` into the process scope (persist: a spawned task). */
  spawn<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<void> {
    return Effect.asVoid(Effect.forkIn(this.reportFailures(effect), this.scope))
  }

  /** Hands a background task's failure (not its interruption) to the observer. */
  reportFailures<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<void> {
    return Effect.catchAllCause(Effect.asVoid(effect), (cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : Effect.sync(() => this.observer.backgroundFailure(cause))
    )
  }

  /**
   * `perform_in_background`: GC goes to the shard's worker, the rollup to its own task;
   * whatever maintenance those produce is performed in turn.
   */
  performInBackground(handle: ShardHandle, m: RoutineMaintenance): Effect.Effect<void> {
    if (RoutineMaintenance.isEmpty(m)) return Effect.void
    return this.spawn(this.perform(handle, m))
  }

  /** Performs maintenance and any follow-up it produces, in this fiber. */
  perform(handle: ShardHandle, m: RoutineMaintenance): Effect.Effect<void> {
    return Effect.gen(function* () {
      let next = m
      while (!RoutineMaintenance.isEmpty(next)) {
        let followUp = RoutineMaintenance.none
        const gc = next.garbageCollection
        const gcDone = gc === null ? null : yield* handle.gc.gcAndTruncateBackground(gc)
        if (next.writeRollup !== null) {
          const rollupSeqno = next.writeRollup
          const machine = handle.machine
          const rollup = Effect.gen(function* () {
            // Any recent state will do; we only need one at least as new as the assignment.
            if (machine.seqno < rollupSeqno) yield* machine.applier.fetchAndUpdateState(rollupSeqno)
            assert(machine.seqno >= rollupSeqno, () => `rollup seqno ${rollupSeqno} is ahead of our state ${machine.seqno}`)
            return yield* machine.addRollupForCurrentSeqno()
          })
          followUp = RoutineMaintenance.merge(followUp, yield* withTask("rollup")(rollup))
        }
        if (gcDone !== null) followUp = RoutineMaintenance.merge(followUp, yield* Deferred.await(gcDone))
        next = followUp
      }
    })
  }
}
