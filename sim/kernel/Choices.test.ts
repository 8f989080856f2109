import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Choices } from "./Choices.ts"

const drawMany = (c: Choices, n: number, bound: number): Array<number> => {
  const out: Array<number> = []
  for (let i = 0; i < n; i++) out.push(c.draw(bound, "x"))
  return out
}

describe("Choices.seeded", () => {
  it("reproduces the same draws for the same seed", () => {
    const a = drawMany(Choices.seeded(42), 1000, 1_000_000)
    const b = drawMany(Choices.seeded(42), 1000, 1_000_000)
    expect(a).toEqual(b)
    expect(drawMany(Choices.seeded(43), 1000, 1_000_000)).not.toEqual(a)
  })

  it("pins alea's sequence (a digest must not change between machines or versions)", () => {
    expect(drawMany(Choices.seeded(1), 8, 1000)).toMatchInlineSnapshot(`
      [
        526,
        122,
        477,
        621,
        165,
        314,
        11,
        275,
      ]
    `)
  })

  it("stays within [0, bound) and records every draw in order", () => {
    const c = Choices.seeded(7)
    const values = [c.draw(1, "a"), c.draw(2, "b"), c.draw(10, "c"), c.draw(2 ** 32, "d")]
    expect(values[0]).toBe(0)
    expect(values[1]).toBeLessThan(2)
    expect(values[2]).toBeLessThan(10)
    expect(values[3]).toBeLessThan(2 ** 32)
    expect(c.tape).toEqual(values)
    expect(c.drawCount).toBe(4)
    expect(c.labels).toBeUndefined()
  })

  it("grows its tape past the initial buffer", () => {
    const c = Choices.seeded(3)
    const values = drawMany(c, 5000, 97)
    expect(c.tape).toEqual(values)
  })

  it("rejects bad bounds", () => {
    const c = Choices.seeded(1)
    expect(() => c.draw(0, "zero")).toThrow(RangeError)
    expect(() => c.draw(1.5, "fraction")).toThrow(RangeError)
    expect(() => c.draw(2 ** 32 + 1, "huge")).toThrow(RangeError)
    expect(() => c.draw(Number.NaN, "nan")).toThrow(RangeError)
  })

  it("keeps labels when asked", () => {
    const c = Choices.seeded(1, { labels: true })
    c.draw(3, "pick request")
    c.drawBool(0.5, "fault?")
    expect(c.labels).toEqual(["pick request", "fault?"])
    expect(c.bounds).toEqual([3, 1_000_000])
    expect(Choices.seeded(1).bounds).toBeUndefined()
  })
})

describe("Choices.fromSource", () => {
  it("draws from the source, reduced modulo the bound, and its tape replays the same draws", () => {
    const seen: Array<string> = []
    const c = Choices.fromSource((bound, label) => (seen.push(`${label}/${bound}`), 7), { labels: true })
    expect([c.draw(10, "a"), c.draw(5, "b"), c.drawBool(0.5, "c")]).toEqual([7, 2, false])
    expect(seen).toEqual(["a/10", "b/5", "c/1000000"])
    const r = Choices.recorded(c.tape)
    expect([r.draw(10, "a"), r.draw(5, "b"), r.drawBool(0.5, "c")]).toEqual([7, 2, false])
  })
})

describe("Choices.recorded", () => {
  it("replays the tape, reducing values modulo the bound", () => {
    const c = Choices.recorded([3, 7, 12])
    expect([c.draw(10, "a"), c.draw(5, "b"), c.draw(5, "c")]).toEqual([3, 2, 2])
    expect(c.tape).toEqual([3, 2, 2])
  })

  it("returns 0 past the end of the tape, forever", () => {
    const c = Choices.recorded([5])
    expect(c.draw(10, "a")).toBe(5)
    expect(drawMany(c, 100, 1000)).toEqual(new Array(100).fill(0))
    expect(c.drawCount).toBe(101)
    expect(Choices.recorded([]).draw(2 ** 32, "x")).toBe(0)
  })

  it("rejects tapes that are not 32-bit non-negative integers", () => {
    expect(() => Choices.recorded([-1])).toThrow(RangeError)
    expect(() => Choices.recorded([0.5])).toThrow(RangeError)
    expect(() => Choices.recorded([2 ** 32])).toThrow(RangeError)
  })

  it("replaying a seeded run's tape reproduces every draw", () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.integer({ min: 1, max: 2 ** 32 }), { maxLength: 50 }), (seed, bounds) => {
        const s = Choices.seeded(seed)
        const original = bounds.map((b) => s.draw(b, "x"))
        const r = Choices.recorded(s.tape)
        expect(bounds.map((b) => r.draw(b, "x"))).toEqual(original)
      })
    )
  })
})

describe("drawBool", () => {
  it("maps a draw of 0 to false, whatever p", () => {
    for (const p of [0, 0.5, 1]) expect(Choices.recorded([]).drawBool(p, "x")).toBe(false)
  })

  it("is monotone in the draw: a lower draw is never more 'true'", () => {
    const at = (d: number, p: number) => Choices.recorded([d]).drawBool(p, "x")
    expect(at(999_999, 0.3)).toBe(true)
    expect(at(700_000, 0.3)).toBe(true)
    expect(at(699_999, 0.3)).toBe(false)
    expect(at(1, 1)).toBe(true)
    expect(at(999_999, 0)).toBe(false)
  })

  it("has probability p when seeded", () => {
    const c = Choices.seeded(11)
    let hits = 0
    const n = 200_000
    for (let i = 0; i < n; i++) if (c.drawBool(0.25, "x")) hits++
    expect(Math.abs(hits / n - 0.25)).toBeLessThan(0.005)
  })
})

describe("drawWeighted", () => {
  it("maps draw 0 to the first index with positive weight, larger draws to later indices", () => {
    expect(Choices.recorded([0]).drawWeighted([3, 1], "x")).toBe(0)
    expect(Choices.recorded([2]).drawWeighted([3, 1], "x")).toBe(0)
    expect(Choices.recorded([3]).drawWeighted([3, 1], "x")).toBe(1)
    expect(Choices.recorded([0]).drawWeighted([0, 0, 2], "x")).toBe(2)
    expect(Choices.recorded([1]).drawWeighted([1, 1, 0], "x")).toBe(1)
  })

  it("supports fractional weights", () => {
    expect(Choices.recorded([0]).drawWeighted([0.5, 0.25, 0.25], "x")).toBe(0)
    expect(Choices.recorded([500_000]).drawWeighted([0.5, 0.25, 0.25], "x")).toBe(1)
    expect(Choices.recorded([999_999]).drawWeighted([0.5, 0.25, 0.25], "x")).toBe(2)
  })

  it("follows the weights when seeded", () => {
    const c = Choices.seeded(5)
    const counts = [0, 0, 0]
    for (let i = 0; i < 60_000; i++) counts[c.drawWeighted([1, 2, 3], "x")]!++
    expect(counts.map((k) => Math.round((k / 60_000) * 6))).toEqual([1, 2, 3])
  })

  it("rejects empty, zero or invalid weights", () => {
    const c = Choices.seeded(1)
    expect(() => c.drawWeighted([], "x")).toThrow(RangeError)
    expect(() => c.drawWeighted([0, 0], "x")).toThrow(RangeError)
    expect(() => c.drawWeighted([1, -1], "x")).toThrow(RangeError)
    expect(() => c.drawWeighted([1, Infinity], "x")).toThrow(RangeError)
  })
})
