import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { seedAt, sliceOf } from "./SeedRange.ts"

describe("SeedRange", () => {
  it("sliceOf - the shard's seeds are those with (s - from) mod n = k - 1, in order", () => {
    fc.assert(
      fc.property(fc.nat(50), fc.nat(60), fc.integer({ min: 1, max: 12 }), fc.nat(11), (from, len, n, k0) => {
        const to = from + len
        const shard = { k: (k0 % n) + 1, n }
        const expected: Array<number> = []
        for (let s = from; s <= to; s++) if ((s - from) % n === shard.k - 1) expected.push(s)
        const slice = sliceOf({ from, to }, shard)
        expect(Array.from({ length: slice.count }, (_, i) => seedAt(slice, i))).toEqual(expected)
      })
    )
  })

  it("sliceOf - a range of a billion seeds is three numbers, whatever its size", () => {
    const s = sliceOf({ from: 1, to: 1_000_000_000 }, { k: 1, n: 100_000 })
    expect(s).toEqual({ first: 1, stride: 100_000, count: 10_000 })
    expect(seedAt(s, s.count - 1)).toBe(999_900_001)
    expect(sliceOf({ from: 0, to: 2 ** 32 - 1 }, null).count).toBe(2 ** 32)
    expect(sliceOf({ from: 1, to: 3 }, { k: 5, n: 8 }).count).toBe(0)
  })
})
