/**
 * Known findings: behaviour of the faithful port that breaks an invariant, that we understand,
 * and that the harness reports by name instead of as a new failure. Each is a row: what
 * violations it explains (a predicate over their fields), the cause the run must show (over the
 * world's recorded facts, not message text), the seeds that reproduce it, and where upstream
 * persist stands. A run is explained only if every one of its violations is explained by a
 * finding whose cause the run shows; anything else makes the run new.
 */
import type { Violation } from "./Violations.ts"

/**
 * A fact the world records while it runs, for findings to ask about causes: a fault injected
 * into a request that changes a store (with who sent it), or a warning persist logged.
 */
export type RunFact =
  | {
      readonly _tag: "FaultInjected"
      readonly step: number
      readonly process: string
      readonly task: string
      readonly cmd: string
      readonly call: string
      readonly fault: string
    }
  | { readonly _tag: "Warned"; readonly step: number; readonly process: string; readonly warning: string }
  /** The deletion nemesis (sim/world/Nemesis.ts) took a blob, or healed every outage so far. */
  | { readonly _tag: "NemesisDeleted"; readonly step: number; readonly key: string }
  | { readonly _tag: "NemesisHealed"; readonly step: number }
  /** A process's blob.get found nothing at a key the nemesis had taken (healed or not since). */
  | { readonly _tag: "NemesisMiss"; readonly step: number; readonly process: string }

export interface RunEvidence {
  readonly violations: ReadonlyArray<Violation>
  readonly facts: ReadonlyArray<RunFact>
}

export interface KnownFinding {
  readonly id: string
  readonly title: string
  /** Where the spec predicts or names it. */
  readonly spec: string
  /** Does this finding explain `v` in a run with this evidence? */
  readonly explains: (v: Violation, run: RunEvidence) => boolean
  /** Does the run show the finding's cause (for the violation it explains)? */
  readonly causeShown: (v: Violation, run: RunEvidence) => boolean
  /** Seeds of the default swarm (2,000 steps) that reproduce it; tests pin them. */
  readonly seeds: ReadonlyArray<number>
  readonly explanation: string
  readonly upstream: string
}

/** Rollup keys a diff re-inserted (INV-18), as the checker saw them. */
const reinsertedRollups = (run: RunEvidence): Set<string> => {
  const keys = new Set<string>()
  for (const v of run.violations) if (v._tag === "BlobReinserted" && v.rollup) keys.add(v.key)
  return keys
}

const firstReinsertStep = (run: RunEvidence): number => {
  for (const v of run.violations) if (v._tag === "BlobReinserted" && v.rollup) return v.step
  return Infinity
}

/** The assertions a re-inserted rollup trips, by site (core/Panic.ts `PanicSite`). */
const RACE_P2_PANICS: ReadonlySet<string> = new Set(["validator.rollupReinserted", "gc.repeatRollupDeletion", "gc.deleteLiveRollup"])

export const RACE_P2: KnownFinding = {
  id: "RACE-P2",
  title: "add_rollup's Indeterminate retry re-inserts a rollup GC already removed",
  spec: "persist-spec §8.1 RACE-P2; INV-18, then INV-9",
  explains: (v, run) => {
    const keys = reinsertedRollups(run)
    switch (v._tag) {
      case "BlobReinserted":
        return v.rollup && v.by.cmd === "add_rollup"
      case "RollupMissing":
      case "LiveRollupDeleted":
      case "EarliestRollupMissing":
        return keys.has(v.key)
      case "Panic":
        // With debug assertions on the validator meets the re-insertion; with them off, GC
        // meets the same key's second deletion, or finds it both live and due for deletion.
        return RACE_P2_PANICS.has(v.site) && keys.has(v.key)
      case "GcDidNotTruncate":
        // A GC (the janitor's included) that met the re-inserted key panicked there: the shard
        // stays untruncated.
        return run.violations.some((p) => p._tag === "Panic" && RACE_P2_PANICS.has(p.site) && keys.has(p.key) && p.step <= v.step)
      default:
        return false
    }
  },
  // The add_rollup CaS that committed but answered Indeterminate, before the re-insertion.
  causeShown: (_, run) => {
    const at = firstReinsertStep(run)
    return run.facts.some((f) => f._tag === "FaultInjected" && f.step < at && f.cmd === "add_rollup" && f.call === "consensus.cas" && f.fault === "indeterminateApplied")
  },
  seeds: [1863, 2128],
  explanation:
    "A process links a rollup with add_rollup; the CaS commits but the store answers Indeterminate. " +
    "Before the idempotent retry runs, GC removes that rollup from state (remove_rollups) and later deletes its blob. " +
    "The retry sees no rollup at that seqno and inserts the same key again, so the current state lists a rollup whose blob is gone " +
    "(INV-18, then INV-9; a validating reader panics on the re-insertion).",
  upstream:
    "Persist's PER-16 (\"duplicate rollup insertion\"). PR #36740 (May 2026) makes StateCollections::add_rollup refuse a key the " +
    "current rollup map still references; in this interleaving GC has already removed the only reference, so that check passes. " +
    "A reviewer raised exactly this on the PR; we have not confirmed whether the merged version closes it."
}

