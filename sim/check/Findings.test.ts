import { describe, expect, it } from "vitest"
import { Choices } from "../kernel/Choices.ts"
import { runWorld } from "../world/World.ts"
import { CAA_LEASE, classify, KNOWN_FINDINGS, type RunFact } from "./Findings.ts"
import * as V from "./Violations.ts"

const by = { process: "p0", task: "cmd", cmd: "", op: "batch_delete" }
const at = { step: 10, t: 0 }
/** CAA-LEASE's shape: its cause (an applied Indeterminate CaA, the writer gone) and its violation. */
const caaFacts: Array<RunFact> = [
  { _tag: "FaultInjected", step: 5, process: "p0", task: "cmd", cmd: "compare_and_append", call: "consensus.cas", fault: "indeterminateApplied" },
  { _tag: "Warned", step: 8, process: "p0", warning: "caaWriterGoneAfterIndeterminate" }
]
const caaViolation = V.LivePartDeleted.make({ ...at, key: "k", liveSeqno: 4, seqnoSince: 3, by })

describe("classify", () => {
  it("a known finding with its cause explains its violation", () => {
    expect(classify({ violations: [caaViolation], facts: caaFacts })).toEqual({ findings: ["CAA-LEASE"], unexplained: [] })
  })

  it("a known finding plus an unrelated violation is new (the finding does not hide it)", () => {
    const other = V.CachedStateWrong.make({ ...at, process: "p1", seqno: 4, path: ".collections.trace" })
    const c = classify({ violations: [caaViolation, other], facts: caaFacts })
    expect(c.findings).toEqual(["CAA-LEASE"])
    expect(c.unexplained).toEqual([other])
  })

  it("the finding's violation without its cause is new", () => {
    expect(classify({ violations: [caaViolation], facts: caaFacts.slice(1) }).unexplained).toEqual([caaViolation])
  })

  it("RACE-P2 explains the GC panic and the untruncated shard a re-inserted rollup leads to, and only those", () => {
    const key = "s00000000-0000-4000-8000-000000000001/v14/r88f212f6-558b-473c-85b4-1709f6d4319f"
    const facts: Array<RunFact> = [{ _tag: "FaultInjected", step: 3, process: "p0", task: "rollup", cmd: "add_rollup", call: "consensus.cas", fault: "indeterminateApplied" }]
    const reinserted = V.BlobReinserted.make({ ...at, seqno: 29, key, rollup: true, by: { process: "p0", task: "rollup", cmd: "add_rollup", op: "try_compare_and_set_current" } })
    const panic = V.Panic.make({ step: 20, t: 0, process: "janitor", where: "liveness phase", message: "gc would delete live rollup", site: "gc.deleteLiveRollup", key })
    const untruncated = V.GcDidNotTruncate.make({ step: 21, t: 0, gcTarget: 40, earliest: 1, expected: 30 })
    expect(classify({ violations: [reinserted, panic, untruncated], facts })).toEqual({ findings: ["RACE-P2"], unexplained: [] })
    // Another key's panic, or an untruncated shard with no such panic, is not RACE-P2's.
    const otherPanic = V.Panic.make({ ...panic, key: key.replace("v14", "v15") })
    expect(classify({ violations: [reinserted, otherPanic], facts }).unexplained).toEqual([otherPanic])
    expect(classify({ violations: [reinserted, untruncated], facts }).unexplained).toEqual([untruncated])
  })

  it("a real run: seed 14 (CAA-LEASE) with a planted bug that breaks something else is new", () => {
    const r = runWorld(Choices.seeded(14), { steps: 2000, keepEvents: false, bugs: { cachedStateRegresses: true } })
    expect(r.unexplained.length).toBeGreaterThan(0)
    expect(r.unexplained.some((v) => v.invariant === "INV-4")).toBe(true)
  })
})

describe("known findings reproduce from their pinned seeds (2,000 steps)", () => {
  for (const f of KNOWN_FINDINGS) {
    for (const seed of f.seeds) {
      it(`${f.id}: seed ${seed}`, () => {
        const r = runWorld(Choices.seeded(seed), { steps: 2000, keepEvents: false })
        expect(r.findings).toContain(f.id)
        expect(r.unexplained).toEqual([])
      })
    }
  }
  it("CAA-LEASE pins 14 and 560", () => expect(CAA_LEASE.seeds).toEqual([14, 560]))
})
