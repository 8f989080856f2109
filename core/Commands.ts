/**
 * State commands (spec §4): pure transitions on a draft of StateCollections, run inside
 * `cloneApply`. `Break(NoOp(x))` writes nothing and is not linearized; `Continue(x)` commits a
 * new version even if nothing changed, which is how persist linearizes a no-op.
 */
import { Antichain } from "./Antichain.ts"
import { deepEqual } from "./DeepEqual.ts"
import { type CriticalReaderId, IdempotencyToken, type LeasedReaderId, type WriterId } from "./Ids.ts"
import { assert, assertEq, unsafePanic } from "./Panic.ts"
import type { PartialRollupKey } from "./Paths.ts"
import type { SeqNo } from "./SeqNo.ts"
import {
  Break,
  Continue,
  type ControlFlow,
  type CriticalReaderState,
  type HandleDebugState,
  type HollowBatch,
  type HollowRollup,
  isTombstone,
  type LeasedReaderState,
  type MutableCollections,
  NoOp,
  type NoOpStateTransition,
  seqnoSinceOf,
  traceUpper
} from "./State.ts"

type Cmd<R> = ControlFlow<NoOpStateTransition<R>, R>

/** Persist's `update_since`: trace since = meet of every reader's since (only ever advances). */
const updateSince = (c: MutableCollections): void => {
  let sinces: Antichain | undefined
  for (const r of c.leasedReaders.values()) sinces = sinces === undefined ? r.since : Antichain.meet(sinces, r.since)
  for (const r of c.criticalReaders.values()) sinces = sinces === undefined ? r.since : Antichain.meet(sinces, r.since)
  if (sinces !== undefined && Antichain.lessThan(c.trace.since, sinces)) c.trace.since = sinces
}

const criticalSince = (c: MutableCollections): Antichain | undefined => {
  let since: Antichain | undefined
  for (const r of c.criticalReaders.values()) since = since === undefined ? r.since : Antichain.meet(since, r.since)
  return since
}

/** CMD-REGLEASED. Returns the reader and the seqno_since it is guaranteed to see. */
export const registerLeasedReader =
  (hostname: string, readerId: LeasedReaderId, purpose: string, leaseDurationMs: number, heartbeatTimestampMs: number, useCriticalSince: boolean) =>
  (seqno: SeqNo, c: MutableCollections): Cmd<readonly [LeasedReaderState, SeqNo]> => {
    const since = (useCriticalSince ? criticalSince(c) : undefined) ?? c.trace.since
    const reader: LeasedReaderState = { seqno, since, lastHeartbeatTimestampMs: heartbeatTimestampMs, leaseDurationMs, debug: { hostname, purpose } }
    // Settle a finished shard into an unchanging tombstone: registering is a no-op there.
    if (isTombstone(c)) return Break(NoOp([reader, seqnoSinceOf(seqno, c)] as const))
    // Persist has a TODO here for a reader that already exists: it overwrites.
    c.leasedReaders.set(readerId, reader)
    return Continue([reader, seqnoSinceOf(seqno, c)] as const)
  }

/** CMD-REGCRIT. */
export const registerCriticalReader =
  (hostname: string, readerId: CriticalReaderId, purpose: string, initialOpaque: string, opaqueCodec: string) =>
  (_seqno: SeqNo, c: MutableCollections): Cmd<CriticalReaderState> => {
    const debug: HandleDebugState = { hostname, purpose }
    const fresh: CriticalReaderState = { since: c.trace.since, opaque: initialOpaque, opaqueCodec, debug }
    if (isTombstone(c)) return Break(NoOp(fresh))
    const existing = c.criticalReaders.get(readerId)
    if (existing !== undefined) {
      const refreshed = { ...existing, debug }
      c.criticalReaders.set(readerId, refreshed)
      return Continue(refreshed)
    }
    c.criticalReaders.set(readerId, fresh)
    return Continue(fresh)
  }

export type CompareAndAppendBreak =
  | { readonly _tag: "AlreadyCommitted" }
  | { readonly _tag: "Upper"; readonly shardUpper: Antichain; readonly writerUpper: Antichain }
  | { readonly _tag: "InvalidUsage"; readonly reason: "InvalidBounds" | "InvalidEmptyTimeInterval" }

