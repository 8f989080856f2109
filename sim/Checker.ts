/**
 * The invariant checker (spec §5): run after every delivered request, incrementally — each
 * committed diff is decoded once and applied to the previous state, so a step costs O(size of
 * the change), not O(history).
 *
 * It watches the world's stores directly (the ground truth, not what any process believes)
 * and reports each broken invariant by its spec id. Leaks (INV-16) are counted, not failed.
 */
import { Either } from "effect"
import { Antichain } from "../core/Antichain.ts"
import type { MemBlob } from "../core/Blob.ts"
import type { MemConsensus, VersionedData } from "../core/Consensus.ts"
import { decodeRollup, decodeStateDiff } from "../core/Encoding.ts"
import type { ShardId } from "../core/Ids.ts"
import { BlobKey, PartialRollupKey } from "../core/Paths.ts"
import {
  blobRefKeys,
  isTombstone,
  latestRollup,
  referencedBlobKeys,
  seqnoSince,
  type State,
  traceUpper
} from "../core/State.ts"
import { applyDiff, mapBlobDeletes, mapBlobInserts } from "../core/StateDiff.ts"
import type { Violation } from "./Trace.ts"

export class Checker {
  readonly violations: Array<Violation> = []
  /** Reconstructed states for every live seqno [E, H]. */
  private readonly states = new Map<number, State>()
  private earliest = 0
  private head = 0
  /** Every blob key any committed version ever referenced (keys are fresh UUIDs: INV-18). */
  private readonly everReferenced = new Set<string>()
  /** Highest upper a writer was told was committed (no acknowledged append lost). */
  private ackedUpper: Antichain = Antichain.minimum
  private readonly cachedSeqnos = new Map<string, number>()
  /** Full keys the current state references, with how many times (kept from each diff). */
  private readonly curRefs = new Map<string, number>()
  /** Part keys a diff dropped from state, with the last seqno whose state still had them. */
  private readonly droppedAt = new Map<string, number>()
  /** `droppedAt` in seqno order, so truncation can forget what no live state references. */
  private readonly dropLog: Array<readonly [number, string]> = []
  checks = 0
  /** Off only for benchmarks measuring the world without the checker. */
  enabled = true
  step = 0
  t = 0

  constructor(
    private readonly shardId: ShardId,
    private readonly consensus: MemConsensus,
    private readonly blob: MemBlob,
    private readonly buildVersion: string
  ) {}

  private fail(invariant: string, message: string): void {
    // One report per invariant per step is enough to read.
    const last = this.violations[this.violations.length - 1]
    if (last !== undefined && last.step === this.step && last.invariant === invariant) return
    this.violations.push({ step: this.step, t: this.t, invariant, message })
  }

  get current(): State | undefined {
    return this.states.get(this.head)
  }
  get earliestSeqno(): number {
    return this.earliest
  }
  get headSeqno(): number {
    return this.head
  }

  /** A CaS committed `row` (called by the world right after applying it). */
  onCommit(row: VersionedData): void {
    if (!this.enabled) return
    const decoded = decodeStateDiff(this.buildVersion, row.data)
    if (Either.isLeft(decoded)) return this.fail("INV-8", `row ${row.seqno} does not decode: ${JSON.stringify(decoded.left)}`)
    const diff = decoded.right
    if (diff.seqnoTo !== row.seqno || diff.seqnoFrom !== row.seqno - 1) {
      this.fail("INV-3", `row ${row.seqno} holds a diff ${diff.seqnoFrom}->${diff.seqnoTo}`)
    }
    let next: State | undefined
    if (this.head === 0) {
      // INV-2: the first version is seqno 1 and is its own rollup.
      if (row.seqno !== 1) this.fail("INV-2", `first version written at seqno ${row.seqno}`)
      const bytes = this.blob.unsafeGet(PartialRollupKey.complete(diff.latestRollupKey, this.shardId))
      if (bytes === undefined) return this.fail("INV-2", `initial rollup ${diff.latestRollupKey} is not in Blob`)
      const r = decodeRollup(this.buildVersion, bytes)
      if (Either.isLeft(r)) return this.fail("INV-14", `initial rollup does not decode: ${JSON.stringify(r.left)}`)
      next = r.right.state
      this.earliest = row.seqno
      for (const k of referencedBlobKeys(next)) this.addCurRef(k, row.seqno)
    } else {
      if (row.seqno !== this.head + 1) this.fail("INV-3", `row ${row.seqno} committed after head ${this.head}`)
      const prev = this.states.get(this.head)!
      const applied = applyDiff(prev, diff)
      if (Either.isLeft(applied)) return this.fail("INV-8", `diff ${row.seqno} does not apply to state ${this.head}: ${applied.left}`)
      next = applied.right
      mapBlobDeletes(diff, (b) => {
        for (const k of blobRefKeys(b, this.shardId)) this.dropCurRef(k, row.seqno - 1)
      })
      mapBlobInserts(diff, (b) => {
        for (const k of blobRefKeys(b, this.shardId)) {
          if (this.everReferenced.has(k)) this.fail("INV-18", `diff ${row.seqno} re-inserts ${k}, referenced by an earlier version`)
          this.addCurRef(k, row.seqno)
        }
      })
      this.checkTransition(prev, next)
    }
    this.head = row.seqno
    this.states.set(row.seqno, next)
    if (next.collections.rollups.size === 0) return this.fail("INV-11", `state ${row.seqno} has no rollup`)
    const latestKey = latestRollup(next)[1].key
    if (diff.latestRollupKey !== latestKey) this.fail("INV-10", `diff ${row.seqno} names ${diff.latestRollupKey}, state's latest is ${latestKey}`)
    // Entries never change once in: checking each new or updated one checks every state.
    if (row.seqno === this.earliest) for (const [s, r] of next.collections.rollups) this.checkRollupEntry(next.seqno, s, r.key)
    else for (const d of diff.rollups) if (d.val._tag !== "Delete") this.checkRollupEntry(next.seqno, d.key, d.val.to.key)
  }

