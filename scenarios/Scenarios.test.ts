import { describe, expect, it } from "vitest"
import { scenarios } from "./Catalogue.ts"
import { runScenario } from "./Scenario.ts"

describe("scenarios (persist-spec §8)", () => {
  it("catalogue - one entry per RACE-1..20 and RACE-P1..P3, unique names", () => {
    const specs = new Set(scenarios.map((s) => s.spec))
    for (let i = 1; i <= 20; i++) expect(specs.has(`RACE-${i}`), `RACE-${i}`).toBe(true)
    for (let i = 1; i <= 3; i++) expect(specs.has(`RACE-P${i}`), `RACE-P${i}`).toBe(true)
    expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarios.length)
  })
  for (const s of scenarios) {
    if (s._tag === "Unproducible") continue
    it(`${s.name} (${s.spec}) - takes its path and gets the expected verdict`, () => {
      const o = runScenario(s)
      expect(o.problems).toEqual([])
    }, 60_000)
  }
  it("runScenario - fails when the mark is not reached (a scenario cannot pass vacuously)", () => {
    const o = runScenario({ _tag: "Directed", name: "x", spec: "RACE-0", description: "", found: "", seed: 1, steps: 50, marks: ["no.such.mark"], expect: { _tag: "Clean" } })
    expect(o.ok).toBe(false)
    expect(o.problems[0]).toContain("no.such.mark")
  })
})
