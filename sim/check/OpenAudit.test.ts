import { describe, expect, it } from "vitest"
import { Choices } from "../kernel/Choices.ts"
import { runWorld } from "../world/World.ts"
import { OpenWatch } from "./OpenAudit.ts"
import type { RequestBy } from "./Violations.ts"

const init = (process: string): RequestBy => ({ process, task: "init", cmd: "", op: "fetch_recent_live_diffs" })
const cmd = (process: string): RequestBy => ({ process, task: "cmd", cmd: "", op: "fetch_all_live_diffs_gt_seqno" })
const nothingLeft = () => true

describe("opening a shard (OpenAudit)", () => {
  it("an open must return a state at least as new as the head its first performed scan saw", () => {
    const w = new OpenWatch()
    w.onScan(init("p0"), 7)
    w.onScan(init("p0"), 9) // a later scan of the same open (a refetch) does not move the bar
    w.onScan(cmd("p0"), 12) // nor does a scan outside the open
    expect(w.onOpened("p0", 7, nothingLeft)).toEqual([])
    w.onScan(init("p1"), 7)
    expect(w.onOpened("p1", 6, nothingLeft)).toEqual([{ kind: "OpenedStale", process: "p1", seqno: 6, headAtFirstScan: 7 }])
    // Judged once: the record is gone after the open returns.
    expect(w.onOpened("p1", 1, nothingLeft)).toEqual([])
  })

  it("an initial rollup an open wrote must be linked or deleted when it returns, and never written on an initialized shard", () => {
    const w = new OpenWatch()
    w.onScan(init("p0"), 0)
    w.onBlobSet(init("p0"), "s/v1/rA", () => true)
    w.onBlobSet(init("p0"), "s/v2/rB", () => false) // not an initial rollup
    w.onBlobSet(cmd("p0"), "s/v1/rC", () => true) // not written by the open
    expect(w.onOpened("p0", 1, (k) => k !== "s/v1/rA")).toEqual([
      { kind: "OpenInitRollupWrong", process: "p0", key: "s/v1/rA", openedAt: 1, problem: "left unlinked and undeleted" }
    ])
    w.onScan(init("p1"), 4)
    w.onBlobSet(init("p1"), "s/v1/rD", () => true)
    expect(w.onOpened("p1", 4, nothingLeft)).toEqual([
      { kind: "OpenInitRollupWrong", process: "p1", key: "s/v1/rD", openedAt: 4, problem: "written on an initialized shard" }
    ])
  })

  it("a crashed process's open is forgotten (its leak is tolerated)", () => {
    const w = new OpenWatch()
    w.onScan(init("p0"), 0)
    w.onBlobSet(init("p0"), "s/v1/rA", () => true)
    w.forget("p0")
    expect(w.onOpened("p0", 1, () => false)).toEqual([])
  })

  it("on the correct system, worlds open the shard without a violation of either rule", () => {
    for (const seed of [1, 2, 3]) {
      const r = runWorld(Choices.seeded(seed), { steps: 400 })
      expect(r.violations.filter((v) => v._tag === "OpenedStale" || v._tag === "OpenInitRollupWrong")).toEqual([])
    }
  })
})
