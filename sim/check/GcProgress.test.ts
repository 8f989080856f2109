import { Deferred, Exit, FiberId } from "effect"
import { describe, expect, it } from "vitest"
import { RoutineMaintenance } from "../../core/Maintenance.ts"
import type { State } from "../../core/State.ts"
import { leased, makeState, readerId } from "../../core/testing/Fixtures.ts"
import { GcAudit } from "./GcAudit.ts"
import { expectedEarliest, passShortfall, passStart } from "./GcProgress.ts"

/** Version `seqno` listing `rollups`, with a leased reader holding `hold` (its seqno_since). */
const v = (seqno: number, rollups: ReadonlyArray<number>, hold: number): State =>
  makeState({ seqno, rollups, walltimeMs: seqno, leasedReaders: [[readerId(1), leased(hold, 0, 0, 1_000_000)] as const] })

// v1..v8; seqno_since reaches 6 at v7, which lists rollups 1, 3, 5 and 6.
const history = new Map<number, State>([
  [1, v(1, [1], 1)],
  [2, v(2, [1], 1)],
  [3, v(3, [1], 2)],
  [4, v(4, [1, 3], 3)],
  [5, v(5, [1, 3], 4)],
  [6, v(6, [1, 3, 5], 5)],
  [7, v(7, [1, 3, 5, 6], 6)],
  [8, v(8, [1, 3, 5, 6, 7], 7)]
])
const at = (s: number) => history.get(s)

describe("GcProgress: a finished GC pass ran as far as its request", () => {
  it("expectedEarliest - the latest rollup <= R listed by the first version whose seqno_since is >= R", () => {
    expect(expectedEarliest(6, 1, 8, at)).toBe(6) // v7
    expect(expectedEarliest(4, 1, 8, at)).toBe(3) // v5 lists 1 and 3
    expect(expectedEarliest(5, 1, 8, at)).toBe(5) // v6 lists 5
    expect(expectedEarliest(9, 1, 8, at)).toBeUndefined() // no version that far
  })

  it("passShortfall - earliest below that rollup is short; at or past it (or nothing live to judge) is not", () => {
    expect(passShortfall(6, 3, 8, at)).toEqual({ earliest: 3, expected: 6 })
    expect(passShortfall(6, 6, 8, at)).toBeUndefined()
    // Truncated past H_R: the versions below earliest are gone and the scan starts later.
    expect(passShortfall(4, 6, 8, (s) => (s >= 6 ? at(s) : undefined))).toBeUndefined()
  })

  it("GcAudit - a pass judged short at its finish is reported with its process and request", () => {
    const audit = new GcAudit((r) => passShortfall(r, 3, 8, at))
    const gc = audit.observerFor("p0")
    const d = Deferred.unsafeMake<RoutineMaintenance>(FiberId.none)
    gc.queued(6, d)
    gc.passStarted(6, 1)
    Deferred.unsafeDone(d, Exit.succeed(RoutineMaintenance.none))
    gc.passFinished()
    expect(audit.check("p0")).toEqual([{ kind: "GcPassShort", fields: { process: "p0", seqnoSince: 6, earliest: 3, expected: 6 } }])
  })

  it("GcAudit - a pass that found the stores short at its start must reach the rollup itself, even if another GC truncated there meanwhile", () => {
    // At its finish the stores are truncated to 6 (another worker did it): the first check passes.
    let earliestNow = 3
    const audit = new GcAudit(
      (r) => passShortfall(r, earliestNow, 8, at),
      (r) => passStart(r, earliestNow, 8, at)
    )
    const run = (process: string, progress: ReadonlyArray<number>) => {
      earliestNow = 3
      const gc = audit.observerFor(process)
      const d = Deferred.unsafeMake<RoutineMaintenance>(FiberId.none)
      gc.queued(6, d)
      gc.passStarted(6, 1)
      for (const e of progress) audit.onWorkerProgress(process, e)
      earliestNow = 6
      Deferred.unsafeDone(d, Exit.succeed(RoutineMaintenance.none))
      gc.passFinished()
      return audit.check(process)
    }
    // Its scan found earliest 3 and it truncated only to 5: it skipped its own last step.
    expect(run("p0", [3, 5])).toEqual([{ kind: "GcPassSkippedWork", fields: { process: "p0", seqnoSince: 6, earliestAtStart: 3, reached: 5, expected: 6 } }])
    // It truncated to 6 itself, or its scan already found Consensus truncated at 6: its part is done.
    expect(run("p1", [3, 5, 6])).toEqual([])
    expect(run("p2", [6])).toEqual([])
    // A progress report from a process with no pass in progress changes nothing.
    audit.onWorkerProgress("p3", 9)
    expect(audit.check("p3")).toEqual([])
  })

  it("passStart - the stores' earliest and the expected rollup when a pass starts", () => {
    expect(passStart(6, 3, 8, at)).toEqual({ earliest: 3, expected: 6 })
    expect(passStart(9, 3, 8, at)).toEqual({ earliest: 3, expected: undefined })
  })
})
