/**
 * The per-process GC worker, watched during the main run (issue 15). Before this, the only GC
 * the harness judged was the janitor's direct call in the liveness phase; a worker that never
 * ran, a caller never told its request was done, or a merge that kept the smallest seqno_since
 * passed, because the janitor's GC did the work afterwards.
 *
 * Core reports three events through its ProcessObserver (core/ProcessObserver.ts `gc`): a
 * request queued (with the Deferred its caller waits on), a pass started (the merged request
 * and how many queued requests it took), a pass finished. The audit keeps its own FIFO of each
 * process's requests and, at every step boundary (World.checkCaches, every fiber parked):
 *
 * - GcRequestNotTaken: the worker is idle but requests wait in its queue (it takes and merges
 *   every queued request when it starts a pass, and fibers run until quiet before a step);
 * - GcCallerNotTold: a pass finished, but a request it took has an incomplete Deferred;
 * - GcMergeWrong (at pass start): the merged request is not the queued one with the largest
 *   seqno_since, or the pass took more requests than were queued;
 * - GcPassShort (at pass finish): Consensus is not truncated as far as the request asked
 *   (sim/check/GcProgress.ts);
 * - GcPassSkippedWork (at pass finish): the truncation the request asked for was not there when
 *   the pass started, and the pass neither found it at its live-state scan nor made it itself
 *   (another worker's GC may have made it meanwhile, which hides the first check).
 *
 * A worker that died (a panic in GC) stays "in a pass" forever, so it is reported once, as the
 * panic, not again here.
 */
import type { Deferred } from "effect"
import type { RoutineMaintenance } from "../../core/Maintenance.ts"
import type { GcObserver } from "../../core/ProcessObserver.ts"
import type * as V from "./Violations.ts"
import type { Violation } from "./Violations.ts"

/** A kind's own fields (Checker.ts has the same; importing it from there would be a cycle). */
type FieldsOf<S extends { make: (props: any) => Violation }> = Omit<Parameters<S["make"]>[0], "step" | "t" | "invariant" | "_tag">

interface Queued {
  readonly seqnoSince: number
  readonly done: Deferred.Deferred<RoutineMaintenance>
}

interface Worker {
  queued: Array<Queued>
  inPass: boolean
  /** The seqno_since of the pass in progress. */
  merged: number
  /** Requests of finished passes whose Deferred was not yet seen complete. */
  told: Array<Queued>
  /** At pass start: the earliest live seqno and the truncation the request asks for (GcProgress.ts). */
  start: PassStart | undefined
  /** The furthest the pass in progress saw or made Consensus truncated, by its own requests. */
  reached: number
}

/** What GcProgress.ts says about a request when a pass for it starts. */
export interface PassStart {
  readonly earliest: number
  readonly expected: number | undefined
}

export type GcProblem =
  | { readonly kind: "GcRequestNotTaken"; readonly fields: FieldsOf<typeof V.GcRequestNotTaken> }
  | { readonly kind: "GcCallerNotTold"; readonly fields: FieldsOf<typeof V.GcCallerNotTold> }
  | { readonly kind: "GcMergeWrong"; readonly fields: FieldsOf<typeof V.GcMergeWrong> }
  | { readonly kind: "GcPassShort"; readonly fields: FieldsOf<typeof V.GcPassShort> }
  | { readonly kind: "GcPassSkippedWork"; readonly fields: FieldsOf<typeof V.GcPassSkippedWork> }

/**
 * Whether `d` is completed, read without running an effect: `Deferred.isDone` needs a fiber,
 * and a fiber started outside the kernel reads the wall clock (the traps refuse it). This is
 * what `Deferred.isDone` itself reads (effect 3.22 internal/core.js `deferredIsDone`);
 * GcAudit.test.ts fails if an upgrade changes it.
 */
export const isDone = (d: Deferred.Deferred<RoutineMaintenance>): boolean => {
  const state = (d as unknown as { readonly state?: { readonly current?: { readonly _tag?: unknown } } }).state?.current?._tag
  if (state === undefined) throw new Error("GcAudit: Deferred has no readable state (effect internals changed)")
  return state === "Done"
}

export class GcAudit {
  private readonly workers = new Map<string, Worker>()
  /** Problems found at a pass start or finish, handed out at the next check. */
  private readonly pending: Array<GcProblem> = []

  /**
   * `shortfall`: how far short of its request a pass that just finished fell, judged against
   * the stores at that moment (sim/check/GcProgress.ts); absent, not judged. `atStart`: the
   * stores' earliest and the truncation a request asks for, when its pass starts; absent, a
   * pass's own work is not judged.
   */
  constructor(
    private readonly shortfall?: (seqnoSince: number) => { readonly earliest: number; readonly expected: number } | undefined,
    private readonly atStart?: (seqnoSince: number) => PassStart
  ) {}

  private worker(process: string): Worker {
    let w = this.workers.get(process)
    if (w === undefined) this.workers.set(process, (w = { queued: [], inPass: false, merged: 0, told: [], start: undefined, reached: 0 }))
    return w
  }

  /** The observer a process's core reports its GC worker's events to. */
  observerFor(process: string): GcObserver {
    return {
      queued: (seqnoSince, done) => void this.worker(process).queued.push({ seqnoSince, done }),
      passStarted: (merged, taken) => {
        const w = this.worker(process)
        const took = w.queued.splice(0, taken)
        let max = -1
        for (const q of took) if (q.seqnoSince > max) max = q.seqnoSince
        if (taken !== took.length || taken === 0 || merged !== max) {
          this.pending.push({ kind: "GcMergeWrong", fields: { process, merged, largest: max, taken, queued: took.length } })
        }
        w.inPass = true
        w.merged = merged
        w.told.push(...took)
        w.start = this.atStart?.(merged)
        w.reached = 0
      },
      passFinished: () => {
        const w = this.worker(process)
        w.inPass = false
        const short = this.shortfall?.(w.merged)
        if (short !== undefined) this.pending.push({ kind: "GcPassShort", fields: { process, seqnoSince: w.merged, ...short } })
        else {
          const s = w.start
          if (s !== undefined && s.expected !== undefined && s.earliest < s.expected && w.reached < s.expected) {
            this.pending.push({
              kind: "GcPassSkippedWork",
              fields: { process, seqnoSince: w.merged, earliestAtStart: s.earliest, reached: w.reached, expected: s.expected }
            })
          }
        }
      }
    }
  }

  /**
   * The GC worker of `process` scanned every live diff (fetch_all_live_states) or truncated, and
   * Consensus's earliest is now `earliest`: what the pass in progress found or made.
   */
  onWorkerProgress(process: string, earliest: number): void {
    const w = this.workers.get(process)
    if (w !== undefined && w.inPass && earliest > w.reached) w.reached = earliest
  }

  /** A restarted process has a new worker. */
  forget(process: string): void {
    this.workers.delete(process)
  }

  /** At a step boundary, for a process still running. */
  check(process: string): Array<GcProblem> {
    const out = this.pending.splice(0)
    const w = this.workers.get(process)
    if (w === undefined || w.inPass) return out
    if (w.queued.length > 0) out.push({ kind: "GcRequestNotTaken", fields: { process, waiting: w.queued.length, seqnoSince: w.queued[0]!.seqnoSince } })
    if (w.told.length > 0) {
      const untold = w.told.filter((q) => !isDone(q.done))
      w.told = []
      if (untold.length > 0) out.push({ kind: "GcCallerNotTold", fields: { process, untold: untold.length, seqnoSince: untold[0]!.seqnoSince } })
    }
    return out
  }
}
