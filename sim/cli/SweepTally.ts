/**
 * What a sweep's summary needs, folded record by record so that memory does not grow with the
 * number of seeds: counts, the coverage marks, and the lowest-numbered failing seeds (new and
 * known apart, since the summary lists new ones first and at most SHOWN of all).
 */
import type { SeedRecord } from "./SweepCore.ts"

export const SHOWN = 20

export class SweepTally {
  seeds = 0
  steps = 0
  failing = 0
  freshCount = 0
  knownCount = 0
  readonly findings = new Set<string>()
  readonly marks = new Map<string, number>()
  readonly fresh: Array<SeedRecord> = []
  readonly known: Array<SeedRecord> = []

  add(r: SeedRecord): void {
    this.seeds++
    this.steps += r.steps
    for (const m of r.marks) this.marks.set(m, (this.marks.get(m) ?? 0) + 1)
    if (r.exitCode === 0) return
    this.failing++
    if (r.verdict === "known") {
      this.knownCount++
      for (const f of r.findings) this.findings.add(f)
      keepLowest(this.known, r)
    } else {
      this.freshCount++
      keepLowest(this.fresh, r)
    }
  }
}

/** Inserts by seed and keeps the SHOWN lowest. */
const keepLowest = (list: Array<SeedRecord>, r: SeedRecord): void => {
  let i = list.length
  while (i > 0 && list[i - 1]!.seed > r.seed) i--
  if (i >= SHOWN) return
  list.splice(i, 0, r)
  if (list.length > SHOWN) list.pop()
}
