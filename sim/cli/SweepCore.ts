/**
 * What one sweep worker does for one seed: run it, write a trace if it failed, and reduce the
 * outcome to a small record the parent can merge.
 */
import { violationKind } from "../check/Violations.ts"
import { runSpec, writeTrace } from "../trace/Run.ts"
import { marksHit, verdictOf, violationLine } from "../trace/Summary.ts"
import { bugSwitches } from "./Bugs.ts"

export interface SeedRecord {
  readonly seed: number
  readonly digest: string
  readonly steps: number
  readonly exitCode: number
  /** One line per violation, for people. */
  readonly violations: ReadonlyArray<string>
  /** `invariant/Kind` per violation not explained by a known finding. */
  readonly newKinds: ReadonlyArray<string>
  readonly findings: ReadonlyArray<string>
  readonly verdict: "pass" | "known" | "new"
  readonly marks: ReadonlyArray<string>
  readonly trace: string | null
}

export const runSeedRecord = (seed: number, steps: number, bug: string | null, out: string, keepTraces = false): SeedRecord => {
  // Events are kept for every seed (a few thousand small objects), so a failing seed's trace
  // needs no second run; they are written only on failure, or when asked.
  const o = runSpec({ seed, tape: null, steps, bug, bugs: bugSwitches(bug), keepEvents: true })
  let trace: string | null = null
  if (o.exitCode !== 0 || keepTraces) trace = writeTrace(out, `seed-${seed}${bug !== null ? `-${bug}` : ""}`, o)
  return {
    seed,
    digest: o.result.digest,
    steps: o.result.steps,
    exitCode: o.exitCode,
    violations: o.result.violations.map(violationLine),
    newKinds: [...new Set(o.result.unexplained.map(violationKind))],
    findings: o.result.findings,
    verdict: verdictOf(o),
    marks: marksHit(o),
    trace
  }
}
