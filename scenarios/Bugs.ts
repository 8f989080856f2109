/**
 * The catalogue of planted bugs: named one-line deviations from the correct algorithm, each
 * switched on by one flag of core's BugSwitches (read at exactly the line it perturbs). The
 * harness must catch every one from random seeds; `npm run sim -- --bug NAME` runs with one.
 */
import type { BugSwitchesShape } from "../core/BugSwitches.ts"

export interface PlantedBug {
  readonly name: string
  readonly description: string
  readonly switch: keyof BugSwitchesShape
  /** What should catch it (an invariant id or finding kind), for the catalogue test. */
  readonly caughtBy: ReadonlyArray<string>
  /**
   * With debug assertions off, the first seed whose checker (not a panic) catches it, when that
   * is beyond the catalogue test's search (`npm run bench:bugs -- --assertions off --checker`).
   */
  readonly checkerSeedAssertionsOff?: number
}

export const plantedBugs: ReadonlyArray<PlantedBug> = [
  {
    name: "gc-removes-latest-rollup",
    description: "GC also removes the latest rollup <= seqno_since from state, leaving no rollup at the earliest live diff (INV-7).",
    switch: "gcRemovesLatestRollup",
    caughtBy: ["INV-7", "PANIC"]
  },
  {
    name: "init-deletes-own-rollup",
    description: "maybe_init_shard deletes its initial rollup on any CaS mismatch, even when an Indeterminate CaS actually committed it (RACE-2).",
    switch: "initDeletesRollupOnMismatch",
    caughtBy: ["INV-7", "INV-9", "PANIC"]
  },
  {
    name: "cached-state-regresses",
    description: "The applier overwrites the shared cached state after a commit even when another handle already advanced it (INV-4).",
    switch: "cachedStateRegresses",
    caughtBy: ["INV-4"]
  },
  {
    name: "gc-truncates-past-rollup",
    description: "GC truncates Consensus to the request's seqno_since instead of to a rollup seqno, so the earliest live diff has no rollup (INV-7).",
    switch: "gcTruncatesPastRollup",
    caughtBy: ["INV-7", "INV-5", "PANIC", "RACE-4"]
  },
  {
    name: "rollup-forgets-applied-ever",
    description: "Linking a rollup (and a compaction) reports only the last attempt, so an Indeterminate-but-committed link deletes a referenced blob (RACE-6/RACE-13).",
    switch: "rollupForgetsAppliedEver",
    caughtBy: ["INV-9", "INV-17", "PANIC"]
  },
  {
    name: "caa-new-token-on-retry",
    description: "compare_and_append retries an Indeterminate with a fresh idempotency token, so it cannot recognise its own committed write (RACE-14): core panics 'cannot distinguish' when the first attempt committed; the checker sees the batch proposed under two tokens (check/Proposals.ts).",
    switch: "caaNewTokenOnRetry",
    caughtBy: ["ALG-CAA", "PANIC"]
  },
  {
    name: "gc-deletes-live-parts",
    description: "GC deletes batch parts still referenced by the state it truncates to (INV-17).",
    switch: "gcDeletesLiveParts",
    caughtBy: ["INV-17", "INV-9"]
  },
  {
    name: "gc-deletes-rollups-below-seqno-since",
    description: "The historical GC bug: rollups below the request's seqno_since are deleted instead of those below the earliest live diff (RACE-11).",
    switch: "gcDeletesRollupsBelowSeqnoSince",
    caughtBy: ["INV-7", "INV-9", "RACE-4", "LIVENESS"]
  },
  {
    name: "diff-omits-since",
    description: "from_diff leaves out the trace's since field (a field forgotten when a new one was added to StateDiff): other processes, and the checker, rebuild a state whose since is stale, so the next diff touching since does not apply (INV-8); with debug assertions off the checker's own replay sees the committing process's cached state differ from the history first (INV-4).",
    switch: "diffOmitsSince",
    caughtBy: ["INV-8", "INV-4", "PANIC"]
  },
  {
    name: "diff-applied-after-gap",
    description: "Applying fetched diffs drops the `seqno == state.seqno + 1` gate, so after a truncation gap a diff is applied to a state it does not follow (a diff applied out of order); persist's seqno_from assertion panics.",
    switch: "diffAppliedAfterGap",
    // With debug assertions off the seqno_from assert_eq (always on in persist) still panics the
    // process first; the checker's own verdict comes later, from what the panicking process left.
    caughtBy: ["PANIC", "INV-17"],
    checkerSeedAssertionsOff: 234
  },
  {
    name: "caa-indeterminate-as-not-applied",
    description: "compare_and_append treats an Indeterminate CaS as certainly not applied and reports UpperMismatch, so the writer deletes the parts of a batch that did commit (INV-17).",
    switch: "caaIndeterminateAsNotApplied",
    caughtBy: ["INV-17", "INV-9", "HIST-append"]
  },
  {
    name: "cas-determinate-as-committed",
    description: "A Determinate CaS error is taken as Committed instead of retried: the applier caches a version Consensus never stored and a writer is told its batch committed (INV-4, HIST-append).",
    switch: "casDeterminateAsCommitted",
    caughtBy: ["INV-4", "HIST-append", "PANIC", "INV-17"]
  },
  {
    name: "gc-since-skips-lapsing-readers",
    description: "maybe_gc computes seqno_since without readers whose lease is more than half spent ('about to expire anyway'), so GC is assigned past a registered reader's seqno hold (the lease family: an expiry that forgets a holder's seqno; INV-S3, INV-5, INV-S5).",
    switch: "gcSinceSkipsLapsingReaders",
    caughtBy: ["INV-S3", "INV-5", "INV-S5", "PANIC"]
  },
  {
    name: "rollup-linked-at-cached-seqno",
    description: "add_rollup_for_current_seqno links its rollup at the cached state's seqno at link time instead of the seqno it rolled up (the cache moved on while the blob was written): the key names another seqno (INV-12).",
    switch: "rollupLinkedAtCachedSeqno",
    caughtBy: ["INV-12", "INV-13", "PANIC"]
  },
  {
    name: "leak-detector-skips-earliest",
    description: "The leaked-blob detector starts its referenced set at the second live state (an off-by-one in the walk), so blobs only the earliest live state references are reported as leaked (LEAKS).",
    switch: "leakDetectorSkipsEarliest",
    caughtBy: ["LEAKS"]
  },
  {
    name: "compaction-deletes-inputs",
    description: "A compaction whose merge applied deletes its input batches' parts itself instead of leaving them to GC, though the versions up to seqno_since still reference them (INV-17).",
    switch: "compactionDeletesInputs",
    caughtBy: ["INV-17", "PANIC"]
  }
]

export const findBug = (name: string): PlantedBug | undefined => plantedBugs.find((b) => b.name === name)
