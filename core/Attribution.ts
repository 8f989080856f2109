/**
 * Who sent a store request: the task of the process (its command loop, the GC worker, a rollup,
 * a heartbeat, a compaction, the shard's init), the command given to the applier, the
 * StateVersions operation that made the call, and the retry site and attempt.
 *
 * Persist names these in its spans and metrics; here they ride on a FiberRef that core sets
 * where it already names the operation, so a forked task inherits its parent's and narrows
 * it. core only writes it; an observer (the simulator's stores) reads it when a request is
 * made. Nothing here changes what core does.
 */
import { Effect, FiberRef } from "effect"

export type Task = "cmd" | "init" | "gc-worker" | "rollup" | "heartbeat" | "compaction" | "janitor"

export interface Attribution {
  readonly task: Task
  /** The command given to the applier (`compare_and_append`, `add_rollup`, …), or "" outside one. */
  readonly cmd: string
  /** Which try of `cmd` this is, for the loops that retry a whole command (1 otherwise). */
  readonly cmdAttempt: number
  /** The StateVersions (or batch) operation that made the call, persist's snake_case name. */
  readonly op: string
  /** The retry site (`maybeInitCas`, `applyUnbatchedCmdCas`, …), or "" for a call that is not retried. */
  readonly site: string
  /** 1 for the first try at `site`, then one more per retry. */
  readonly attempt: number
}

export const noAttribution: Attribution = { task: "cmd", cmd: "", cmdAttempt: 0, op: "", site: "", attempt: 0 }

export const CurrentAttribution: FiberRef.FiberRef<Attribution> = FiberRef.unsafeMake(noAttribution)

/** Runs `effect` as `task` (a forked background task inherits it). */
export const withTask =
  (task: Task) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.locallyWith(effect, CurrentAttribution, (a) => ({ ...a, task }))

/**
 * Runs `effect` as try `cmdAttempt` of the applier command `cmd`; without a number, keeps the
 * try an enclosing loop set for the same command (or 1).
 */
export const withCmd =
  (cmd: string, cmdAttempt?: number) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.locallyWith(effect, CurrentAttribution, (a) => ({
      ...a,
      cmd,
      cmdAttempt: cmdAttempt ?? (a.cmd === cmd ? a.cmdAttempt : 1),
      op: "",
      site: "",
      attempt: 0
    }))

/** Runs `effect` as the StateVersions operation `op`; the innermost operation wins. */
export const withOp =
  (op: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.locallyWith(effect, CurrentAttribution, (a) => ({ ...a, op, site: "", attempt: 0 }))

/** Runs `effect` as attempt `attempt` at retry site `site`. */
export const withAttempt = <A, E, R>(site: string, attempt: number, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locallyWith(effect, CurrentAttribution, (a) => ({ ...a, site, attempt }))
