/**
 * The Applier (spec ALG-APPLY, ALG-FETCH): a process's shared cached State for one shard and
 * the loop that turns a pure command into a committed version.
 *
 * All handles of a process share one Applier (through the StateCache), so the cached state
 * is shared too. It never regresses (INV-4): every update checks the seqno.
 */
import { Clock, Effect, Either } from "effect"
import { Antichain } from "./Antichain.ts"
import { withCmd, withOp } from "./Attribution.ts"
import { BugSwitches } from "./BugSwitches.ts"
import type { Indeterminate } from "./Errors.ts"
import type { ShardId } from "./Ids.ts"
import { RoutineMaintenance } from "./Maintenance.ts"
import { Counter, type MetricsRegistry } from "./Metrics.ts"
import { assert, panic } from "./Panic.ts"
import type { PersistConfigShape } from "./PersistConfig.ts"
import type { SeqNo } from "./SeqNo.ts"
import {
  cloneApply,
  type ControlFlow,
  expireAt,
  type HollowRollup,
  isTombstone,
  maybeGc,
  type MutableCollections,
  needRollup,
  rollupsLteSeqno,
  seqnoSince,
  traceUpper,
  type TypedState
} from "./State.ts"
import { applyDiff, fromDiff } from "./StateDiff.ts"
import type { StateVersions } from "./StateVersions.ts"
import { applyEncodedDiffs, checkCodecs } from "./UntypedState.ts"
import { deepEqual } from "./DeepEqual.ts"

/** The one command allowed to commit on a tombstone (it links the final rollup). */
export const ADD_ROLLUP_CMD = "add_rollup"
export const COMPARE_AND_APPEND_CMD = "compare_and_append"

export class Applier {
  private cached: TypedState

  constructor(
    readonly cfg: PersistConfigShape,
    readonly metrics: MetricsRegistry,
    readonly stateVersions: StateVersions,
    readonly shardId: ShardId,
    initial: TypedState
  ) {
    this.cached = initial
  }

  get state(): TypedState {
    return this.cached
  }
  get seqno(): SeqNo {
    return this.cached.state.seqno
  }
  get seqnoSince(): SeqNo {
    return seqnoSince(this.cached.state)
  }
  get upper(): Antichain {
    return traceUpper(this.cached.state.collections.trace)
  }
  rollupsLteSeqno(seqno: SeqNo): Array<readonly [SeqNo, HollowRollup]> {
    return rollupsLteSeqno(this.cached.state, seqno)
  }

  /** Replaces the cached state iff `next` is newer (never regresses, INV-4). */
  private updateState(next: TypedState): void {
    if (next.state.seqno > this.cached.state.seqno) this.cached = next
  }

