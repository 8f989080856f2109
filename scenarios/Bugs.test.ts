import { describe, expect, it } from "vitest"
import { Choices } from "../sim/kernel/Choices.ts"
import { runWorld } from "../sim/world/World.ts"
import { plantedBugs } from "./Bugs.ts"

/** How many random seeds each planted bug may take to be caught. */
const SEARCH = 150

// Both ways: persist's production builds run without debug assertions (issue 14).
describe.each([true, false])("planted bugs (debug assertions %s)", (debugAssertions) => {
  for (const bug of plantedBugs) {
    it(`${bug.name} - is caught from random seeds (within ${SEARCH})`, () => {
      let caught: { seed: number; invariants: Array<string> } | undefined
      for (let seed = 1; seed <= SEARCH && caught === undefined; seed++) {
        const r = runWorld(Choices.seeded(seed), { steps: 1000, bugs: { [bug.switch]: true }, keepEvents: false, debugAssertions })
        if (r.violations.length === 0) continue
        // Count it only if the same seed holds without the bug: the finding must be the bug's.
        const clean = runWorld(Choices.seeded(seed), { steps: 1000, keepEvents: false, debugAssertions })
        if (clean.violations.length === 0) caught = { seed, invariants: [...new Set(r.violations.map((v) => v.invariant))] }
      }
      expect(caught, `${bug.name} was not caught in seeds 1..${SEARCH}`).toBeDefined()
      expect(caught!.invariants.some((i) => bug.caughtBy.includes(i)), `${bug.name} caught by ${caught!.invariants.join(",")}, expected one of ${bug.caughtBy.join(",")}`).toBe(true)
    })
  }
})
