import { describe, expect, it } from "vitest"
import { Choices } from "../sim/kernel/Choices.ts"
import { isCheckerVerdict } from "../sim/check/Violations.ts"
import { runWorld } from "../sim/world/World.ts"
import { plantedBugs } from "./Bugs.ts"

/** How many random seeds each planted bug may take to be caught. */
const SEARCH = 150
/**
 * Lets vitest's worker answer its RPC between worlds: a search of many seeds is one long
 * synchronous run otherwise, and a worker blocked past vitest's 60 s RPC timeout (easy on a
 * loaded 2-core machine) fails the whole suite with "Timeout calling onTaskUpdate".
 */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
/** A search may take a minute of CPU on a loaded machine; it is bounded by SEARCH seeds, not by time. */
const SEARCH_TIMEOUT_MS = 600_000

// Both ways: persist's production builds run without debug assertions (issue 14).
describe.each([true, false])("planted bugs (debug assertions %s)", (debugAssertions) => {
  for (const bug of plantedBugs) {
    const pinned = debugAssertions ? undefined : bug.checkerSeedAssertionsOff
    it(`${bug.name} - is caught from random seeds (${pinned === undefined ? `within ${SEARCH}` : `the checker at pinned seed ${pinned}`})`, async () => {
      let caught: { seed: number; invariants: Array<string> } | undefined
      for (let seed = pinned ?? 1; seed <= (pinned ?? SEARCH) && caught === undefined; seed++) {
        await yieldToEventLoop()
        const r = runWorld(Choices.seeded(seed), { steps: 1000, bugs: { [bug.switch]: true }, keepEvents: false, debugAssertions })
        // With assertions off, only the checker's own verdicts count: a panic is core checking itself.
        const seen = r.violations.filter((v) => debugAssertions || isCheckerVerdict(v))
        if (seen.length === 0) continue
        // Count it only if the same seed holds without the bug: the finding must be the bug's.
        const clean = runWorld(Choices.seeded(seed), { steps: 1000, keepEvents: false, debugAssertions })
        if (clean.violations.length === 0) caught = { seed, invariants: [...new Set(seen.map((v) => v.invariant))] }
      }
      expect(caught, `${bug.name} was not caught in seeds 1..${SEARCH}`).toBeDefined()
      expect(caught!.invariants.some((i) => bug.caughtBy.includes(i)), `${bug.name} caught by ${caught!.invariants.join(",")}, expected one of ${bug.caughtBy.join(",")}`).toBe(true)
    }, SEARCH_TIMEOUT_MS)
  }
})