  /** INV-12 (the key names its seqno) and INV-13 (linked after it was taken, or the initial one). */
  private checkRollupEntry(stateSeqno: number, s: number, key: string): void {
    const p = BlobKey.parseIds(PartialRollupKey.complete(key as PartialRollupKey, this.shardId))
    if (Either.isLeft(p) || p.right[1]._tag !== "Rollup" || p.right[1].seqno !== s) this.fail("INV-12", `rollup entry ${s} has key ${key}`)
    if (!(s < stateSeqno || (s === 1 && stateSeqno === 1))) this.fail("INV-13", `state ${stateSeqno} lists a rollup at ${s}`)
  }

  /** The state at `seqno` (now current) references `key`: it must exist (INV-9, INV-17). */
  private addCurRef(key: string, seqno: number): void {
    this.everReferenced.add(key)
    this.curRefs.set(key, (this.curRefs.get(key) ?? 0) + 1)
    if (!this.blob.has(key)) this.fail(BlobKey.isRollup(key) ? "INV-9" : "INV-17", `state ${seqno} references ${key}, which is not in Blob`)
  }

  private dropCurRef(key: string, lastSeqno: number): void {
    const n = (this.curRefs.get(key) ?? 0) - 1
    if (n > 0) return void this.curRefs.set(key, n)
    this.curRefs.delete(key)
    if (BlobKey.isRollup(key)) return
    this.droppedAt.set(key, lastSeqno)
    this.dropLog.push([lastSeqno, key])
  }

  /** State-level invariants between consecutive versions (INV-S*). */
  private checkTransition(prev: State, next: State): void {
    const a = prev.collections
    const b = next.collections
    if (!(next.walltimeMs > prev.walltimeMs)) this.fail("INV-S1", `walltime ${prev.walltimeMs} -> ${next.walltimeMs}`)
    if (!Antichain.lessEqual(a.trace.since, b.trace.since)) this.fail("INV-S2", `since regressed at ${next.seqno}`)
    if (!Antichain.lessEqual(traceUpper(a.trace), traceUpper(b.trace))) this.fail("INV-S2", `upper regressed at ${next.seqno}`)
    if (b.lastGcReq < a.lastGcReq) this.fail("INV-S3", `last_gc_req regressed ${a.lastGcReq} -> ${b.lastGcReq}`)
    const [before, after] = [seqnoSince(prev), seqnoSince(next)]
    if (b.lastGcReq > after) this.fail("INV-S3", `last_gc_req ${b.lastGcReq} > seqno_since ${after}`)
    // seqno_since changes only with a commit, so checking each transition covers every step.
    if (after < before) this.fail("INV-S4", `seqno_since regressed ${before} -> ${after} at ${next.seqno}`)
    if (isTombstone(a)) {
      const same = a.writers.size === b.writers.size && a.leasedReaders.size === b.leasedReaders.size && a.trace.batches.length === b.trace.batches.length
      if (!same) this.fail("INV-S7", `tombstone changed handles or batches at ${next.seqno}`)
    }
    for (const [id, w] of b.writers) {
      const was = a.writers.get(id)
      if (was !== undefined && !Antichain.lessEqual(was.mostRecentWriteUpper, w.mostRecentWriteUpper)) this.fail("INV-S8", `writer ${id} upper regressed`)
      if (!Antichain.lessEqual(w.mostRecentWriteUpper, traceUpper(b.trace))) this.fail("INV-S8", `writer ${id} upper past the shard upper`)
    }
    let meet: Antichain | undefined
    for (const r of b.leasedReaders.values()) meet = meet === undefined ? r.since : Antichain.meet(meet, r.since)
    for (const r of b.criticalReaders.values()) meet = meet === undefined ? r.since : Antichain.meet(meet, r.since)
    if (meet !== undefined && !Antichain.lessEqual(b.trace.since, meet)) this.fail("INV-S6", `trace since ${Antichain.render(b.trace.since)} past the readers' ${Antichain.render(meet)}`)
  }

