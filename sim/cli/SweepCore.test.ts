import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it, vi } from "vitest"
import { Checker } from "../check/Checker.ts"
import { runSeedRecord } from "./SweepCore.ts"

afterEach(() => vi.restoreAllMocks())

describe("a sweep survives a world that throws", () => {
  it("every seed gets a record; the throw is that seed's HarnessError", () => {
    let calls = 0
    // A checker crash mid-run (as the INV-8 desync used to cause): thrown from the driver loop.
    vi.spyOn(Checker.prototype, "afterStep").mockImplementation(() => {
      if (++calls % 50 === 0) throw new TypeError("simulated checker crash")
    })
    const out = mkdtempSync(join(tmpdir(), "sweepcore-"))
    const records = [1, 2, 3].map((seed) => runSeedRecord(seed, 300, null, out))
    expect(records.map((r) => r.seed)).toEqual([1, 2, 3])
    for (const r of records) {
      expect(r.exitCode).toBe(3)
      expect(r.verdict).toBe("new")
      expect(r.newKinds).toContain("HARNESS/HarnessError")
      expect(r.violations.some((v) => v.includes("simulated checker crash"))).toBe(true)
      expect(r.trace).not.toBeNull()
    }
  })
})
