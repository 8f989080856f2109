/**
 * The scenario catalogue: one entry per race of persist-spec §8. Seeds were found with
 * `npx tsx scenarios/search.ts A B [steps]` (the first seed of the default swarm whose run took
 * the path with every invariant holding), then pinned here; the test and
 * `npm run sim -- --scenario NAME` re-run them and re-check the mark and the verdict, so a
 * change that moves the path off a seed fails loudly instead of passing vacuously.
 */
import { defaultNemesisOptions } from "../sim/world/Nemesis.ts"
import type { Scenario } from "./Scenario.ts"

const SEARCH_1K = "scenarios/search.ts 1 250 1000 (first clean seed with the mark)"
const clean = { _tag: "Clean" } as const

export const scenarios: ReadonlyArray<Scenario> = [
  {
    _tag: "Directed",
    name: "race-1-init-vs-init",
    spec: "RACE-1",
    description: "Two processes initialise an empty shard; the CaS loser finds its rollup absent and deletes it.",
    found: SEARCH_1K,
    seed: 1,
    steps: 1000,
    marks: ["race.initRollupDeletedAfterMismatch"],
    expect: clean,
    unitTests: ["core/StateVersions.test.ts: maybeInitShard - init race: the CaS loser deletes its own rollup (RACE-1)"]
  },
  {
    _tag: "Directed",
    name: "race-2-init-cas-indeterminate-committed",
    spec: "RACE-2",
    description: "The init CaS answers Indeterminate but committed; the retry mismatches against itself and keeps its own rollup.",
    found: SEARCH_1K,
    seed: 66,
    steps: 1000,
    marks: ["race.initOwnRollupFoundAfterMismatch", "retries.external.maybeInitCas"],
    expect: clean,
    unitTests: ["core/StateVersions.test.ts: maybeInitShard - an Indeterminate init CaS that committed keeps its rollup (RACE-2)"]
  },
  {
    _tag: "Directed",
    name: "race-3-stale-hint-refetch",
    spec: "RACE-3",
    description: "fetch_current_state's hinted rollup was deleted by GC before it was read; it refetches (no sleep) and the earliest diff advanced.",
    found: SEARCH_1K,
    seed: 45,
    steps: 1000,
    marks: ["retries.fetchLatestState"],
    expect: clean,
    unitTests: ["core/StateVersions.test.ts: fetchCurrentState - refetches when the hinted rollup is gone (RACE-3)"]
  },
  {
    _tag: "Directed",
    name: "race-4-stale-live-diffs-refetch",
    spec: "RACE-4",
    description: "fetch_all_live_states finds no rollup at its earliest live diff (GC moved on) and refetches.",
    found: "MARKS=retries.fetchLiveStates scenarios/search.ts 251 700 1000 (none in 1..250)",
    seed: 286,
    steps: 1000,
    marks: ["retries.fetchLiveStates"],
    expect: clean,
    unitTests: ["core/StateVersions.test.ts: fetchAllLiveStates - refetches when GC deleted the earliest rollup in between (RACE-4)"]
  },
  {
    _tag: "Directed",
    name: "race-5-slow-path-truncation-window",
    spec: "RACE-5",
    description: "fetch_recent_live_diffs takes the slow path (head, then scan from the latest rollup) under a small scan limit while GC truncates.",
    found: SEARCH_1K,
    seed: 1,
    steps: 1000,
    marks: ["state.fetchRecentLiveDiffsSlowPath", "gc.stepTruncated"],
    expect: clean
  },
  {
    _tag: "Directed",
    name: "race-6-add-rollup-indeterminate",
    spec: "RACE-6",
    description: "add_rollup's CaS is Indeterminate; a later attempt reports not applied, but applied-ever keeps the blob (a tolerated leak).",
    found: SEARCH_1K,
    seed: 406,
    steps: 1000,
    marks: ["race.rollupAppliedEverNotLast", "cmd.add_rollup.indeterminate"],
    expect: clean,
    unitTests: [
      "core/Machine.test.ts: addRollup - an Indeterminate CaS that committed … (RACE-6)",
      "core/Machine.test.ts: addRollup - an Indeterminate CaS that did not commit while another process linked … (RACE-6)"
    ]
  },
  {
    _tag: "Directed",
    name: "race-7-two-rollups-same-seqno",
    spec: "RACE-7",
    description: "Two processes roll up the same seqno; the second to link finds the slot taken and deletes its blob.",
    found: SEARCH_1K,
    seed: 52,
    steps: 1000,
    marks: ["rollup.lostRace"],
    expect: clean,
    unitTests: ["core/Machine.test.ts: addRollupForCurrentSeqno - another process linked a rollup at our seqno … (RACE-7)"]
  },
  {
    _tag: "Directed",
    name: "race-8-rollup-writer-behind-truncation",
    spec: "RACE-8",
    description: "A rollup writer's diffs after its latest rollup were truncated meanwhile: it writes nothing.",
    found: SEARCH_1K,
    seed: 22,
    steps: 1000,
    marks: ["state.rollupWriteNoopTruncatedReal"],
    expect: clean,
    unitTests: ["core/StateVersions.test.ts: writeRollupForState - no-op when the diffs after the latest rollup were truncated (RACE-8)"]
  },
  {
    _tag: "Directed",
    name: "race-9-gc-resumes-after-partial-run",
    spec: "RACE-9",
    description: "A GC run finds a truncation step already done (a crashed or concurrent run got there) and skips it; remove_rollups retried after Indeterminate.",
    found: SEARCH_1K,
    seed: 6,
    steps: 1000,
    marks: ["gc.stepSkippedAlreadyTruncated", "cmd.remove_rollups.indeterminate"],
    expect: clean,
    unitTests: ["core/Gc.test.ts: gcAndTruncate - a crash between a step's blob deletes and its truncate is finished by the next run (RACE-9)"]
  },
  {
    _tag: "Directed",
    name: "race-10-concurrent-gc-requests",
    spec: "RACE-10",
    description: "GC requests merged within a process (max seqno_since) and steps skipped because another process truncated further.",
    found: SEARCH_1K,
    seed: 333,
    steps: 1000,
    marks: ["gc.merged", "gc.stepSkippedAlreadyTruncated"],
    expect: clean
  },
  {
    _tag: "Directed",
    name: "race-10-gc-race-nemesis",
    spec: "RACE-10",
    description:
      "The GC-race nemesis (--nemesis gc): GC requests forwarded to another process's worker (two workers on one request), duplicated, and delivered late after a newer GC finished (stale); a worker whose cache is older than the request refetches first. Every invariant holds.",
    found: "search over seeds 1..40 with --nemesis gc (first clean seed with every mark)",
    seed: 13,
    steps: 1000,
    extra: { gcNemesis: true },
    marks: ["nemesis.gc.forwarded", "nemesis.gc.duplicated", "nemesis.gc.staleAfterNewerGc", "race.gcCacheOlderThanRequest", "gc.stepSkippedAlreadyTruncated"],
    expect: clean
  },
  {
    _tag: "Directed",
    name: "race-11-historical-gc-bug",
    spec: "RACE-11",
    description: "The historical GC (planted bug gc-deletes-rollups-below-seqno-since) deletes the rollup of the earliest live diff; the checker reports it.",
    found: "npm run bench:bugs (first seed that catches the bug)",
    seed: 1,
    steps: 1000,
    bugs: { gcDeletesRollupsBelowSeqnoSince: true },
    marks: ["gc.rollupsDeleted"],
    expect: { _tag: "Violation", kind: "INV-9/LiveRollupDeleted" }
  },
  {
    _tag: "Directed",
    name: "race-11-migration-fallback",
    spec: "RACE-11",
    description: "In the fixed system the migration fallback still runs (the current state moved past E between two fetches); ground truth INV-7 holds.",
    found: "the World.ts comment on rollupAtSeqnoMigration (seed 177, 2,000 steps)",
    seed: 177,
    steps: 2000,
    marks: ["state.rollupAtSeqnoMigration"],
    expect: clean,
    unitTests: ["core/StateVersions.test.ts: fetchRollupAtSeqno - falls back to a key sniffed from the diffs … (migration, RACE-11)"]
  },
  {
    _tag: "Directed",
    name: "race-12-leaked-blobs-detected",
    spec: "RACE-12",
    description: "Blobs written and never linked (crash, lost race) are leaks; the detector reports exactly the unreferenced blobs.",
    found: SEARCH_1K,
    seed: 1,
    steps: 1000,
    marks: ["leaks"],
    expect: clean
  },
  {
    _tag: "Directed",
    name: "race-13-merge-res-applied-ever",
    spec: "RACE-13",
    description: "merge_res applied behind an Indeterminate; a later attempt sees no match, but applied-ever keeps the compaction output.",
    found: SEARCH_1K,
    seed: 2,
    steps: 1000,
    marks: ["race.mergeAppliedEverNotLast"],
    expect: clean
  },
  {
    _tag: "Directed",
    name: "race-14-caa-indeterminate-token",
    spec: "RACE-14",
    description: "compare_and_append answered Indeterminate but committed; the retry recognises its idempotency token (AlreadyCommitted), no panic.",
    found: SEARCH_1K,
    seed: 2,
    steps: 1000,
    marks: ["caa.alreadyCommitted", "caa.indeterminate"],
    expect: clean,
    unitTests: ["core/Machine.test.ts: compareAndAppend - RACE-14: an Indeterminate commit overtaken by the same writer's next batch … panics"]
  },
  {
    _tag: "Directed",
    name: "race-15-gc-assignment-taken-by-winner",
    spec: "RACE-15",
    description: "A command loses its CaS to a version that took the GC assignment; recomputed, it is not assigned GC again.",
    found: SEARCH_1K,
    seed: 1,
    steps: 1000,
    marks: ["race.gcAssignmentTakenByWinner"],
    expect: clean,
    unitTests: ["core/Machine.test.ts: applyUnbatchedCmd - a CaS lost to a version that took the GC assignment … (RACE-15)"]
  },
  {
    _tag: "Directed",
    name: "race-16-reader-expired-at-registration",
    spec: "RACE-16",
    description: "More than a lease passes while a reader registers; it is expired by the time registration returns (tolerated).",
    found: "first clean seed from 300 with the mark (re-pinned when the per-seed assertion and targeting dimensions changed seeds' worlds)",
    seed: 302,
    steps: 1000,
    marks: ["race.readerExpiredAtRegistration"],
    expect: clean
  },
  {
    _tag: "Directed",
    name: "race-17-reader-slept-past-lease",
    spec: "RACE-17",
    description: "A reader slept past its lease: downgrade_since answers the empty since and the reader stops; since did not advance.",
    found: SEARCH_1K,
    seed: 12,
    steps: 1000,
    marks: ["race.readerDowngradeAfterExpiry"],
    expect: clean,
    unitTests: ["core/Client.test.ts: downgradeSince - an expired reader gets the empty since and nothing is written (RACE-17)"]
  },
  {
    _tag: "Unproducible",
    name: "race-18-tombstone-registration",
    spec: "RACE-18",
    description: "Registering a reader on a tombstone is a no-op that still reports a hold >= seqno_since.",
    why: "The workload never tombstones the shard (no writer appends the empty upper and no reader downgrades to the empty since), so no world reaches a tombstone; making it do so changes every digest.",
    unitTests: ["core/Commands.test.ts: registerLeasedReader - a no-op Break on a tombstone"]
  },
  {
    _tag: "Directed",
    name: "race-19-wiped-blob",
    spec: "RACE-19",
    description:
      "The deletion nemesis's wipe variant (--nemesis wipe) empties the shard's Blob under running processes: fetches warn that the earliest diff did not advance (RACE-3/RACE-4 warnings) until restore_blob heals it; every consequence is the NEMESIS-LOSS finding, none is blamed on the system.",
    found: "sim/cli/_scen search over seeds 1..60 with --nemesis wipe (first seed with both warnings, only NEMESIS-LOSS)",
    seed: 23,
    steps: 1000,
    extra: { nemesis: { ...defaultNemesisOptions, wipe: 1 } },
    marks: ["nemesis.wipe", "nemesis.restore"],
    expect: { _tag: "Finding", id: "NEMESIS-LOSS" },
    unitTests: ["core/StateVersions.test.ts: fetchCurrentState - warns when the refetch does not advance the earliest diff (RACE-19, blob wiped)"]
  },
  {
    _tag: "Directed",
    name: "race-20-cache-advanced-by-another-handle",
    spec: "RACE-20",
    description: "fetch_and_update_state with a hint older than the shared cached state does no I/O.",
    found: SEARCH_1K,
    seed: 1,
    steps: 1000,
    marks: ["race.fetchSkippedCacheNewer"],
    expect: clean
  },
  {
    _tag: "Directed",
    name: "race-p1-out-of-order-rollup-link",
    spec: "RACE-P1",
    description: "A rollup is linked below a newer one already in state (out-of-order linking); GC keeps every state beginning on a rollup.",
    found: SEARCH_1K,
    seed: 10,
    steps: 1000,
    marks: ["race.rollupLinkedOutOfOrder", "gc.stepTruncated"],
    expect: clean
  },
  {
    _tag: "Directed",
    name: "race-p2-rollup-reinserted",
    spec: "RACE-P2",
    description: "add_rollup commits behind an Indeterminate; GC removes the rollup; the retry re-inserts it. Reported as the known finding RACE-P2.",
    found: "sim/check/Findings.ts RACE_P2.seeds (2,000-step sweep)",
    seed: 1863,
    steps: 2000,
    marks: ["cmd.add_rollup.indeterminate"],
    expect: { _tag: "Finding", id: "RACE-P2" }
  },
  {
    _tag: "Directed",
    name: "race-p3-no-truncate-past-head",
    spec: "RACE-P3",
    description: "GC truncates many times, never past the head (no store call breaks the Consensus contract).",
    found: SEARCH_1K,
    seed: 1,
    steps: 1000,
    marks: ["gc.stepTruncated"],
    absent: ["store.contractViolation"],
    expect: clean
  }
]

export const findScenario = (name: string): Scenario | undefined => scenarios.find((s) => s.name === name)
