/**
 * Planted-bug switches: one flag per deliberate deviation from the correct algorithm, each read
 * at exactly the line it perturbs. All are off by default (a `Context.Reference`, so nothing
 * needs providing); only the simulator's `--bug NAME` turns one on. The catalogue of names and
 * descriptions lives in scenarios/; core knows only the flags.
 */
import { Context } from "effect"

export interface BugSwitchesShape {
  /** GC deletes rollups below the request's seqno_since instead of the earliest live diff (RACE-11). */
  readonly gcDeletesRollupsBelowSeqnoSince: boolean
  /** GC also removes the latest rollup <= seqno_since from state (breaks INV-7). */
  readonly gcRemovesLatestRollup: boolean
  /** The applier overwrites the shared cached state after a commit even if it is already newer. */
  readonly cachedStateRegresses: boolean
  /** maybe_init_shard deletes its initial rollup on any mismatch, even when it won (RACE-2). */
  readonly initDeletesRollupOnMismatch: boolean
  /** GC truncates to the request's seqno_since rather than to a rollup seqno (INV-7). */
  readonly gcTruncatesPastRollup: boolean
  /** Rollup linking keeps no "applied in any attempt" flag (RACE-6/RACE-13). */
  readonly rollupForgetsAppliedEver: boolean
  /** compare_and_append retries an Indeterminate without its idempotency token (RACE-14). */
  readonly caaNewTokenOnRetry: boolean
  /** GC deletes batch parts still referenced by the state at the truncation point. */
  readonly gcDeletesLiveParts: boolean
  /** The applier's diff leaves out the trace's `since` field (a field missing from fromDiff). */
  readonly diffOmitsSince: boolean
  /** Applying fetched diffs ignores the seqno gate: a diff after a gap is applied out of order. */
  readonly diffAppliedAfterGap: boolean
  /** compare_and_append treats an Indeterminate as "not applied" and reports UpperMismatch. */
  readonly caaIndeterminateAsNotApplied: boolean
  /** A Determinate CaS error is taken as Committed instead of being retried. */
  readonly casDeterminateAsCommitted: boolean
  /** maybe_gc's seqno_since skips readers whose lease is more than half spent. */
  readonly gcSinceSkipsLapsingReaders: boolean
  /** A rollup is linked at the cached state's seqno at link time, not the seqno it was written for. */
  readonly rollupLinkedAtCachedSeqno: boolean
  /** The leaked-blob detector leaves the earliest live state out of the referenced set. */
  readonly leakDetectorSkipsEarliest: boolean
  /** A compaction that applied deletes its input batches' parts at once (not left to GC). */
  readonly compactionDeletesInputs: boolean
}

export const noBugs: BugSwitchesShape = {
  gcDeletesRollupsBelowSeqnoSince: false,
  gcRemovesLatestRollup: false,
  cachedStateRegresses: false,
  initDeletesRollupOnMismatch: false,
  gcTruncatesPastRollup: false,
  rollupForgetsAppliedEver: false,
  caaNewTokenOnRetry: false,
  gcDeletesLiveParts: false,
  diffOmitsSince: false,
  diffAppliedAfterGap: false,
  caaIndeterminateAsNotApplied: false,
  casDeterminateAsCommitted: false,
  gcSinceSkipsLapsingReaders: false,
  rollupLinkedAtCachedSeqno: false,
  leakDetectorSkipsEarliest: false,
  compactionDeletesInputs: false
}

export class BugSwitches extends Context.Reference<BugSwitches>()("persist/BugSwitches", {
  defaultValue: (): BugSwitchesShape => noBugs
}) {}
