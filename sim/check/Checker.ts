/**
 * The invariant checker (spec §5): run after every delivered request, incrementally — each
 * committed diff is decoded once and applied to the previous state, so a step costs O(size of
 * the change), not O(history).
 *
 * It watches the world's stores directly (the ground truth, not what any process believes)
 * and reports each broken invariant by its spec id. Leaks (INV-16) are counted, not failed.
 */
import { Either } from "effect"
import { Antichain } from "../../core/Antichain.ts"
import type { MemBlob } from "../../core/Blob.ts"
import type { MemConsensus, VersionedData } from "../../core/Consensus.ts"
import type { ShardId } from "../../core/Ids.ts"
import { BlobKey, PartialRollupKey } from "../../core/Paths.ts"
import {
  blobRefKeys,
  isTombstone,
  latestRollup,
  referencedBlobKeys,
  seqnoSince,
  type State,
  traceUpper
} from "../../core/State.ts"
import type { HollowBatch } from "../../core/State.ts"
import { mapBlobDeletes, mapBlobInserts } from "../../core/StateDiff.ts"
import { codeCanReadData } from "../../core/Encoding.ts"
import { ProposalWatch } from "./Proposals.ts"
import { GcAudit } from "./GcAudit.ts"
import { OpenWatch } from "./OpenAudit.ts"
import { gcDeleteProblem } from "./GcDeletes.ts"
import { passShortfall, passStart } from "./GcProgress.ts"
import { BlobLedger } from "./LeakAudit.ts"
import { Equality, oracleApply, oracleDecodeDiff, oracleDecodeRollup } from "./Replay.ts"
import * as V from "./Violations.ts"
import type { RequestBy, Violation } from "./Violations.ts"

/** The fields of violation kind `S` that the checker supplies (step and time it adds itself). */
export type FieldsOf<S extends { make: (props: any) => Violation }> = Omit<Parameters<S["make"]>[0], "step" | "t" | "invariant" | "_tag">

/** Who applied the change being checked, when the checker is fed outside a world (tests). */
export const unknownRequest: RequestBy = { process: "?", task: "?", cmd: "", op: "" }

/** A command a process was told succeeded, with the seqno it was told (what its holds must match). */
export type Ack =
  | { readonly _tag: "Append"; readonly process: string; readonly writerId: string; readonly seqno: number; readonly batch: HollowBatch }
  | { readonly _tag: "Downgrade"; readonly process: string; readonly readerId: string; readonly seqno: number; readonly since: Antichain }

