import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Choices } from "../sim/kernel/Choices.ts"
import { runWorld } from "../sim/world/World.ts"
import { violationLine } from "../sim/trace/Summary.ts"
import { tapeArb, unknownViolationsOf, violationsOf, writeReproduction } from "./worldTapes.ts"

const STEPS = 600

describe("whole-world properties", () => {
  it("every invariant holds for generated choice tapes (workloads and fault plans)", () => {
    // Known findings (RACE-P2) are reported by the sweep, not failed here; anything else is.
    const res = fc.check(
      fc.property(tapeArb(4000), (tape) => unknownViolationsOf(tape, STEPS).length === 0),
      { numRuns: 25, seed: 20261125, interruptAfterTimeLimit: 120_000 }
    )
    if (res.failed) {
      const tape = res.counterexample![0]
      const replay = writeReproduction("property-invariants", tape, STEPS, null)
      expect.fail(`invariants broken by a generated world (shrunk to ${tape.length} draws): ${violationsOf(tape, STEPS).map(violationLine)[0]}\nreproduce with: ${replay}`)
    }
    expect(res.numRuns).toBe(25)
  })

  it("the same tape gives the same digest (determinism)", () => {
    fc.assert(
      fc.property(tapeArb(300), (tape) => {
        const a = runWorld(Choices.recorded(tape), { steps: 200, keepEvents: false })
        const b = runWorld(Choices.recorded(tape), { steps: 200, keepEvents: false })
        return a.digest === b.digest
      }),
      { numRuns: 15, seed: 7 }
    )
  })

  it("the checker fails on a broken world, and the failure shrinks to a replayable tape", () => {
    // GC removing the latest rollup breaks even the simplest world, so a generated failing
    // tape must shrink all the way to the empty tape (every draw 0).
    const bugs = { gcRemovesLatestRollup: true }
    const res = fc.check(
      fc.property(tapeArb(4000), (tape) => violationsOf(tape, STEPS, bugs).length === 0),
      { numRuns: 20, seed: 42, interruptAfterTimeLimit: 60_000 }
    )
    expect(res.failed).toBe(true)
    const shrunk = res.counterexample![0]
    expect(res.numShrinks).toBeGreaterThan(0)
    expect(shrunk).toEqual([])
    expect(violationsOf(shrunk, STEPS, bugs).some((v) => v.invariant === "INV-7" || v.invariant === "PANIC")).toBe(true)
    const replay = writeReproduction("property-planted-bug", shrunk, STEPS, "gc-removes-latest-rollup", bugs)
    expect(replay).toBe("npm run sim -- --replay reports/out/property-planted-bug.jsonl")
  }, 300_000)
})
