/**
 * The one-screen human summary of a run, and the JSON object for scripts.
 */
import { describeConfig } from "./SwarmConfig.ts"
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
  "compaction.notApplied"
] as const

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
  knownFinding: o.result.knownFinding,
  faults: o.result.faults,
  marks: Object.fromEntries(o.result.marks),
  leaks: o.result.leaks,
  checks: o.result.checks,
  exitCode: o.exitCode,
  trace: traceFile
})

export const summary = (o: Outcome, wallMs: number, traceFile: string | null, replay: string): string => {
  const r = o.result
  const faults = Object.entries(r.faults)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ")
  const hit = marksHit(o)
  const lines = [
    `persist-sim ${o.spec.seed !== null ? `seed ${o.spec.seed}` : "replay"}${o.spec.bug !== null ? ` with planted bug ${o.spec.bug}` : ""}: ${r.violations.length === 0 ? "all invariants held" : `${r.violations.length} VIOLATION(S)${r.knownFinding !== null ? ` — reproduces known finding ${r.knownFinding}` : ""}`}`,
    `  config      ${describeConfig(r.config)}`,
    `  run         ${r.steps} delivered requests, ${(r.virtualTimeMs / 1000).toFixed(1)} s virtual, ${wallMs.toFixed(0)} ms wall`,
    `  faults      ${faults || "none"}`,
    `  coverage    ${hit.length}/${COVERAGE_MARKS.length} marks: ${hit.join(", ")}`,
    `  checks      ${r.checks} snapshot checks (INV-1..18, INV-S1..S8), history and liveness`,
    `  leaks       ${r.leaks.rollups} rollup blob(s), ${r.leaks.parts} part blob(s) (counted, not violations)`,
    `  warnings    ${r.warnings}`,
    `  digest      ${r.digest}`
  ]
  for (const v of r.violations.slice(0, 10)) lines.push(`  VIOLATION   ${v.invariant} at step ${v.step} (t=${Math.round(v.t)}ms): ${v.message}`)
  if (r.violations.length > 10) lines.push(`  ... and ${r.violations.length - 10} more`)
  if (traceFile !== null) lines.push(`  trace       ${traceFile}`)
  lines.push(`reproduce with: ${replay}`)
  return lines.join("\n")
}
