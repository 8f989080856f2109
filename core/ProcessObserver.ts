/**
 * What a process tells whoever watches it: a background task that failed (persist: a spawned
 * task that panicked, logged and gone) and a shard that finished opening. A `Context.Reference`
 * whose default does nothing, so core runs the same watched or not; the simulator provides one
 * per process to report panics and to compare each process's cached state with the truth.
 */
import { type Cause, Context, type Deferred } from "effect"
import type { ShardId } from "./Ids.ts"
import type { Machine } from "./Machine.ts"
import type { RoutineMaintenance } from "./Maintenance.ts"

/**
 * The GC worker's events (core/Gc.ts), for a watcher that checks the worker runs, merges and
 * answers (sim/check/GcAudit.ts). Reporting only: nothing in core reads them back.
 */
export interface GcObserver {
  /** A request was queued; its caller waits on `done`. */
  readonly queued: (seqnoSince: number, done: Deferred.Deferred<RoutineMaintenance>) => void
  /** A pass started on the merged request, having taken `taken` queued requests. */
  readonly passStarted: (mergedSeqnoSince: number, taken: number) => void
  /** The pass finished and its callers were answered. */
  readonly passFinished: () => void
}

export interface ProcessObserverShape {
  /** A background task failed (its interruption is not a failure). */
  readonly backgroundFailure: (cause: Cause.Cause<unknown>) => void
  /** The process opened `shardId`; `machine` holds its cached state from now on. */
  readonly shardOpened: (shardId: ShardId, machine: Machine) => void
  /** The shard's GC worker, when watched. */
  readonly gc?: GcObserver
}

export const unobserved: ProcessObserverShape = { backgroundFailure: () => {}, shardOpened: () => {} }

export class ProcessObserver extends Context.Reference<ProcessObserver>()("persist/ProcessObserver", {
  defaultValue: (): ProcessObserverShape => unobserved
}) {}