/** A request to compact adjacent batches (a simplified FueledMergeReq). */
export interface FueledMergeReq {
  readonly inputs: ReadonlyArray<HollowBatch>
}

/**
 * How many batches the trace holds before an append asks for everything but the newest batch
 * to be merged into one. A stand-in for the spine's size-tiered merging: it keeps the number
 * of batches (and so the size of state) bounded however long a run goes.
 */
export const MERGE_BATCH_COUNT = 4

/** CMD-CAA. The only non-idempotent command: guarded by the writer's idempotency token. */
export const compareAndAppend =
  (batch: HollowBatch, writerId: WriterId, heartbeatTimestampMs: number, leaseDurationMs: number, token: IdempotencyToken, debug: HandleDebugState) =>
  (_seqno: SeqNo, c: MutableCollections): ControlFlow<CompareAndAppendBreak, ReadonlyArray<FueledMergeReq>> => {
    if (isTombstone(c)) {
      assert(Antichain.isEmpty(traceUpper(c.trace)), "tombstone upper should be empty")
      return Break({ _tag: "Upper", shardUpper: Antichain.empty, writerUpper: Antichain.empty })
    }
    let writer = c.writers.get(writerId) ?? {
      lastHeartbeatTimestampMs: heartbeatTimestampMs,
      leaseDurationMs,
      mostRecentWriteToken: IdempotencyToken.SENTINEL,
      mostRecentWriteUpper: Antichain.minimum,
      debug
    }
    // Registered in the draft even if we Break below; a Break discards the draft, so the
    // registration is lost with it (as in persist).
    c.writers.set(writerId, writer)
    if (Antichain.lessThan(batch.desc.upper, batch.desc.lower)) return Break({ _tag: "InvalidUsage", reason: "InvalidBounds" })
    if (Antichain.equals(batch.desc.upper, batch.desc.lower) && batch.len !== 0) {
      return Break({ _tag: "InvalidUsage", reason: "InvalidEmptyTimeInterval" })
    }
    if (token === writer.mostRecentWriteToken) {
      // The same token means this exact write already committed; anything else is very suspect.
      assert(Antichain.equals(batch.desc.upper, writer.mostRecentWriteUpper), () =>
        `idempotent write upper ${Antichain.render(batch.desc.upper)} differs from the writer's recorded upper ${Antichain.render(writer.mostRecentWriteUpper)}`)
      assert(Antichain.lessEqual(batch.desc.upper, traceUpper(c.trace)), () =>
        `idempotent write upper ${Antichain.render(batch.desc.upper)} is past the shard upper ${Antichain.render(traceUpper(c.trace))}`)
      return Break({ _tag: "AlreadyCommitted" })
    }
    const shardUpper = traceUpper(c.trace)
    if (!Antichain.equals(shardUpper, batch.desc.lower)) {
      return Break({ _tag: "Upper", shardUpper, writerUpper: writer.mostRecentWriteUpper })
    }
    let mergeReqs: ReadonlyArray<FueledMergeReq> = []
    if (!Antichain.equals(batch.desc.upper, batch.desc.lower)) {
      c.trace.batches.push(batch)
      if (c.trace.batches.length >= MERGE_BATCH_COUNT) mergeReqs = [{ inputs: c.trace.batches.slice(0, -1) }]
    }
    assert(Antichain.lessEqual(writer.mostRecentWriteUpper, batch.desc.upper), () =>
      `writer upper regressed: ${Antichain.render(writer.mostRecentWriteUpper)} -> ${Antichain.render(batch.desc.upper)}`)
    writer = {
      ...writer,
      mostRecentWriteToken: token,
      mostRecentWriteUpper: batch.desc.upper,
      // Heartbeat so the idempotency token outlives a slow retry.
      lastHeartbeatTimestampMs: Math.max(heartbeatTimestampMs, writer.lastHeartbeatTimestampMs)
    }
    c.writers.set(writerId, writer)
    return Continue(mergeReqs)
  }

export type ApplyMergeResult = "AppliedExact" | "NotAppliedNoMatch" | "NotAppliedInvalidSince"

