/**
 * Leaks must be explained, and GC must have done what it says (issue 15).
 *
 * The liveness phase already checks that the leaked-blob detector agrees with the checker on
 * *which* blobs no live state references; it never asked *why* they are unreferenced. Persist
 * has shipped leaks before (Consensus rows never truncated, blobs never deleted), and a GC that
 * unlinks but forgets to delete passes every other check. After the liveness phase's GC, an
 * unreferenced blob is explained only by an event that can leak:
 *
 * - it was never linked by any committed version: a write whose process crashed before the
 *   linking CaS, an Indeterminate write never linked, a rollup or batch that lost its CaS;
 * - it was deleted and is back: a write that landed after its delete (a parked `set` delivered
 *   late, the nemesis's restore_blob); if a version linked it again, BlobReinserted (INV-18)
 *   says so already.
 *
 * A blob that a committed version linked, a later one unlinked, whose unlinking diff has been
 * truncated, and that no delivered delete ever removed, has no such event: the GC that
 * truncated past its unlinking diff should have deleted it (a failed delete makes GC retry, and
 * it truncates only after every delete of the step succeeded), so that is LeakUnexplained.
 *
 * The ledger records applied deletes (the stores' `observe` hook, through the checker) with the
 * process that sent them, which also lets the janitor's GC results be compared with the deletes
 * that actually reached Blob.
 */
import type { GcResults } from "../../core/Gc.ts"
import { BlobKey } from "../../core/Paths.ts"
import type { State } from "../../core/State.ts"
import type * as V from "./Violations.ts"
import type { Violation } from "./Violations.ts"

/** A kind's own fields (Checker.ts has the same; importing it from there would be a cycle). */
type FieldsOf<S extends { make: (props: any) => Violation }> = Omit<Parameters<S["make"]>[0], "step" | "t" | "invariant" | "_tag">

/** How many keys a LeakUnexplained verdict quotes. */
export const QUOTED_LEAKS = 2

/** Every applied blob delete: which keys, and by which process. */
export class BlobLedger {
  private readonly deleted = new Set<string>()
  private readonly byProcess = new Map<string, Set<string>>()

  onDelete(key: string, process: string): void {
    this.deleted.add(key)
    let s = this.byProcess.get(process)
    if (s === undefined) this.byProcess.set(process, (s = new Set()))
    s.add(key)
  }

  wasDeleted(key: string): boolean {
    return this.deleted.has(key)
  }

  /** Distinct keys `process` deleted (applied deletes only). */
  deletedBy(process: string): ReadonlySet<string> {
    return this.byProcess.get(process) ?? new Set()
  }
}

/** The unreferenced blobs no leak-capable event explains (see the module comment). */
export const unexplainedLeaks = (unreferenced: ReadonlyArray<string>, everReferenced: (key: string) => boolean, ledger: BlobLedger): Array<string> =>
  unreferenced.filter((k) => everReferenced(k) && !ledger.wasDeleted(k))

export const leakVerdict = (leaks: ReadonlyArray<string>): FieldsOf<typeof V.LeakUnexplained> | undefined =>
  leaks.length === 0 ? undefined : { count: leaks.length, rollups: leaks.filter(BlobKey.isRollup).length, keys: [...leaks].sort().slice(0, QUOTED_LEAKS) }

/**
 * The janitor's GC (the only process running, no faults) against the stores: the parts and
 * rollups it says it deleted are the distinct keys it deleted; the last truncation it reports
 * is the earliest version left (none reported: earliest unchanged); and no rollup below the
 * one it truncated to is left in state (it removes every rollup <= seqno_since but the latest).
 */
export const gcResultProblems = (
  results: GcResults,
  deleted: ReadonlySet<string>,
  earliestBefore: number,
  earliestAfter: number,
  current: State | undefined
): Array<FieldsOf<typeof V.GcResultWrong>> => {
  const out: Array<FieldsOf<typeof V.GcResultWrong>> = []
  let rollups = 0
  for (const k of deleted) if (BlobKey.isRollup(k)) rollups++
  const parts = deleted.size - rollups
  if (parts !== results.batchPartsDeletedFromBlob) out.push({ field: "parts deleted", reported: results.batchPartsDeletedFromBlob, observed: parts })
  if (rollups !== results.rollupsDeletedFromBlob) out.push({ field: "rollups deleted", reported: results.rollupsDeletedFromBlob, observed: rollups })
  const to = results.truncatedConsensusTo
  const reportedEarliest = to.length > 0 ? to[to.length - 1]! : earliestBefore
  if (reportedEarliest !== earliestAfter) out.push({ field: "truncated to", reported: reportedEarliest, observed: earliestAfter })
  if (current !== undefined) {
    let below = 0
    for (const s of current.collections.rollups.keys()) if (s < earliestAfter) below++
    if (below > 0) out.push({ field: "rollups left in state", reported: results.rollupsRemovedFromState.length, observed: below })
  }
  return out
}
