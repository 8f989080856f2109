import { describe, expect, it } from "vitest"
import type { GcResults } from "../../core/Gc.ts"
import type { SeqNo } from "../../core/SeqNo.ts"
import { BlobLedger, gcResultProblems, leakVerdict, unexplainedLeaks } from "./LeakAudit.ts"

const part = (n: number) => `s1/w1/p${n}`
const rollup = (n: number) => `s1/v${n}/r${n}`
const results = (over: Partial<GcResults>): GcResults => ({ batchPartsDeletedFromBlob: 0, rollupsDeletedFromBlob: 0, truncatedConsensusTo: [], rollupsRemovedFromState: [], ...over })

describe("leaks must be explained", () => {
  it("a blob never linked, or deleted and written again, is explained; one linked and never deleted is not", () => {
    const ledger = new BlobLedger()
    ledger.onDelete(part(2), "p0")
    const linked = new Set([part(2), part(3), rollup(4)])
    const leaks = unexplainedLeaks([part(1), part(2), part(3), rollup(4)], (k) => linked.has(k), ledger)
    expect(leaks).toEqual([part(3), rollup(4)])
    expect(leakVerdict(leaks)).toEqual({ count: 2, rollups: 1, keys: [part(3), rollup(4)].sort() })
    expect(leakVerdict([])).toBeUndefined()
  })

  it("the ledger keeps each process's distinct deletes", () => {
    const ledger = new BlobLedger()
    ledger.onDelete(part(1), "janitor")
    ledger.onDelete(part(1), "janitor")
    ledger.onDelete(part(2), "p1")
    expect([...ledger.deletedBy("janitor")]).toEqual([part(1)])
    expect(ledger.deletedBy("p9").size).toBe(0)
    expect(ledger.wasDeleted(part(2))).toBe(true)
  })
})

describe("the janitor's GC results against the stores", () => {
  const deleted = new Set([part(1), part(2), rollup(3)])
  it("agrees when counts and truncation match", () => {
    expect(gcResultProblems(results({ batchPartsDeletedFromBlob: 2, rollupsDeletedFromBlob: 1, truncatedConsensusTo: [5 as SeqNo, 9 as SeqNo] }), deleted, 1, 9, undefined)).toEqual([])
    expect(gcResultProblems(results({}), new Set(), 4, 4, undefined)).toEqual([])
  })
  it("names each field that disagrees", () => {
    const p = gcResultProblems(results({ batchPartsDeletedFromBlob: 3, rollupsDeletedFromBlob: 0, truncatedConsensusTo: [5 as SeqNo] }), deleted, 1, 9, undefined)
    expect(p.map((x) => x.field)).toEqual(["parts deleted", "rollups deleted", "truncated to"])
    expect(p[2]).toEqual({ field: "truncated to", reported: 5, observed: 9 })
  })
})
