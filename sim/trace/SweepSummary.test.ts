import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { buildSummary, compactSeeds, decodeSummary, expandSeeds, mergeSummaries, rangeText, type SeedOutcome, type SweepConfig } from "./SweepSummary.ts"

const outcome = (seed: number, fail: boolean): SeedOutcome => ({
  seed,
  steps: 10 + seed,
  virtualTimeMs: 100 * seed,
  verdict: fail ? (seed % 2 === 0 ? "known" : "new") : "pass",
  kinds: fail ? ["INV-7/NoRollupAtEarliest"] : [],
  newKinds: fail && seed % 2 === 1 ? ["INV-7/NoRollupAtEarliest"] : [],
  findings: fail && seed % 2 === 0 ? ["RACE-P2"] : [],
  violations: fail ? ["INV-7 NoRollupAtEarliest at step 3"] : [],
  marks: seed % 3 === 0 ? ["gc.started"] : [],
  faults: { crash: seed % 2, none: 5 },
  trace: null,
  replay: `npm run sim -- --seed ${seed}`
})
const config = (shard: SweepConfig["shard"]): SweepConfig => ({ range: { from: 1, to: 12 }, shard, steps: 100, bug: null, jobs: 1 })
const shardOf = (k: number, n: number, version = "1.0.0") => {
  const seeds = Array.from({ length: 12 }, (_, i) => i + 1).filter((s) => (s - 1) % n === k - 1)
  return { file: `s${k}of${n}.json`, summary: buildSummary(version, config({ k, n }), seeds.map((s) => outcome(s, s % 5 === 0)), 1) }
}
const whole = buildSummary("1.0.0", config(null), Array.from({ length: 12 }, (_, i) => outcome(i + 1, (i + 1) % 5 === 0)), 1)
const comparable = (s: typeof whole) => ({ seeds: s.seeds, failures: s.failures, findings: s.findings, coverage: s.coverage, faults: s.faults, totals: s.totals })

describe("SweepSummary", () => {
  it("compactSeeds - round-trips every set of seeds from 0..11 through arithmetic runs", () => {
    for (let mask = 0; mask < 1 << 12; mask++) {
      const sorted = Array.from({ length: 12 }, (_, i) => i).filter((i) => (mask & (1 << i)) !== 0)
      expect(expandSeeds(compactSeeds(sorted))).toEqual(sorted)
    }
    expect(compactSeeds([3, 7, 11, 15])).toEqual([{ from: 3, to: 15, step: 4 }])
  })

  it("rangeText - names two seeds as two seeds, and a longer stepped run by its step", () => {
    expect(rangeText(compactSeeds([14, 430]))).toBe("14, 430")
    expect(rangeText(compactSeeds([3, 7, 11, 15]))).toBe("3..15 step 4")
    expect(rangeText(compactSeeds([1, 2, 3, 9]))).toBe("1..3, 9")
  })

  it("mergeSummaries - the shards of a sweep merge to the whole sweep, with no problems", () => {
    const merged = mergeSummaries([shardOf(2, 3), shardOf(1, 3), shardOf(3, 3)])
    expect(comparable(merged)).toEqual(comparable(whole))
    expect(merged.problems).toEqual([])
    expect(merged.config.shard).toBeNull()
    // Merges compose: a merge of a merge and the rest is the same.
    const half = mergeSummaries([shardOf(1, 4), shardOf(2, 4)])
    expect(comparable(mergeSummaries([{ file: "half", summary: half }, shardOf(3, 4), shardOf(4, 4)]))).toEqual(comparable(whole))
  })

  it("mergeSummaries - names missing shards and seeds, overlaps and mixed versions", () => {
    const missing = mergeSummaries([shardOf(1, 3), shardOf(3, 3)])
    expect(missing.problems).toContain("missing shard(s) 2/3")
    expect(missing.problems!.some((p) => p.startsWith("missing seeds: 4 of 1..12 were not run (2..11 step 3)"))).toBe(true)
    const dup = mergeSummaries([shardOf(1, 2), shardOf(1, 2), shardOf(2, 2)])
    expect(dup.problems!.some((p) => p.startsWith("overlap: 6 seed(s) run by s1of2.json and s1of2.json"))).toBe(true)
    const mixed = mergeSummaries([shardOf(1, 2), shardOf(2, 2, "2.0.0")])
    expect(mixed.problems!.some((p) => p.startsWith("mixed tool versions: 1.0.0 (s1of2.json); 2.0.0 (s2of2.json)"))).toBe(true)
  })

  it("decodeSummary - accepts what the builder writes, rejects anything else in one line", () => {
    expect(Either.isRight(decodeSummary(JSON.stringify(whole)))).toBe(true)
    const bad = decodeSummary(JSON.stringify({ ...whole, totals: { seeds: "12" } }))
    expect(Either.isLeft(bad) && !bad.left.includes("\n")).toBe(true)
    expect(Either.isLeft(decodeSummary("{"))).toBe(true)
  })
})
