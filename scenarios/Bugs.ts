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
    description: "compare_and_append retries an Indeterminate with a fresh idempotency token, so it cannot recognise its own committed write (RACE-14).",
    switch: "caaNewTokenOnRetry",
    caughtBy: ["PANIC"]
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
  }
]

export const findBug = (name: string): PlantedBug | undefined => plantedBugs.find((b) => b.name === name)
