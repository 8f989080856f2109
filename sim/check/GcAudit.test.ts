import { Deferred, Exit, FiberId } from "effect"
import { describe, expect, it } from "vitest"
import { RoutineMaintenance } from "../../core/Maintenance.ts"
import { GcAudit, isDone } from "./GcAudit.ts"

const deferred = () => Deferred.unsafeMake<RoutineMaintenance>(FiberId.none)
const tell = (d: Deferred.Deferred<RoutineMaintenance>) => Deferred.unsafeDone(d, Exit.succeed(RoutineMaintenance.none))

describe("GcAudit", () => {
  it("reads a Deferred's completion without a fiber", () => {
    const d = deferred()
    expect(isDone(d)).toBe(false)
    tell(d)
    expect(isDone(d)).toBe(true)
  })

  it("a worker that takes every queued request, merges to the largest and tells each caller passes", () => {
    const audit = new GcAudit()
    const gc = audit.observerFor("p0")
    const [a, b] = [deferred(), deferred()]
    gc.queued(5, a)
    gc.queued(9, b)
    gc.passStarted(9, 2)
    expect(audit.check("p0")).toEqual([]) // in a pass: nothing judged yet
    tell(a)
    tell(b)
    gc.passFinished()
    expect(audit.check("p0")).toEqual([])
  })

  it("an idle worker with a queue, an untold caller and a merge below the largest are each reported", () => {
    const audit = new GcAudit()
    const gc = audit.observerFor("p1")
    gc.queued(3, deferred())
    expect(audit.check("p1").map((p) => p.kind)).toEqual(["GcRequestNotTaken"])
    gc.queued(7, deferred())
    gc.passStarted(3, 2)
    gc.passFinished()
    const problems = audit.check("p1")
    expect(problems.map((p) => p.kind)).toEqual(["GcMergeWrong", "GcCallerNotTold"])
    expect(problems[0]!.fields).toMatchObject({ merged: 3, largest: 7, taken: 2, queued: 2 })
    expect(problems[1]!.fields).toMatchObject({ untold: 2, seqnoSince: 3 })
    expect(audit.check("p1")).toEqual([])
  })
})
