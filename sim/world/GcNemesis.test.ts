import { describe, expect, it } from "vitest"
import { violationKind } from "../check/Violations.ts"
import { Choices } from "../kernel/Choices.ts"
import { GC_NEMESIS_MARKS } from "./GcNemesis.ts"
import { nemesisRunOptions } from "./NemesisMode.ts"
import { targetedFaultsFor } from "./SwarmConfig.ts"
import { runWorld } from "./World.ts"

const mark = (marks: ReadonlyArray<readonly [string, number]>, m: string) => marks.find(([k]) => k === m)?.[1] ?? 0

describe("GcNemesis", () => {
  it("--nemesis gc: GC requests forwarded, duplicated and delivered stale; deterministic; every invariant holds (seeds 13, 14)", () => {
    const seen = new Set<string>()
    for (let seed = 13; seed <= 14; seed++) {
      const a = runWorld(Choices.seeded(seed), { steps: 1000, keepEvents: false, ...nemesisRunOptions("gc") })
      const b = runWorld(Choices.seeded(seed), { steps: 1000, keepEvents: false, ...nemesisRunOptions("gc") })
      expect(b.digest).toBe(a.digest)
      expect(a.unexplained.map(violationKind)).toEqual([])
      for (const m of Object.values(GC_NEMESIS_MARKS)) if (mark(a.marks, m) > 0) seen.add(m)
      if (mark(a.marks, "race.gcCacheOlderThanRequest") > 0) seen.add("race.gcCacheOlderThanRequest")
    }
    expect([...seen].sort()).toEqual([...Object.values(GC_NEMESIS_MARKS), "race.gcCacheOlderThanRequest"].sort())
  })

  it("--nemesis off: a seed whose draw runs the GC-race nemesis runs without it", () => {
    // Find a seed that draws it, with the same cheap construction the world uses.
    let seed = 1
    for (; seed < 200; seed++) if (runWorld(Choices.seeded(seed), { steps: 1, keepEvents: false, liveness: false }).config.targeted?.gcRace === true) break
    const on = runWorld(Choices.seeded(seed), { steps: 1000, keepEvents: false })
    const off = runWorld(Choices.seeded(seed), { steps: 1000, keepEvents: false, ...nemesisRunOptions("off") })
    expect(off.config.targeted?.gcRace).toBe(false)
    expect(mark(off.marks, GC_NEMESIS_MARKS.forwarded) + mark(off.marks, GC_NEMESIS_MARKS.delayed)).toBe(0)
    expect(mark(on.marks, GC_NEMESIS_MARKS.forwarded) + mark(on.marks, GC_NEMESIS_MARKS.delayed)).toBeGreaterThan(0)
  })

  it("targetedFaultsFor - the new targets sit only in seeds with debug assertions on, a sixteenth each", () => {
    const count = { blobOnly: 0, fetchStalls: 0, gcRace: 0 }
    for (let top = 0; top < 64; top++) {
      const t = targetedFaultsFor(top * 2 ** 26)
      if (top >= 32) expect(t.blobOnly === true || t.fetchStalls === true || t.gcRace === true).toBe(false)
      if (t.blobOnly === true) count.blobOnly++
      if (t.fetchStalls === true) count.fetchStalls++
      if (t.gcRace === true) count.gcRace++
    }
    expect(count).toEqual({ blobOnly: 4, fetchStalls: 4, gcRace: 4 })
  })
})
