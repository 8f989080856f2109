import { describe, expect, it } from "vitest"
import { measureRawRoundTrip } from "./rawRoundTrip.ts"

describe("measureRawRoundTrip", () => {
  it("delivers exactly n requests and reports a per-request time", () => {
    const r = measureRawRoundTrip(2000)
    expect(r.requests).toBe(2000)
    expect(r.ns).toBeGreaterThan(0)
    expect(r.nsPerRoundTrip).toBeCloseTo(r.ns / 2000)
  })

  it("handles n = 0", () => {
    expect(measureRawRoundTrip(0)).toMatchObject({ requests: 0, nsPerRoundTrip: 0 })
  })
})
