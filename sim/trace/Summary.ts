/**
 * The one-screen human summary of a run, and the JSON object for scripts.
 */
import { KNOWN_FINDINGS } from "../check/Findings.ts"
import { renderViolation, type Violation } from "../check/Violations.ts"
import { describeConfig } from "../world/SwarmConfig.ts"
import type { Outcome } from "./Run.ts"

/** Counters that prove a path was taken; a sweep reports how many seeds reached each. */
export const COVERAGE_MARKS = [
  "state.fetchRecentLiveDiffsFastPath",
  "state.fetchRecentLiveDiffsSlowPath",
  "retries.fetchLatestState",
  "retries.fetchLiveStates",
  "state.rollupWriteNoopLatest",
  "state.rollupWriteNoopTruncatedReal",
  "state.rollupWriteSuccess",
  "state.rollupAtSeqnoMigration",
  "rollup.linked",
  "rollup.lostRace",
  "retries.external.maybeInitCas",
  "retries.determinate.applyUnbatchedCmdCas",
  "cmd.casMismatch",
  "cmd.indeterminate",
  "caa.indeterminate",
  "caa.alreadyCommitted",
  "applier.fetchAndUpdateStateFastPath",
  "applier.fetchAndUpdateStateSlowPath",
  "gc.started",
  "gc.noop",
  "gc.merged",
  "gc.stepTruncated",
  "gc.stepSkippedAlreadyTruncated",
  "gc.partsDeleted",
  "gc.rollupsDeleted",
  "compaction.applied",
  "compaction.notApplied",
  // The races of spec §8 (core/Metrics.ts `race.*`; the liveness phase's blob-only audit).
  "race.initRollupDeletedAfterMismatch",
  "race.initOwnRollupFoundAfterMismatch",
  "race.fetchSkippedCacheNewer",
  "race.gcCacheOlderThanRequest",
  "race.rollupAppliedEverNotLast",
  "race.mergeAppliedEverNotLast",
  "race.rollupLinkedOutOfOrder",
  "race.gcAssignmentTakenByWinner",
  "race.readerExpiredAtRegistration",
  "race.readerDowngradeAfterExpiry",
  "race.gcEarliestMovedUnderneath",
  "liveness.blobOnlyShard",
  // Inline parts unlinked and then truncated away (GC meeting parts with no blob: issue 15).
  "check.inlineUnlinkTruncated",
  // The GC-race nemesis (sim/world/GcNemesis.ts): two workers on one request, a stale request
  // after a newer GC, an older request queued right behind a newer one.
  "nemesis.gc.forwarded",
  "nemesis.gc.staleAfterNewerGc",
  "nemesis.gc.behindNewer"
] as const

/** A sweep flags a mark fewer than this share of its seeds reached: a rare path, found late or never. */
export const RARE_MARK_SHARE = 0.01

export const marksHit = (o: Outcome): Array<string> => {
  const m = new Map(o.result.marks)
  return COVERAGE_MARKS.filter((k) => (m.get(k) ?? 0) > 0)
}

export const toJson = (o: Outcome, traceFile: string | null) => ({
  seed: o.spec.seed,
  digest: o.result.digest,
  steps: o.result.steps,
  virtualTimeMs: Math.round(o.result.virtualTimeMs),
  violations: o.result.violations,
  findings: o.result.findings,
  unexplained: o.result.unexplained.length,
  verdict: verdictOf(o),
  faults: o.result.faults,
  marks: Object.fromEntries(o.result.marks),
  leaks: o.result.leaks,
  checks: o.result.checks,
  exitCode: o.exitCode,
  trace: traceFile
})

/** `pass`, `known` (every violation explained by a known finding) or `new`. */
export const verdictOf = (o: Outcome): "pass" | "known" | "new" =>
  o.result.violations.length === 0 ? "pass" : o.result.unexplained.length === 0 ? "known" : "new"

/** One violation on one line: its invariant, kind, step, time and the rendered sentence. */
export const violationLine = (v: Violation): string => `${v.invariant} ${v._tag} at step ${v.step} (t=${Math.round(v.t)}ms): ${renderViolation(v)}`

export const summary = (o: Outcome, wallMs: number, traceFile: string | null, replay: string): string => {
  const r = o.result
  const faults = Object.entries(r.faults)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ")
  const hit = marksHit(o)
  const lines = [
    `persist-sim ${o.spec.seed !== null ? `seed ${o.spec.seed}` : "replay"}${o.spec.bug !== null ? ` with planted bug ${o.spec.bug}` : ""}: ${headline(o)}`,
    `  config      ${describeConfig(r.config)}`,
    `  run         ${r.steps} delivered requests, ${(r.virtualTimeMs / 1000).toFixed(1)} s virtual, ${wallMs.toFixed(0)} ms wall`,
    `  faults      ${faults || "none"}`,
    `  coverage    ${hit.length}/${COVERAGE_MARKS.length} marks: ${hit.join(", ")}`,
    `  checks      ${r.checks} snapshot checks (INV-1..18, INV-S1..S8), history and liveness`,
    `  leaks       ${r.leaks.rollups} rollup blob(s), ${r.leaks.parts} part blob(s) (counted, not violations)`,
    `  warnings    ${r.warnings}`,
    `  digest      ${r.digest}`
  ]
  const unexplained = new Set(r.unexplained)
  for (const v of r.violations.slice(0, 10)) lines.push(`  ${unexplained.has(v) ? "VIOLATION" : "known    "}   ${violationLine(v)}`)
  if (r.violations.length > 10) lines.push(`  ... and ${r.violations.length - 10} more`)
  for (const id of r.findings) {
    const f = KNOWN_FINDINGS.find((k) => k.id === id)
    if (f !== undefined) lines.push(`  finding     ${f.id}: ${f.title} (${f.spec}); upstream status and explanation: npm run sim -- --list-findings`)
  }
  if (traceFile !== null) lines.push(`  trace       ${traceFile}`)
  lines.push(`reproduce with: ${replay}`)
  return lines.join("\n")
}

const headline = (o: Outcome): string => {
  const r = o.result
  switch (verdictOf(o)) {
    case "pass":
      return "all invariants held"
    case "known":
      return `${r.violations.length} VIOLATION(S) — all explained by known finding ${r.findings.join(", ")}`
    case "new":
      return `${r.violations.length} VIOLATION(S), ${r.unexplained.length} NEW (not explained by a known finding${r.findings.length > 0 ? `; also reproduces ${r.findings.join(", ")}` : ""})`
  }
}