export const CAA_LEASE: KnownFinding = {
  id: "CAA-LEASE",
  title: "compare_and_append retried past its writer's lease deletes a committed batch",
  spec: "persist-spec ALG-CAA (RACE-14 family); INV-17",
  explains: (v, run) =>
    v._tag === "LivePartDeleted" &&
    v.by.op === "batch_delete" &&
    run.facts.some((f) => f._tag === "Warned" && f.warning === "caaWriterGoneAfterIndeterminate" && f.process === v.by.process && f.step <= v.step),
  // An Indeterminate compare_and_append by the same process that did commit.
  causeShown: (v, run) =>
    v._tag === "LivePartDeleted" &&
    run.facts.some((f) => f._tag === "FaultInjected" && f.step < v.step && f.process === v.by.process && f.cmd === "compare_and_append" && f.call === "consensus.cas" && f.fault === "indeterminateApplied"),
  seeds: [14, 560],
  explanation:
    "A writer's compare_and_append commits its batch but answers Indeterminate; retries stall past the writer's lease, and the " +
    "committing transition's expire_at (or a later one) expires the writer. The retry no longer finds the writer's idempotency " +
    "token, reports UpperMismatch, and the caller deletes the parts of a batch that is in state (INV-17).",
  upstream:
    "Follows upstream step for step. Since PR #20370 (July 2023) writers are created lazily: an expired writer comes back with " +
    "IdempotencyToken::SENTINEL and machine.rs returns UpperMismatch before it considers the earlier Indeterminate. Since PR #30941 " +
    "(January 2025; on by default since #31099) Batch::delete really deletes. PR #38060 (August 2026, fresh command timestamps " +
    "during retries) very likely closes the same-transition variant, not an expiry by another transition between attempts. " +
    "writer_was_present counts re-added writers on Success/AlreadyCommitted only and does not see this case. Not reported upstream."
}

/** Was step `at` inside an outage of the nemesis (after a deletion, not after the heal that followed it)? */
const inOutage = (run: RunEvidence, at: number): boolean => {
  let open = false
  for (const f of run.facts) {
    if (f.step > at) break
    if (f._tag === "NemesisDeleted") open = true
    else if (f._tag === "NemesisHealed") open = false
  }
  return open
}
const nemesisTook = (run: RunEvidence, key: string, at: number): boolean =>
  run.facts.some((f) => f._tag === "NemesisDeleted" && f.key === key && f.step <= at)

export const NEMESIS_LOSS: KnownFinding = {
  id: "NEMESIS-LOSS",
  title: "a blob the deletion nemesis took is missing until restore_blob puts it back",
  spec: "issue 10 deletion nemesis; RACE-19; persist's restore_blob",
  explains: (v, run) => {
    switch (v._tag) {
      // The loss itself, about a key the nemesis took.
      case "RollupMissing":
      case "PartMissing":
      case "EarliestRollupMissing":
        return nemesisTook(run, v.key, v.step)
      // What persist does about a missing blob while the outage lasts: warn and refetch, or panic.
      // A warning or panic follows its miss: the refetch that warns may land after the heal.
      case "PersistWarned":
      case "Panic":
        return inOutage(run, v.step) || run.facts.some((f) => f._tag === "NemesisMiss" && f.step <= v.step)
      default:
        return false
    }
  },
  causeShown: (v, run) => run.facts.some((f) => f._tag === "NemesisDeleted" && f.step <= v.step),
  seeds: [],
  explanation:
    "Not a bug: the nemesis deleted a referenced blob (or wiped Blob) behind the system's back. Until it restores what the live " +
    "diffs reference, readers of that blob warn that the earliest live diff did not advance and refetch, or panic where persist panics. " +
    "Deletions by processes are never explained by it (INV-9/INV-17 blame only process deletes).",
  upstream: "persist documents the warning as what a deleted or different Blob causes in dev; restore_blob is its repair tool."
}

export const KNOWN_FINDINGS: ReadonlyArray<KnownFinding> = [RACE_P2, CAA_LEASE, NEMESIS_LOSS]

export interface Classification {
  /** Ids of the findings that explain some violation of the run, sorted. */
  readonly findings: ReadonlyArray<string>
  /** Violations no finding explains: a run with any is new. */
  readonly unexplained: ReadonlyArray<Violation>
}

export const classify = (run: RunEvidence, table: ReadonlyArray<KnownFinding> = KNOWN_FINDINGS): Classification => {
  const found = new Set<string>()
  const unexplained: Array<Violation> = []
  for (const v of run.violations) {
    const f = table.find((k) => k.explains(v, run) && k.causeShown(v, run))
    if (f === undefined) unexplained.push(v)
    else found.add(f.id)
  }
  return { findings: [...found].sort(), unexplained }
}