  /** A truncate was applied: live states below the new earliest are gone. */
  onTruncate(): void {
    if (!this.enabled) return
    const rows = this.consensus.rows(this.shardId)
    const e = rows[0]?.seqno
    if (e === undefined) return this.fail("INV-1", "an initialized shard lost every version")
    for (let s = this.earliest; s < e; s++) this.states.delete(s)
    this.earliest = e
    let drop = 0
    while (drop < this.dropLog.length && this.dropLog[drop]![0] < e) {
      const [seqno, key] = this.dropLog[drop++]!
      if (this.droppedAt.get(key) === seqno) this.droppedAt.delete(key)
    }
    if (drop > 0) this.dropLog.splice(0, drop)
  }

  /** Each state's referenced keys, computed once per (immutable) state. */
  private readonly refsCache = new WeakMap<State, Set<string>>()
  private refs(st: State): Set<string> {
    let r = this.refsCache.get(st)
    if (r === undefined) {
      r = new Set(referencedBlobKeys(st))
      this.refsCache.set(st, r)
    }
    return r
  }

  /**
   * A blob was deleted. Parts: nothing a state >= seqno_since references may go (INV-17), since a
   * leased reader may still fetch them; a part's states form one run of seqnos (keys are never
   * re-inserted, INV-18), so the last one is enough. Rollups: only the current state's list
   * counts (INV-9); older live states may name rollups that are gone (INV-15), because nobody
   * reconstructs from a rollup other than the one at the earliest version or the latest one.
   */
  onBlobDelete(key: string): void {
    if (!this.enabled) return
    const cur = this.current
    if (cur === undefined) return
    if (BlobKey.isRollup(key)) {
      if (this.curRefs.has(key)) this.fail("INV-9", `deleted ${key}, listed by the current state ${this.head}`)
      return
    }
    const since = seqnoSince(cur)
    const last = this.curRefs.has(key) ? this.head : this.droppedAt.get(key)
    if (last !== undefined && last >= Math.max(since, this.earliest)) {
      this.fail("INV-17", `deleted ${key}, referenced by live state ${last} (seqno_since ${since})`)
    }
  }

  /** A writer was told its batch committed. */
  onAppendAcked(upper: Antichain): void {
    this.ackedUpper = Antichain.join(this.ackedUpper, upper)
  }

  /** A process's cached state (INV-4: never past the head, never regresses). */
  onCachedSeqno(process: string, seqno: number): void {
    if (!this.enabled) return
    const before = this.cachedSeqnos.get(process) ?? 0
    if (seqno < before) this.fail("INV-4", `${process}'s cached state regressed ${before} -> ${seqno}`)
    if (seqno > this.head) this.fail("INV-4", `${process}'s cached state ${seqno} is past the head ${this.head}`)
    this.cachedSeqnos.set(process, seqno)
  }
  /** A restarted process starts again from nothing. */
  forgetProcess(process: string): void {
    this.cachedSeqnos.delete(process)
  }

  /** Snapshot invariants, after every delivered request. */
  afterStep(): void {
    if (!this.enabled) return
    this.checks++
    const rows = this.consensus.rows(this.shardId)
    if (this.head === 0) {
      if (rows.length > 0) this.fail("INV-1", "Consensus has rows the checker never saw committed")
      return
    }
    const cur = this.current
    if (cur === undefined) return
    if (rows.length === 0) return this.fail("INV-1", "initialized shard has no versions")
    if (rows[0]!.seqno !== this.earliest || rows[rows.length - 1]!.seqno !== this.head) {
      this.fail("INV-6", `checker sees [${this.earliest}, ${this.head}], Consensus holds [${rows[0]!.seqno}, ${rows[rows.length - 1]!.seqno}]`)
    }
    const since = seqnoSince(cur)
    if (this.earliest > since) this.fail("INV-5", `earliest ${this.earliest} > seqno_since ${since}`)
    for (const r of cur.collections.leasedReaders.values()) {
      if (r.seqno < this.earliest || r.seqno > this.head) this.fail("INV-S5", `reader hold ${r.seqno} outside [${this.earliest}, ${this.head}]`)
    }
    const atEarliest = cur.collections.rollups.get(this.earliest as never)
    if (atEarliest === undefined) this.fail("INV-7", `current state (${this.head}) has no rollup at earliest ${this.earliest}`)
    else if (!this.blob.has(PartialRollupKey.complete(atEarliest.key, this.shardId))) this.fail("INV-7", `rollup at earliest ${this.earliest} (${atEarliest.key}) is not in Blob`)
    if (!Antichain.lessEqual(this.ackedUpper, traceUpper(cur.collections.trace))) {
      this.fail("HIST-append", `acknowledged upper ${Antichain.render(this.ackedUpper)} is past the shard upper ${Antichain.render(traceUpper(cur.collections.trace))}`)
    }
  }

  /** Blobs of the shard no live state references (INV-16 leaks: counted, not failed). */
  unreferencedBlobs(): Array<string> {
    const referenced = new Set<string>()
    for (const s of this.states.values()) for (const k of this.refs(s)) referenced.add(k)
    return this.blob.unsafeList(BlobKey.shardPrefix(this.shardId)).map((m) => m.key).filter((k) => !referenced.has(k))
  }
}
