/**
 * What a process tells whoever watches it: a background task that failed (persist: a spawned
 * task that panicked, logged and gone) and a shard that finished opening. A `Context.Reference`
 * whose default does nothing, so core runs the same watched or not; the simulator provides one
 * per process to report panics and to compare each process's cached state with the truth.
 */
import { type Cause, Context } from "effect"
import type { ShardId } from "./Ids.ts"
import type { Machine } from "./Machine.ts"

export interface ProcessObserverShape {
  /** A background task failed (its interruption is not a failure). */
  readonly backgroundFailure: (cause: Cause.Cause<unknown>) => void
  /** The process opened `shardId`; `machine` holds its cached state from now on. */
  readonly shardOpened: (shardId: ShardId, machine: Machine) => void
}

export const unobserved: ProcessObserverShape = { backgroundFailure: () => {}, shardOpened: () => {} }

export class ProcessObserver extends Context.Reference<ProcessObserver>()("persist/ProcessObserver", {
  defaultValue: (): ProcessObserverShape => unobserved
}) {}