/** A batch as the history knows it: its range and its parts' keys. */
const batchKey = (b: HollowBatch): string => JSON.stringify([b.desc.lower, b.desc.upper, b.parts.map((p) => (p._tag === "Hollow" ? p.key : p.updates))])

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
  /** The seqno of the first version that held each batch (batches are never re-inserted). */
  private readonly batchFirstSeen = new Map<string, number>()
  /** The state object each process cached when last compared (compare again only when it changes). */
  private readonly cachedSeen = new Map<string, State>()
  private readonly eq = new Equality()
  private readonly proposals = new ProposalWatch()
  /** Applied blob deletes, by process (sim/check/LeakAudit.ts: leaks must be explained). */
  readonly ledger = new BlobLedger()
  /** Each process's GC worker (sim/check/GcAudit.ts), fed by the processes' observers. */
  readonly gcAudit = new GcAudit(
    (r) => passShortfall(r, this.earliest, this.head, (s) => this.states.get(s)),
    (r) => passStart(r, this.earliest, this.head, (s) => this.states.get(s))
  )
  /** Each process's open of the shard (sim/check/OpenAudit.ts). */
  private readonly opens = new OpenWatch()
  checks = 0
  /**
   * Diffs that unlinked a batch with an inline part (no blob), and how many of them a truncation
   * has passed: GC walked each of those (coverage mark `check.inlineUnlinkTruncated`, issue 15).
   */
  private readonly inlineUnlinks: Array<number> = []
  inlineUnlinksTruncated = 0
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

  private fail<S extends { make: (props: any) => Violation }>(kind: S, fields: FieldsOf<S>): void {
    const v = kind.make({ ...fields, step: this.step, t: this.t })
    // One report per kind per step is enough to read.
    const last = this.violations[this.violations.length - 1]
    if (last !== undefined && last.step === this.step && last._tag === v._tag) return
    this.violations.push(v)
  }

  /**
   * After a change the checker cannot follow (a diff that does not decode or apply), its copy
   * of the history is no longer the store's: it says so once and checks nothing more in this
   * world, rather than report nonsense or crash the sweep.
   */
  private desync(why: string): void {
    this.fail(V.CheckerFailed, { message: `desynchronised (${why}); no further checks in this world` })
    this.enabled = false
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
  onCommit(row: VersionedData, by: RequestBy = unknownRequest): void {
    if (!this.enabled) return
    // The checker's own decode and apply (Replay.ts), not the code path the processes run.
    const decoded = oracleDecodeDiff(row.data)
    if (Either.isLeft(decoded)) {
      this.fail(V.DiffUndecodable, { seqno: row.seqno, error: decoded.left })
      return this.desync(`row ${row.seqno} does not decode`)
    }
    const diff = decoded.right
    if (!codeCanReadData(this.buildVersion, diff.applierVersion)) {
      this.fail(V.DiffUndecodable, { seqno: row.seqno, error: `written by ${diff.applierVersion}, unreadable by ${this.buildVersion}` })
      return this.desync(`row ${row.seqno} is from a newer version`)
    }
    if (diff.seqnoTo !== row.seqno || diff.seqnoFrom !== row.seqno - 1) {
      this.fail(V.DiffSeqnosWrong, { seqno: row.seqno, seqnoFrom: diff.seqnoFrom, seqnoTo: diff.seqnoTo })
    }
    let next: State | undefined
    if (this.head === 0) {
      // INV-2: the first version is seqno 1 and is its own rollup.
      if (row.seqno !== 1) this.fail(V.FirstVersionNotOne, { seqno: row.seqno })
      const key = PartialRollupKey.complete(diff.latestRollupKey, this.shardId)
      const bytes = this.blob.unsafeGet(key)
      if (bytes === undefined) {
        this.fail(V.InitialRollupMissing, { seqno: row.seqno, key })
        return this.desync("the initial rollup is missing")
      }
      const r = oracleDecodeRollup(bytes)
      if (Either.isLeft(r)) {
        this.fail(V.RollupUndecodable, { key, error: r.left })
        return this.desync("the initial rollup does not decode")
      }
      next = r.right.state
      for (const b of next.collections.trace.batches) this.batchFirstSeen.set(batchKey(b), row.seqno)
      this.earliest = row.seqno
      for (const k of referencedBlobKeys(next)) this.addCurRef(k, row.seqno)
    } else {
      if (row.seqno !== this.head + 1) this.fail(V.CommitNotAfterHead, { seqno: row.seqno, head: this.head })
      const prev = this.states.get(this.head)!
      const applied = oracleApply(prev, diff, this.eq)
      if (Either.isLeft(applied)) {
        this.fail(V.DiffDoesNotApply, { seqno: row.seqno, head: this.head, error: applied.left })
        return this.desync(`diff ${row.seqno} does not apply`)
      }
      next = applied.right
      mapBlobDeletes(diff, (b) => {
        for (const k of blobRefKeys(b, this.shardId)) this.dropCurRef(k, row.seqno - 1)
        if (b._tag === "Batch" && b.batch.parts.some((p) => p._tag === "Inline")) this.inlineUnlinks.push(row.seqno)
      })
      mapBlobInserts(diff, (b) => {
        for (const k of blobRefKeys(b, this.shardId)) {
          if (this.everReferenced.has(k)) this.fail(V.BlobReinserted, { seqno: row.seqno, key: k, rollup: BlobKey.isRollup(k), by })
          this.addCurRef(k, row.seqno)
        }
      })
      for (const d of diff.spine) if (d.val._tag === "Insert" && !this.batchFirstSeen.has(batchKey(d.key))) this.batchFirstSeen.set(batchKey(d.key), row.seqno)
      this.checkTransition(prev, next)
    }
    this.head = row.seqno
    this.states.set(row.seqno, next)
    if (next.collections.rollups.size === 0) return this.fail(V.NoRollup, { seqno: row.seqno })
    const latestKey = latestRollup(next)[1].key
    if (diff.latestRollupKey !== latestKey) this.fail(V.LatestRollupKeyMismatch, { seqno: row.seqno, diffKey: diff.latestRollupKey, stateKey: latestKey })
    // Entries never change once in: checking each new or updated one checks every state.
    if (row.seqno === this.earliest) for (const [s, r] of next.collections.rollups) this.checkRollupEntry(next.seqno, s, r.key)
    else {
      for (const d of diff.rollups) {
        if (d.val._tag === "Delete") continue
        this.checkRollupEntry(next.seqno, d.key, d.val.to.key)
        this.checkRollupContent(d.key, d.val.to.key)
      }
    }
  }

  /**
   * A rollup linked for seqno `s` must hold exactly the state the history gives for `s` (when
   * the checker still has it): its blob is decoded by the Schema alone and compared.
   */
  private checkRollupContent(s: number, partial: string): void {
    const want = this.states.get(s)
    if (want === undefined) return
    const key = PartialRollupKey.complete(partial as PartialRollupKey, this.shardId)
    const bytes = this.blob.unsafeGet(key)
    if (bytes === undefined) return // RollupMissing says so
    const r = oracleDecodeRollup(bytes)
    if (Either.isLeft(r)) return this.fail(V.RollupUndecodable, { key, error: r.left })
    const path = this.eq.firstDifference(r.right.state, want)
    if (path !== undefined) this.fail(V.RollupContentWrong, { seqno: s, key, path })
  }

  /** INV-12 (the key names its seqno) and INV-13 (linked after it was taken, or the initial one). */
  private checkRollupEntry(stateSeqno: number, s: number, key: string): void {
    const p = BlobKey.parseIds(PartialRollupKey.complete(key as PartialRollupKey, this.shardId))
    if (Either.isLeft(p) || p.right[1]._tag !== "Rollup" || p.right[1].seqno !== s) this.fail(V.RollupKeyWrongSeqno, { stateSeqno, rollupSeqno: s, key })
    if (!(s < stateSeqno || (s === 1 && stateSeqno === 1))) this.fail(V.RollupNotBelowState, { stateSeqno, rollupSeqno: s })
  }

  /** The state at `seqno` (now current) references `key`: it must exist (INV-9, INV-17). */
  private addCurRef(key: string, seqno: number): void {
    this.everReferenced.add(key)
    this.curRefs.set(key, (this.curRefs.get(key) ?? 0) + 1)
    if (!this.blob.has(key)) {
      if (BlobKey.isRollup(key)) this.fail(V.RollupMissing, { seqno, key })
      else this.fail(V.PartMissing, { seqno, key })
    }
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
    const seqno = next.seqno
    if (!(next.walltimeMs > prev.walltimeMs)) this.fail(V.WalltimeRegressed, { seqno, before: prev.walltimeMs, after: next.walltimeMs })
    if (!Antichain.lessEqual(a.trace.since, b.trace.since)) {
      this.fail(V.FrontierRegressed, { seqno, frontier: "since", before: Antichain.render(a.trace.since), after: Antichain.render(b.trace.since) })
    }
    if (!Antichain.lessEqual(traceUpper(a.trace), traceUpper(b.trace))) {
      this.fail(V.FrontierRegressed, { seqno, frontier: "upper", before: Antichain.render(traceUpper(a.trace)), after: Antichain.render(traceUpper(b.trace)) })
    }
    if (b.lastGcReq < a.lastGcReq) this.fail(V.LastGcReqRegressed, { seqno, before: a.lastGcReq, after: b.lastGcReq })
    const [before, after] = [seqnoSince(prev), seqnoSince(next)]
    if (b.lastGcReq > after) this.fail(V.LastGcReqPastSeqnoSince, { seqno, lastGcReq: b.lastGcReq, seqnoSince: after })
    // seqno_since changes only with a commit, so checking each transition covers every step.
    if (after < before) this.fail(V.SeqnoSinceRegressed, { seqno, before, after })
    if (isTombstone(a)) {
      const same = a.writers.size === b.writers.size && a.leasedReaders.size === b.leasedReaders.size && a.trace.batches.length === b.trace.batches.length
      if (!same) this.fail(V.TombstoneChanged, { seqno })
    }
    for (const [id, w] of b.writers) {
      const was = a.writers.get(id)
      if (was !== undefined && !Antichain.lessEqual(was.mostRecentWriteUpper, w.mostRecentWriteUpper)) this.fail(V.WriterUpperWrong, { seqno, writerId: id, problem: "regressed" })
      if (!Antichain.lessEqual(w.mostRecentWriteUpper, traceUpper(b.trace))) this.fail(V.WriterUpperWrong, { seqno, writerId: id, problem: "past the shard upper" })
    }
    let meet: Antichain | undefined
    for (const r of b.leasedReaders.values()) meet = meet === undefined ? r.since : Antichain.meet(meet, r.since)
    for (const r of b.criticalReaders.values()) meet = meet === undefined ? r.since : Antichain.meet(meet, r.since)
    if (meet !== undefined && !Antichain.lessEqual(b.trace.since, meet)) {
      this.fail(V.SincePastReaders, { seqno, since: Antichain.render(b.trace.since), readersSince: Antichain.render(meet) })
    }
  }

  /** A truncate by `by` was applied: live states below the new earliest are gone. */
  onTruncate(by: RequestBy = unknownRequest): void {
    if (!this.enabled) return
    this.onTruncated()
    if (by.task === "gc-worker") this.gcAudit.onWorkerProgress(by.process, this.earliest)
  }

  private onTruncated(): void {
    const rows = this.consensus.rows(this.shardId)
    const e = rows[0]?.seqno
    if (e === undefined) return this.fail(V.ShardLostEveryVersion, {})
    for (let s = this.earliest; s < e; s++) this.states.delete(s)
    this.earliest = e
    let drop = 0
    while (drop < this.dropLog.length && this.dropLog[drop]![0] < e) {
      const [seqno, key] = this.dropLog[drop++]!
      if (this.droppedAt.get(key) === seqno) this.droppedAt.delete(key)
    }
    if (drop > 0) this.dropLog.splice(0, drop)
    while (this.inlineUnlinks.length > 0 && this.inlineUnlinks[0]! < e) (this.inlineUnlinks.shift(), this.inlineUnlinksTruncated++)
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
  onBlobDelete(key: string, by: RequestBy = unknownRequest): void {
    if (!this.enabled) return
    this.ledger.onDelete(key, by.process)
    const unreferenced = gcDeleteProblem(key, by, (k) => this.everReferenced.has(k))
    if (unreferenced !== undefined) this.fail(V.GcDeletedUnreferenced, unreferenced)
    const cur = this.current
    if (cur === undefined) return
    if (BlobKey.isRollup(key)) {
      if (this.curRefs.has(key)) this.fail(V.LiveRollupDeleted, { key, head: this.head, by })
      return
    }
    const since = seqnoSince(cur)
    const last = this.curRefs.has(key) ? this.head : this.droppedAt.get(key)
    if (last !== undefined && last >= Math.max(since, this.earliest)) {
      this.fail(V.LivePartDeleted, { key, liveSeqno: last, seqnoSince: since, by })
    }
  }

  /** `process` sends a compare_and_append CaS proposing `next` (before its fault is drawn; see Proposals.ts). */
  onProposed(process: string, next: VersionedData): void {
    if (!this.enabled) return
    const change = this.proposals.onProposed(process, next)
    if (change !== undefined) this.fail(V.AppendTokenChanged, change)
  }

  /** A writer was told its batch committed. */
  onAppendAcked(upper: Antichain): void {
    this.ackedUpper = Antichain.join(this.ackedUpper, upper)
  }

  /**
   * A process was told a command succeeded at `seqno`. An append: some version up to `seqno`
   * held the batch (no lost append), and the writer's recorded upper is the batch's. A
   * downgrade: the state at `seqno` holds the reader at the acknowledged since. States the
   * checker no longer has (truncated) and handles since expired (leases) are not judged.
   */
  onAcked(ack: Ack): void {
    if (!this.enabled) return
    const st = this.states.get(ack.seqno)
    if (ack._tag === "Append") {
      this.onAppendAcked(ack.batch.desc.upper)
      const first = this.batchFirstSeen.get(batchKey(ack.batch))
      if (first === undefined || first > ack.seqno) {
        const d = ack.batch.desc
        this.fail(V.AckedBatchNotCommitted, { process: ack.process, writerId: ack.writerId, seqno: ack.seqno, lower: Antichain.render(d.lower), upper: Antichain.render(d.upper) })
      }
      const w = st?.collections.writers.get(ack.writerId as never)
      if (w !== undefined && !Antichain.equals(w.mostRecentWriteUpper, ack.batch.desc.upper)) {
        this.fail(V.AckedHoldWrong, {
          process: ack.process,
          handle: ack.writerId,
          seqno: ack.seqno,
          field: "writer upper",
          acked: Antichain.render(ack.batch.desc.upper),
          inState: Antichain.render(w.mostRecentWriteUpper)
        })
      }
      return
    }
    const r = st?.collections.leasedReaders.get(ack.readerId as never)
    if (r !== undefined && !Antichain.equals(r.since, ack.since)) {
      this.fail(V.AckedHoldWrong, { process: ack.process, handle: ack.readerId, seqno: ack.seqno, field: "reader since", acked: Antichain.render(ack.since), inState: Antichain.render(r.since) })
    }
  }

  /**
   * A process's cached state must be the history's state at its seqno (INV-4 by content): it
   * is compared whenever the process holds a different state object than last time.
   */
  onCachedState(process: string, st: State): void {
    if (!this.enabled || this.cachedSeen.get(process) === st) return
    this.cachedSeen.set(process, st)
    const want = this.states.get(st.seqno)
    if (want === undefined) return
    const path = this.eq.firstDifference(st, want)
    if (path !== undefined) this.fail(V.CachedStateWrong, { process, seqno: st.seqno, path })
  }

  /** A process's cached state (INV-4: never past the head, never regresses). */
  onCachedSeqno(process: string, seqno: number): void {
    if (!this.enabled) return
    const before = this.cachedSeqnos.get(process) ?? 0
    if (seqno < before) this.fail(V.CachedStateRegressed, { process, before, after: seqno })
    if (seqno > this.head) this.fail(V.CachedStatePastHead, { process, seqno, head: this.head })
    this.cachedSeqnos.set(process, seqno)
  }
  /** The GC worker of `process` (still running) at a step boundary. */
  checkGcWorker(process: string): void {
    if (!this.enabled) return
    for (const p of this.gcAudit.check(process)) {
      if (p.kind === "GcRequestNotTaken") this.fail(V.GcRequestNotTaken, p.fields)
      else if (p.kind === "GcCallerNotTold") this.fail(V.GcCallerNotTold, p.fields)
      else if (p.kind === "GcMergeWrong") this.fail(V.GcMergeWrong, p.fields)
      else if (p.kind === "GcPassSkippedWork") this.fail(V.GcPassSkippedWork, p.fields)
      else this.fail(V.GcPassShort, p.fields)
    }
  }

  /** A restarted process starts again from nothing. */
  forgetProcess(process: string): void {
    this.cachedSeqnos.delete(process)
    this.cachedSeen.delete(process)
    this.opens.forget(process)
  }

  /** A Consensus scan by `by` was performed (OpenAudit.ts: the head an open first saw). */
  onScanned(by: RequestBy): void {
    if (!this.enabled) return
    this.opens.onScan(by, this.head)
    // The scan of every live diff by a GC pass: the earliest it found (GcProgress.ts).
    if (by.task === "gc-worker" && by.op === "fetch_all_live_diffs") this.gcAudit.onWorkerProgress(by.process, this.earliest)
  }

  /** A blob write by `by` was performed (OpenAudit.ts: the initial rollups an open wrote). */
  onBlobSet(key: string, by: RequestBy): void {
    if (!this.enabled) return
    // The key is parsed only for an open's writes (OpenWatch asks), not for every part written.
    this.opens.onBlobSet(by, key, () => {
      const p = BlobKey.parseIds(key)
      return Either.isRight(p) && p.right[1]._tag === "Rollup" && p.right[1].seqno === 1
    })
  }

  /** `process` returned from opening the shard holding state `seqno` (OpenAudit.ts). */
  onOpened(process: string, seqno: number): void {
    if (!this.enabled) return
    for (const p of this.opens.onOpened(process, seqno, (k) => this.everReferenced.has(k) || !this.blob.has(k))) {
      if (p.kind === "OpenedStale") this.fail(V.OpenedStale, { process: p.process, seqno: p.seqno, headAtFirstScan: p.headAtFirstScan })
      else this.fail(V.OpenInitRollupWrong, { process: p.process, key: p.key, openedAt: p.openedAt, problem: p.problem })
    }
  }

  /** Snapshot invariants, after every delivered request. */
  afterStep(): void {
    if (!this.enabled) return
    this.checks++
    const rows = this.consensus.rows(this.shardId)
    if (this.head === 0) {
      if (rows.length > 0) this.fail(V.RowsNeverCommitted, {})
      return
    }
    const cur = this.current
    if (cur === undefined) return
    if (rows.length === 0) return this.fail(V.ShardLostEveryVersion, {})
    if (rows[0]!.seqno !== this.earliest || rows[rows.length - 1]!.seqno !== this.head) {
      this.fail(V.LiveRangeMismatch, { checkerEarliest: this.earliest, checkerHead: this.head, storeEarliest: rows[0]!.seqno, storeHead: rows[rows.length - 1]!.seqno })
    }
    const since = seqnoSince(cur)
    if (this.earliest > since) this.fail(V.EarliestPastSeqnoSince, { earliest: this.earliest, seqnoSince: since })
    for (const r of cur.collections.leasedReaders.values()) {
      if (r.seqno < this.earliest || r.seqno > this.head) this.fail(V.ReaderHoldOutsideLive, { readerSeqno: r.seqno, earliest: this.earliest, head: this.head })
    }
    const atEarliest = cur.collections.rollups.get(this.earliest as never)
    if (atEarliest === undefined) this.fail(V.NoRollupAtEarliest, { earliest: this.earliest, head: this.head })
    else {
      const key = PartialRollupKey.complete(atEarliest.key, this.shardId)
      if (!this.blob.has(key)) this.fail(V.EarliestRollupMissing, { earliest: this.earliest, key })
    }
    if (!Antichain.lessEqual(this.ackedUpper, traceUpper(cur.collections.trace))) {
      this.fail(V.AcknowledgedAppendLost, { ackedUpper: Antichain.render(this.ackedUpper), shardUpper: Antichain.render(traceUpper(cur.collections.trace)) })
    }
  }

  /** Whether some committed version ever referenced the blob `key`. */
  wasReferenced(key: string): boolean {
    return this.everReferenced.has(key)
  }

  /** Blobs of the shard no live state references (INV-16 leaks: counted here; LeakAudit.ts judges them). */
  unreferencedBlobs(): Array<string> {
    const referenced = new Set<string>()
    for (const s of this.states.values()) for (const k of this.refs(s)) referenced.add(k)
    return this.blob.unsafeList(BlobKey.shardPrefix(this.shardId)).map((m) => m.key).filter((k) => !referenced.has(k))
  }
}