/** CMD-MERGE: swaps a run of adjacent batches for their compacted replacement. */
export const applyMergeRes =
  (inputs: ReadonlyArray<HollowBatch>, output: HollowBatch) =>
  (_seqno: SeqNo, c: MutableCollections): Cmd<ApplyMergeResult> => {
    if (isTombstone(c)) return Break(NoOp("NotAppliedNoMatch" as ApplyMergeResult))
    const first = inputs[0]
    // By content: the inputs may come from another copy of the state (a refetch decodes new objects).
    const start = first === undefined ? -1 : c.trace.batches.findIndex((b) => sameBatch(b, first))
    const matches = start >= 0 && inputs.every((b, i) => sameBatch(c.trace.batches[start + i], b))
    if (!matches) return Continue("NotAppliedNoMatch" as ApplyMergeResult)
    if (!Antichain.lessEqual(output.desc.since, c.trace.since)) return Continue("NotAppliedInvalidSince" as ApplyMergeResult)
    c.trace.batches.splice(start, inputs.length, output)
    return Continue("AppliedExact" as ApplyMergeResult)
  }

const sameBatch = (a: HollowBatch | undefined, b: HollowBatch): boolean => a !== undefined && (a === b || deepEqual(a, b))

/** CMD-DOWNGRADE: moves a leased reader's since and its seqno hold, and heartbeats it. */
export const downgradeSince =
  (readerId: LeasedReaderId, outstandingSeqno: SeqNo | null, newSince: Antichain, heartbeatTimestampMs: number) =>
  (seqno: SeqNo, c: MutableCollections): Cmd<Antichain> => {
    if (isTombstone(c)) return Break(NoOp(Antichain.empty))
    const reader = c.leasedReaders.get(readerId)
    // Expired for inactivity (did the machine sleep?): the empty since tells the caller.
    if (reader === undefined) return Break(NoOp(Antichain.empty))
    let hold = seqno
    if (outstandingSeqno !== null) {
      assert(outstandingSeqno >= reader.seqno, () =>
        `SeqNos cannot go backward; however, oldest leased SeqNo (${outstandingSeqno}) is behind current reader_state (${reader.seqno})`)
      hold = Math.min(outstandingSeqno, seqno) as SeqNo
    }
    const advance = Antichain.lessThan(reader.since, newSince)
    c.leasedReaders.set(readerId, {
      ...reader,
      seqno: hold,
      since: advance ? newSince : reader.since,
      lastHeartbeatTimestampMs: Math.max(heartbeatTimestampMs, reader.lastHeartbeatTimestampMs)
    })
    if (advance) updateSince(c)
    return Continue(advance ? newSince : reader.since)
  }

/** CMD-CDOWNGRADE: a critical reader's since moves only if its opaque token matches. */
export const compareAndDowngradeSince =
  (readerId: CriticalReaderId, expectedOpaque: string, newOpaque: string, newSince: Antichain) =>
  (_seqno: SeqNo, c: MutableCollections): Cmd<{ readonly ok: boolean; readonly since: Antichain; readonly opaque: string }> => {
    if (isTombstone(c)) return Break(NoOp({ ok: true, since: Antichain.empty, opaque: newOpaque }))
    const reader = c.criticalReaders.get(readerId)
    if (reader === undefined) return unsafePanic(`Critical reader ${readerId} was somehow expired`)
    // A mismatch still commits, so the caller's view of the opaque value is linearized.
    if (reader.opaque !== expectedOpaque) return Continue({ ok: false, since: reader.since, opaque: reader.opaque })
    const since = Antichain.lessEqual(reader.since, newSince) ? newSince : reader.since
    c.criticalReaders.set(readerId, { ...reader, opaque: newOpaque, since })
    updateSince(c)
    return Continue({ ok: true, since, opaque: newOpaque })
  }

/** CMD-HBREADER. */
export const heartbeatLeasedReader =
  (readerId: LeasedReaderId, heartbeatTimestampMs: number) =>
  (_seqno: SeqNo, c: MutableCollections): Cmd<boolean> => {
    if (isTombstone(c)) return Break(NoOp(false))
    const reader = c.leasedReaders.get(readerId)
    if (reader === undefined) return Continue(false)
    c.leasedReaders.set(readerId, { ...reader, lastHeartbeatTimestampMs: Math.max(heartbeatTimestampMs, reader.lastHeartbeatTimestampMs) })
    return Continue(true)
  }

