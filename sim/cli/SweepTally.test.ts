import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { SeedRecord } from "./SweepCore.ts"
import { SHOWN, SweepTally } from "./SweepTally.ts"

const record = (seed: number, verdict: SeedRecord["verdict"]): SeedRecord => ({
  seed,
  digest: "",
  steps: 10,
  exitCode: verdict === "pass" ? 0 : 1,
  violations: verdict === "pass" ? [] : ["v"],
  newKinds: verdict === "new" ? ["INV-1/X"] : [],
  findings: verdict === "known" ? ["RACE-P2"] : [],
  verdict,
  marks: ["m"],
  faults: {},
  kinds: [],
  virtualTimeMs: 0,
  replay: "",
  trace: null
})

describe("SweepTally", () => {
  it("keeps the counts of every record and the SHOWN lowest failing seeds, in any arrival order", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.nat(1000), fc.constantFrom("pass", "known", "new") as fc.Arbitrary<SeedRecord["verdict"]>), { selector: ([s]) => s, maxLength: 80 }), (rs) => {
        const t = new SweepTally()
        for (const [s, v] of rs) t.add(record(s, v))
        const lowest = (v: string) => rs.filter(([, x]) => x === v).map(([s]) => s).sort((a, b) => a - b).slice(0, SHOWN)
        expect(t.fresh.map((r) => r.seed)).toEqual(lowest("new"))
        expect(t.known.map((r) => r.seed)).toEqual(lowest("known"))
        expect([t.seeds, t.failing, t.steps, t.marks.get("m") ?? 0]).toEqual([rs.length, rs.filter(([, v]) => v !== "pass").length, 10 * rs.length, rs.length])
      })
    )
  })
})
