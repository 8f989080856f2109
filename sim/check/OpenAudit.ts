/**
 * Opening a shard (OP-1 `maybe_init_shard`), watched from the stores (issue 15: "a process
 * never acts on a stale state it was handed as current").
 *
 * Before this, the checker compared an opened process's cached state with the history *at its
 * own seqno* (CachedStateWrong) and against the head (CachedStatePastHead), but never asked
 * whether it was current: an open that returned the oldest page of live diffs' state, or
 * left the initial rollup it wrote and then lost the init race in Blob, passed every check,
 * because the next CaS mismatch quietly brought the process up to date.
 *
 * Two rules, both judged the moment the open returns (no store call lies between
 * `maybe_init_shard` returning and the observer's `shardOpened`, core/StateCache.ts):
 *
 * - OpenedStale (spec RACE-3's check, "P returns a state equal to some state that was current
 *   during the call"): the opened state's seqno is at least the head when the open's first
 *   read reached Consensus. Each path of OP-1 returns a state no older: the fast path's scan
 *   holds every live diff up to that head, the slow path reads the head after it, and a
 *   refetch or an init mismatch only moves forward. Anything older had already been
 *   superseded when the process first looked.
 * - OpenInitRollupWrong, "left" (spec RACE-1/RACE-2: "no leak of v1/rQ unless Q crashed before
 *   deleting"): every initial rollup the opening process wrote is, when the open returns, either
 *   linked by some committed version or gone from Blob. A process that crashes or is stopped
 *   during its open never returns from it, so the tolerated crash leak is never judged.
 * - OpenInitRollupWrong, "written on an initialized shard" (OP-1 step 2): an open whose first
 *   read found versions in Consensus loads the shard; it never writes an initial rollup (which
 *   it would then have to race for and delete: correct in the end, but a write, a CaS and a
 *   delete per open that a correct open never makes).
 *
 * The watch keeps, per process incarnation (names differ per incarnation), the head at its
 * open's first performed scan and the initial rollups its open wrote; the checker feeds it
 * from the stores' `observe` hooks (sim/world/SimStores.ts) and the processes' observers.
 */
import type { RequestBy } from "./Violations.ts"

/** The task core runs `maybe_init_shard` under (core/StateCache.ts `withTask("init")`). */
const INIT_TASK = "init"

interface Opening {
  /** The head when the open's first scan was performed (undefined: no scan yet; 0: uninitialized). */
  headAtFirstScan: number | undefined
  /** Initial rollup keys (full blob keys) the open wrote. */
  readonly initRollups: Set<string>
}

export type InitRollupProblem = "left unlinked and undeleted" | "written on an initialized shard"

export type OpenProblem =
  | { readonly kind: "OpenedStale"; readonly process: string; readonly seqno: number; readonly headAtFirstScan: number }
  | { readonly kind: "OpenInitRollupWrong"; readonly process: string; readonly key: string; readonly openedAt: number; readonly problem: InitRollupProblem }

export class OpenWatch {
  private readonly opening = new Map<string, Opening>()

  private of(process: string): Opening {
    let o = this.opening.get(process)
    if (o === undefined) this.opening.set(process, (o = { headAtFirstScan: undefined, initRollups: new Set() }))
    return o
  }

  /** A Consensus scan by `by` was performed while the head was `head`. */
  onScan(by: RequestBy, head: number): void {
    if (by.task !== INIT_TASK) return
    const o = this.of(by.process)
    if (o.headAtFirstScan === undefined) o.headAtFirstScan = head
  }

  /** A blob write by `by` was performed; `isInitialRollup()` says whether the key is a rollup at seqno 1 (asked only of an open's writes). */
  onBlobSet(by: RequestBy, key: string, isInitialRollup: () => boolean): void {
    if (by.task === INIT_TASK && isInitialRollup()) this.of(by.process).initRollups.add(key)
  }

  /**
   * `process` returned from its open holding state `seqno`. `linkedOrGone(key)`: some committed
   * version referenced `key`, or Blob no longer holds it.
   */
  onOpened(process: string, seqno: number, linkedOrGone: (key: string) => boolean): Array<OpenProblem> {
    const o = this.opening.get(process)
    this.opening.delete(process)
    if (o === undefined) return []
    const out: Array<OpenProblem> = []
    if (o.headAtFirstScan !== undefined && seqno < o.headAtFirstScan) out.push({ kind: "OpenedStale", process, seqno, headAtFirstScan: o.headAtFirstScan })
    const initialized = o.headAtFirstScan !== undefined && o.headAtFirstScan > 0
    for (const key of o.initRollups) {
      if (initialized) out.push({ kind: "OpenInitRollupWrong", process, key, openedAt: seqno, problem: "written on an initialized shard" })
      else if (!linkedOrGone(key)) out.push({ kind: "OpenInitRollupWrong", process, key, openedAt: seqno, problem: "left unlinked and undeleted" })
    }
    return out
  }

  /** A crashed process's open never returns (its leak is tolerated); forget it. */
  forget(process: string): void {
    this.opening.delete(process)
  }
}
