/**
 * What one sweep worker does for one seed: run it, write a trace if it failed, and reduce the
 * outcome to a small record the parent can merge.
 */
import { HarnessError, violationKind } from "../check/Violations.ts"
import { type Outcome, replayCommand, runSpec, writeTrace } from "../trace/Run.ts"
import { marksHit, verdictOf, violationLine } from "../trace/Summary.ts"
import { bugSwitches } from "./Bugs.ts"
import type { NemesisMode } from "../world/NemesisMode.ts"

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
  /** Faults injected, by kind (for the sweep page's histogram). */
  readonly faults: Readonly<Record<string, number>>
  readonly trace: string | null
  /** For the sweep summary (sim/trace/SweepSummary.ts). */
  readonly kinds: ReadonlyArray<string>
  readonly virtualTimeMs: number
  readonly replay: string
}

/**
 * One seed's record. The world turns its own exceptions into a HarnessError violation (see
 * World.run); anything thrown here besides (writing the trace, say) is still this seed's
 * result, so a sweep always finishes every seed.
 */
export const runSeedRecord = (seed: number, steps: number, bug: string | null, out: string, keepTraces = false, nemesis: NemesisMode | null = null): SeedRecord => {
  try {
    return runSeedRecordOrThrow(seed, steps, bug, out, keepTraces, nemesis)
  } catch (e) {
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
    return {
      seed,
      digest: "",
      steps: 0,
      exitCode: 3,
      violations: [violationLine(HarnessError.make({ step: 0, t: 0, message }))],
      newKinds: ["HARNESS/HarnessError"],
      findings: [],
      verdict: "new",
      marks: [],
      faults: {},
      trace: null,
      kinds: ["HARNESS/HarnessError"],
      virtualTimeMs: 0,
      replay: replayCommand({ seed, tape: null, steps, bug, ...(nemesis !== null ? { nemesis } : {}) }, null)
    }
  }
}

const runSeedRecordOrThrow = (seed: number, steps: number, bug: string | null, out: string, keepTraces: boolean, nemesis: NemesisMode | null): SeedRecord => {
  // Events are kept for every seed (a few thousand small objects), so a failing seed's trace
  // needs no second run; they are written only on failure, or when asked.
  const o = runSpec({ seed, tape: null, steps, bug, bugs: bugSwitches(bug), keepEvents: true, ...(nemesis !== null ? { nemesis } : {}) })
  return recordOf(o, seed, bug, out, keepTraces)
}

/** A seed's outcome reduced to its record (writing its trace if it failed or when asked). */
export const recordOf = (o: Outcome, seed: number, bug: string | null, out: string, keepTraces: boolean): SeedRecord => {
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
    trace,
    kinds: [...new Set(o.result.violations.map(violationKind))],
    faults: o.result.faults,
    virtualTimeMs: o.result.virtualTimeMs,
    replay: replayCommand(o.spec, trace)
  }
}