/** CMD-HBWRITER. */
export const heartbeatWriter =
  (writerId: WriterId, heartbeatTimestampMs: number) =>
  (_seqno: SeqNo, c: MutableCollections): Cmd<boolean> => {
    if (isTombstone(c)) return Break(NoOp(false))
    const writer = c.writers.get(writerId)
    if (writer === undefined) return Continue(false)
    c.writers.set(writerId, { ...writer, lastHeartbeatTimestampMs: Math.max(heartbeatTimestampMs, writer.lastHeartbeatTimestampMs) })
    return Continue(true)
  }

/**
 * CMD-EXPIRE. Expiring a reader deliberately does not recompute the trace since
 * (persist TODO database-issues#6885).
 */
export const expireLeasedReader = (readerId: LeasedReaderId) => (_seqno: SeqNo, c: MutableCollections): Cmd<boolean> =>
  isTombstone(c) ? Break(NoOp(false)) : Continue(c.leasedReaders.delete(readerId))
export const expireCriticalReader = (readerId: CriticalReaderId) => (_seqno: SeqNo, c: MutableCollections): Cmd<boolean> =>
  isTombstone(c) ? Break(NoOp(false)) : Continue(c.criticalReaders.delete(readerId))
export const expireWriter = (writerId: WriterId) => (_seqno: SeqNo, c: MutableCollections): Cmd<boolean> =>
  isTombstone(c) ? Break(NoOp(false)) : Continue(c.writers.delete(writerId))

/**
 * CMD-ADDROLLUP. True iff the rollup at that seqno is ours afterwards. A lost race still
 * commits a version so the answer is linearized (we may be looking at old state).
 */
export const addRollup =
  (rollupSeqno: SeqNo, rollup: HollowRollup) =>
  (_seqno: SeqNo, c: MutableCollections): Cmd<boolean> => {
    const existing = c.rollups.get(rollupSeqno)
    if (existing !== undefined) return Continue(existing.key === rollup.key)
    c.activeRollup = null
    c.rollups.set(rollupSeqno, rollup)
    return Continue(true)
  }

/** CMD-RMROLLUPS: the last step of GC; returns the seqnos actually removed. */
export const removeRollups =
  (remove: ReadonlyArray<readonly [SeqNo, PartialRollupKey]>) =>
  (_seqno: SeqNo, c: MutableCollections): Cmd<ReadonlyArray<SeqNo>> => {
    if (remove.length === 0 || isTombstone(c)) return Break(NoOp([] as ReadonlyArray<SeqNo>))
    // Called at the end of GC: the GC claim ends here.
    c.activeGc = null
    const removed: Array<SeqNo> = []
    for (const [seqno, key] of remove) {
      const was = c.rollups.get(seqno)
      if (was !== undefined) {
        assertEq(was.key, key, `removed rollup at ${seqno} has a different key than GC expected`)
        c.rollups.delete(seqno)
        removed.push(seqno)
      }
    }
    return Continue(removed)
  }

/**
 * CMD-TOMBSTONE (become_tombstone_and_shrink, simplified to one step): once upper and since
 * are both empty, drop every handle and collapse the batches into one empty batch.
 */
export const becomeTombstoneAndShrink = (_seqno: SeqNo, c: MutableCollections): Cmd<null> => {
  assert(Antichain.isEmpty(traceUpper(c.trace)) && Antichain.isEmpty(c.trace.since), "become_tombstone requires empty upper and since")
  const alreadyShrunk = c.trace.batches.length <= 1 && c.trace.batches.every((b) => b.parts.length === 0)
  if (isTombstone(c) && alreadyShrunk) return Break(NoOp(null))
  c.writers.clear()
  c.leasedReaders.clear()
  c.criticalReaders.clear()
  const lower = c.trace.batches[0]?.desc.lower ?? Antichain.minimum
  c.trace.batches = [{ desc: { lower, upper: Antichain.empty, since: Antichain.empty }, len: 0, parts: [] }]
  return Continue(null)
}
