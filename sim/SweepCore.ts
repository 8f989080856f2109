/**
 * What one sweep worker does for one seed: run it, write a trace if it failed, and reduce the
 * outcome to a small record the parent can merge.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { runSpec, toTraceFile } from "./Run.ts"
import { marksHit } from "./Summary.ts"
import { toJsonLines } from "./Trace.ts"

export interface SeedRecord {
  readonly seed: number
  readonly digest: string
  readonly steps: number
  readonly exitCode: number
  readonly violations: ReadonlyArray<string>
  readonly knownFinding: string | null
  readonly marks: ReadonlyArray<string>
  readonly trace: string | null
}

export const runSeedRecord = (seed: number, steps: number, bug: string | null, out: string, keepTraces = false): SeedRecord => {
  const o = runSpec({ seed, tape: null, steps, bug, keepEvents: keepTraces })
  let trace: string | null = null
  if (o.exitCode !== 0 || keepTraces) {
    // Sweeps keep memory low and only pay for a trace on failure (or when asked).
    const full = keepTraces ? o : runSpec({ seed, tape: null, steps, bug, keepEvents: true })
    mkdirSync(out, { recursive: true })
    trace = join(out, `seed-${seed}${bug !== null ? `-${bug}` : ""}.jsonl`)
    writeFileSync(trace, toJsonLines(toTraceFile(full)))
  }
  return {
    seed,
    digest: o.result.digest,
    steps: o.result.steps,
    exitCode: o.exitCode,
    violations: o.result.violations.map((v) => `${v.invariant}: ${v.message}`),
    knownFinding: o.result.knownFinding,
    marks: marksHit(o),
    trace
  }
}