  /**
   * ALG-APPLY: computes the new state from the cached one, attaches maintenance, and CaS's it
   * in. On a lost race it refetches and recomputes (no backoff). A Break writes nothing and is
   * returned as Left (not linearized). An Indeterminate CaS is the caller's problem.
   */
  applyUnbatchedCmd<B, R>(
    cmdName: string,
    work: (seqno: SeqNo, c: MutableCollections) => ControlFlow<B, R>
  ): Effect.Effect<readonly [SeqNo, Either.Either<R, B>, RoutineMaintenance], Indeterminate> {
    const self = this
    return withCmd(cmdName)(Effect.gen(function* () {
      const cfg = self.cfg
      const bugs = yield* BugSwitches
      let gcAssignedBefore = false
      for (;;) {
        const current = self.cached
        const expected = current.state.seqno
        const now = yield* Clock.currentTimeMillis
        const res = cloneApply(current.state, { hostname: cfg.hostname, nowMs: now }, work)
        if (res._tag === "Break") {
          self.metrics.inc(Counter.cmdNoop)
          return [expected, Either.left(res.value), RoutineMaintenance.none] as const
        }
        const [ret, newState] = res.value
        const draft = newState.collections as MutableCollections
        expireAt(draft, now)
        if (isTombstone(current.state.collections) && cmdName !== ADD_ROLLUP_CMD) {
          return yield* panic(`cmd ${cmdName} unexpectedly tried to commit a new state on a tombstone`)
        }
        // Recomputed on every attempt: losing a CaS race may reveal that the winner already
        // took the GC assignment (RACE-15).
        const garbageCollection = maybeGc(newState.shardId, newState.seqno, draft, cmdName === COMPARE_AND_APPEND_CMD, now, {
          useActiveGc: cfg.gcUseActiveGc,
          fallbackThresholdMs: cfg.gcFallbackThresholdMs,
          minVersions: cfg.gcMinVersions,
          maxVersions: cfg.gcMaxVersions,
          skipLapsingReaders: bugs.gcSinceSkipsLapsingReaders
        })
        // RACE-15: an earlier attempt would have been assigned GC; the winner took it.
        if (gcAssignedBefore && garbageCollection === null) self.metrics.inc(Counter.gcAssignmentTakenByWinner)
        gcAssignedBefore = garbageCollection !== null
        const writeRollup = needRollup(
          newState,
          {
            threshold: cfg.rollupThreshold,
            useActiveRollup: cfg.rollupUseActiveRollup,
            fallbackThresholdMs: cfg.rollupFallbackThresholdMs,
            fallbackMultiplier: cfg.rollupFallbackThresholdMultiplier
          },
          now
        )
        // Active-rollup mode records the claim in the committed state, so other versions do
        // not assign the same rollup until it lands or the claim goes stale.
        if (writeRollup !== null && cfg.rollupUseActiveRollup) draft.activeRollup = { seqno: writeRollup, startMs: now }
        const next: TypedState = { state: newState, codecs: current.codecs }
        // Computing the diff must be the last thing before the CaS.
        const diff = bugs.diffOmitsSince ? { ...fromDiff(current.state, newState), since: [] } : fromDiff(current.state, newState)
        if (cfg.debugAssertions) {
          const roundTrip = applyDiff(current.state, diff)
          assert(Either.isRight(roundTrip) && deepEqual(roundTrip.right.collections, newState.collections), "diff does not reproduce the new state")
        }
        const [casRes] = yield* self.stateVersions.tryCompareAndSetCurrent(cmdName, expected, next, diff).pipe(
          Effect.tapError(() => Effect.sync(() => self.metrics.inc(Counter.cmdIndeterminate)))
        )
        if (casRes === "Committed") {
          self.metrics.inc(Counter.cmdSucceeded)
          if (bugs.cachedStateRegresses) self.cached = next
          else self.updateState(next)
          return [newState.seqno, Either.right(ret), { garbageCollection, writeRollup }] as const
        }
        self.metrics.inc(Counter.cmdCasMismatch)
        yield* withOp("fetch_and_update_state")(self.fetchAndUpdateState(expected))
      }
    }))
  }

  /**
   * ALG-FETCH: brings the cached state up to date. Applies the diffs after our seqno (fast
   * path); if the next one was already truncated, rebuilds from a rollup (slow path).
   */
  fetchAndUpdateState(seqnoHint: SeqNo | null): Effect.Effect<void> {
    const self = this
    return Effect.gen(function* () {
      // Another handle of this process may already have advanced the shared state (RACE-20).
      if (seqnoHint !== null && seqnoHint < self.cached.state.seqno) return self.metrics.inc(Counter.fetchSkippedCacheNewer)
      const before = self.cached
      const diffs = yield* self.stateVersions.fetchAllLiveDiffsGtSeqno(self.shardId, before.state.seqno)
      if (diffs.length === 0) return
      const bugs = yield* BugSwitches
      const applied = applyEncodedDiffs(self.cached, self.cfg.buildVersion, self.cfg.codecs.ts, diffs, bugs.diffAppliedAfterGap)
      if (applied.state.seqno > self.cached.state.seqno) {
        self.metrics.inc(Counter.stateFetchFastPath)
        self.updateState(applied)
        return
      }
      // Our state is so old that the diffs to catch up were truncated: start from a rollup.
      self.metrics.inc(Counter.stateFetchSlowPath)
      const untyped = yield* self.stateVersions.fetchCurrentState(self.shardId, diffs)
      const typed = checkCodecs(self.shardId, untyped, self.cfg.codecs)
      if (Either.isLeft(typed)) return yield* panic(`shard codecs changed underneath us: ${JSON.stringify(typed.left.actual)}`)
      self.updateState(typed.right)
      assert(self.cached.state.seqno >= before.state.seqno, "state seqno regressed")
    })
  }

  /** The ALG-R half that lives on the Applier: roll up the cached state. */
  writeRollupForState(rollupId: Parameters<StateVersions["writeRollupForState"]>[1]) {
    return this.stateVersions.writeRollupForState(this.cached, rollupId)
  }
}

