import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { BlobKey, BlobKeyParseError, PartialBatchKey, PartialRollupKey } from "./Paths.ts"
import { SeqNo } from "./SeqNo.ts"
import { latestRollup, sortedRollups } from "./State.ts"
import { fromDiff } from "./StateDiff.ts"
import { commit, makeState, partId, rollupId, rollupKey, shard, uuid, writerId } from "./testing/Fixtures.ts"
import { addRollup } from "./Commands.ts"

const parseErr = (key: string): BlobKeyParseError => {
  const r = BlobKey.parseIds(key)
  if (Either.isRight(r)) throw new Error(`expected ${key} to be rejected`)
  return r.left
}

describe("Paths", () => {
  it("PartialRollupKey.new - renders v<seqno>/r<uuid>", () => {
    expect(PartialRollupKey.new(SeqNo(42), rollupId(1))).toBe(`v42/r${uuid(1001)}`)
    expect(PartialRollupKey.complete(rollupKey(42, 1), shard)).toBe(`s${uuid(1)}/v42/r${uuid(1001)}`)
  })

  it("PartialBatchKey.new - renders <writer>/<part>", () => {
    expect(PartialBatchKey.new(writerId(1), partId(2))).toBe(`w${uuid(101)}/p${uuid(502)}`)
    expect(PartialBatchKey.complete(PartialBatchKey.new(writerId(1), partId(2)), shard)).toBe(`s${uuid(1)}/w${uuid(101)}/p${uuid(502)}`)
  })

  it("BlobKey.shardPrefix - the shard id and a slash", () => {
    expect(BlobKey.shardPrefix(shard)).toBe(`s${uuid(1)}/`)
  })

  it("BlobKey.parseIds - a full batch key parses to its shard, writer and part", () => {
    const key = PartialBatchKey.complete(PartialBatchKey.new(writerId(3), partId(4)), shard)
    expect(BlobKey.parseIds(key)).toEqual(Either.right([shard, { _tag: "Batch", writerKey: writerId(3), partId: partId(4) }]))
  })

  it("BlobKey.parseIds - a full rollup key parses to its shard, seqno and rollup id", () => {
    const key = PartialRollupKey.complete(rollupKey(17, 5), shard)
    expect(BlobKey.parseIds(key)).toEqual(Either.right([shard, { _tag: "Rollup", seqno: 17, rollupId: rollupId(5) }]))
    expect(BlobKey.parseIds(`${shard}/v0/${rollupId(1)}`)).toEqual(Either.right([shard, { _tag: "Rollup", seqno: 0, rollupId: rollupId(1) }]))
  })

  it("BlobKey.parseIds - bad keys are typed BlobKeyParseErrors carrying the key", () => {
    const bad = [
      ["no shard", `v1/${rollupId(1)}`],
      ["no slash", `${shard}`],
      ["bad shard uuid", `s1234/v1/${rollupId(1)}`],
      ["shard without prefix", `${uuid(1)}/v1/${rollupId(1)}`],
      ["bad rollup uuid", `${shard}/v1/rnot-a-uuid`],
      ["uppercase uuid", `${shard}/v1/r${uuid(1).toUpperCase().replace("0000-4000-8000", "0000-4000-A000")}`],
      ["seqno with a leading zero", `${shard}/v01/${rollupId(1)}`],
      ["seqno without v", `${shard}/1/${rollupId(1)}`],
      ["negative seqno", `${shard}/v-1/${rollupId(1)}`],
      ["seqno past the safe range", `${shard}/v9007199254740993/${rollupId(1)}`],
      ["rollup id with the wrong prefix", `${shard}/v1/p${uuid(1)}`],
      ["three segments", `${shard}/v1/${rollupId(1)}/extra`],
      ["one segment", `${shard}/v1`],
      ["bad part id", `${shard}/${writerId(1)}/x${uuid(1)}`],
      ["bad writer id", `${shard}/wnope/${partId(1)}`],
      ["empty", ""]
    ] as const
    for (const [why, key] of bad) {
      const e = parseErr(key)
      expect(e, why).toBeInstanceOf(BlobKeyParseError)
      expect(e._tag, why).toBe("BlobKeyParseError")
      expect(e.key, why).toBe(key)
      expect(e.reason.length, why).toBeGreaterThan(0)
    }
  })

  it("PartialRollupKey - keys compare as strings (v10 < v9) but rollups are ordered by numeric seqno", () => {
    const k9 = rollupKey(9)
    const k10 = rollupKey(10)
    expect(k10 < k9).toBe(true)
    expect([k9, k10].sort()).toEqual([k10, k9])
    const state = makeState({ seqno: 12, rollups: [10, 9] })
    expect(latestRollup(state)).toEqual([10, { key: k10, encodedSizeBytes: 100 }])
    expect(sortedRollups(state.collections).map(([s]) => s)).toEqual([9, 10])
    // The denormalized latest rollup key in a diff is the numerically latest one too.
    const state9 = makeState({ seqno: 11, rollups: [9] })
    const [, next] = commit(state9, addRollup(SeqNo(10), { key: k10, encodedSizeBytes: 1 }))
    expect(fromDiff(state9, next).latestRollupKey).toBe(k10)
  })

  it("PartialRollupKey.isValid and PartialBatchKey.isValid agree with BlobKey.parseIds", () => {
    const parsedAs = (partial: string): string => {
      const r = BlobKey.parseIds(`${shard}/${partial}`)
      return Either.isLeft(r) ? "invalid" : r.right[1]._tag
    }
    // Keys assembled as head + separator + tail from valid and broken fragments, so both
    // answers come up often.
    const head = fc.constantFrom("v0", "v7", "v01", "v-1", "v", `v${Number.MAX_SAFE_INTEGER}`, "v9007199254740993", `w${uuid(4)}`, `W${uuid(4)}`, `w${uuid(4)}x`, "x", "")
    const sep = fc.constantFrom("/", "", "//", "/x/")
    const tail = fc.constantFrom(`r${uuid(3)}`, `p${uuid(5)}`, `r${uuid(7).toUpperCase()}`, `p${uuid(5).slice(1)}`, uuid(6), "r", "p", "")
    const key = fc.oneof(
      fc.tuple(head, sep, tail).map(([a, b, c]) => a + b + c),
      fc.array(fc.oneof(head, sep, tail), { maxLength: 5 }).map((xs) => xs.join(""))
    )
    const seen = new Set<string>()
    fc.assert(
      fc.property(key, (k) => {
        const expected = parsedAs(k)
        seen.add(expected)
        expect(PartialRollupKey.isValid(k)).toBe(expected === "Rollup")
        expect(PartialBatchKey.isValid(k)).toBe(expected === "Batch")
      }),
      { numRuns: 3000 }
    )
    expect([...seen].sort()).toEqual(["Batch", "Rollup", "invalid"])
    expect(PartialRollupKey.isValid(rollupKey(42, 1))).toBe(true)
    expect(PartialBatchKey.isValid(`${writerId(1)}/${partId(2)}`)).toBe(true)
  })
})
