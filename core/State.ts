/**
 * State (spec DM-5): one version of a shard's metadata, and the pure transition machinery
 * around it (`cloneApply`, CMD-0) plus the queries maintenance is computed from
 * (`seqnoSince`, `latestRollup`, `needRollup`, `maybeGc`, `expireAt`, `blobs`).
 *
 * Invariants this module maintains or documents:
 * - every State with seqno ≥ 1 has at least one rollup (INV-11): `latestRollup` panics otherwise;
 * - `walltimeMs` strictly increases with seqno (INV-S1): `cloneApply` bumps it;
 * - `lastGcReq` never regresses and is ≤ the seqno_since that set it (INV-S3): `maybeGc`.
 * The commands themselves live in Commands.ts.
 */
import { Antichain } from "./Antichain.ts"
import type { CriticalReaderId, IdempotencyToken, LeasedReaderId, ShardId, WriterId } from "./Ids.ts"
import type { Codecs } from "./PersistConfig.ts"
import { assert, unsafePanic } from "./Panic.ts"
import { PartialBatchKey, PartialRollupKey } from "./Paths.ts"
import { SeqNo } from "./SeqNo.ts"

export interface HollowRollup {
  readonly key: PartialRollupKey
  /** Unknown (null) only for the self-referential initial rollup. */
  readonly encodedSizeBytes: number | null
}

export type BatchPart =
  | { readonly _tag: "Hollow"; readonly key: PartialBatchKey; readonly encodedSizeBytes: number }
  /** Inline parts carry their updates in state and have no blob. */
  | { readonly _tag: "Inline"; readonly updates: string; readonly tsRewrite: Antichain | null }

export interface Description {
  readonly lower: Antichain
  readonly upper: Antichain
  readonly since: Antichain
}

export interface HollowBatch {
  readonly desc: Description
  readonly len: number
  readonly parts: ReadonlyArray<BatchPart>
}

export interface HandleDebugState {
  readonly hostname: string
  readonly purpose: string
}

export interface LeasedReaderState {
  /** The seqno hold: GC may not truncate past it. */
  readonly seqno: SeqNo
  readonly since: Antichain
  readonly lastHeartbeatTimestampMs: number
  readonly leaseDurationMs: number
  readonly debug: HandleDebugState
}

export interface CriticalReaderState {
  readonly since: Antichain
  readonly opaque: string
  readonly opaqueCodec: string
  readonly debug: HandleDebugState
}

export interface WriterState {
  readonly lastHeartbeatTimestampMs: number
  readonly leaseDurationMs: number
  readonly mostRecentWriteToken: IdempotencyToken
  readonly mostRecentWriteUpper: Antichain
  readonly debug: HandleDebugState
}

/** A claim that someone is writing a rollup / running GC (newer persist, CFG-4/CFG-6). */
export interface ActiveClaim {
  readonly seqno: SeqNo
  readonly startMs: number
}

export interface Trace {
  readonly since: Antichain
  /** Time-ordered, contiguous: each batch's lower is its predecessor's upper. */
  readonly batches: ReadonlyArray<HollowBatch>
}

export interface StateCollections {
  readonly lastGcReq: SeqNo
  readonly rollups: ReadonlyMap<SeqNo, HollowRollup>
  readonly activeRollup: ActiveClaim | null
  readonly activeGc: ActiveClaim | null
  readonly leasedReaders: ReadonlyMap<LeasedReaderId, LeasedReaderState>
  readonly criticalReaders: ReadonlyMap<CriticalReaderId, CriticalReaderState>
  readonly writers: ReadonlyMap<WriterId, WriterState>
  readonly trace: Trace
}

export interface State {
  readonly applierVersion: string
  readonly shardId: ShardId
  readonly seqno: SeqNo
  readonly walltimeMs: number
  readonly hostname: string
  readonly collections: StateCollections
}

/** A State together with the codec names of its K, V, T and D (persist's TypedState). */
export interface TypedState {
  readonly state: State
  readonly codecs: Codecs
}

/** The same shape before its codecs were checked (persist's UntypedState). */
export type UntypedState = TypedState

/** The draft a command mutates inside `cloneApply`. */
export interface MutableCollections {
  lastGcReq: SeqNo
  rollups: Map<SeqNo, HollowRollup>
  activeRollup: ActiveClaim | null
  activeGc: ActiveClaim | null
  leasedReaders: Map<LeasedReaderId, LeasedReaderState>
  criticalReaders: Map<CriticalReaderId, CriticalReaderState>
  writers: Map<WriterId, WriterState>
  trace: { since: Antichain; batches: Array<HollowBatch> }
}

export type ControlFlow<B, C> = { readonly _tag: "Continue"; readonly value: C } | { readonly _tag: "Break"; readonly value: B }
export const Continue = <C>(value: C): ControlFlow<never, C> => ({ _tag: "Continue", value })
export const Break = <B>(value: B): ControlFlow<B, never> => ({ _tag: "Break", value })

/** A transition that wrote nothing. Critically, its result is NOT linearized. */
export interface NoOpStateTransition<R> {
  readonly noop: R
}
export const NoOp = <R>(noop: R): NoOpStateTransition<R> => ({ noop })

export type WorkFn<R> = (seqno: SeqNo, collections: MutableCollections) => ControlFlow<NoOpStateTransition<R>, R>

/** The applier's knobs that pure transitions read. */
export interface TransitionConfig {
  readonly hostname: string
  readonly nowMs: number
}

export const thaw = (c: StateCollections): MutableCollections => ({
  lastGcReq: c.lastGcReq,
  rollups: new Map(c.rollups),
  activeRollup: c.activeRollup,
  activeGc: c.activeGc,
  leasedReaders: new Map(c.leasedReaders),
  criticalReaders: new Map(c.criticalReaders),
  writers: new Map(c.writers),
  trace: { since: c.trace.since, batches: [...c.trace.batches] }
})

/** The empty, uninitialized state (seqno 0, no rollups), persist's `TypedState::new`. */
export const emptyState = (applierVersion: string, shardId: ShardId, hostname: string, walltimeMs: number): State => ({
  applierVersion,
  shardId,
  seqno: SeqNo.minimum,
  walltimeMs,
  hostname,
  collections: {
    lastGcReq: SeqNo.minimum,
    rollups: new Map(),
    activeRollup: null,
    activeGc: null,
    leasedReaders: new Map(),
    criticalReaders: new Map(),
    writers: new Map(),
    trace: { since: Antichain.minimum, batches: [] }
  }
})

/**
 * CMD-0: runs `work` on a copy of the collections at `seqno + 1`. A Break discards the copy
 * (nothing is written, the result is not linearized); a Continue yields the new state even
 * when nothing changed (which is how a no-op gets linearized).
 */
export const cloneApply = <B, R>(
  state: State,
  cfg: TransitionConfig,
  work: (seqno: SeqNo, collections: MutableCollections) => ControlFlow<B, R>
): ControlFlow<B, readonly [R, State]> => {
  const newSeqno = SeqNo.next(state.seqno)
  const draft = thaw(state.collections)
  const res = work(newSeqno, draft)
  if (res._tag === "Break") return res
  // Walltime is debugging data that must still strictly increase even if this process's
  // clock is behind the writer of the previous version.
  const walltimeMs = Math.max(cfg.nowMs, state.walltimeMs + 1)
  return Continue([res.value, { ...state, seqno: newSeqno, walltimeMs, hostname: cfg.hostname, collections: draft }] as const)
}

export const traceUpper = (t: Trace | MutableCollections["trace"]): Antichain => {
  const last = t.batches[t.batches.length - 1]
  return last === undefined ? Antichain.minimum : last.desc.upper
}

/** Rollups in ascending seqno order (never key-string order, DM-3). */
export const sortedRollups = (c: { readonly rollups: ReadonlyMap<SeqNo, HollowRollup> }): Array<readonly [SeqNo, HollowRollup]> =>
  [...c.rollups.entries()].sort(([a], [b]) => a - b)

/** The rollup with the largest seqno; every initialized state has one (INV-11). */
export const latestRollup = (state: State): readonly [SeqNo, HollowRollup] => {
  let best: readonly [SeqNo, HollowRollup] | undefined
  for (const e of state.collections.rollups) if (best === undefined || e[0] > best[0]) best = e
  if (best === undefined) return unsafePanic("state has no rollups: every version of state has at least one rollup")
  return best
}

/** The earliest seqno a leased reader still holds, or the state's own seqno. */
export const seqnoSinceOf = (seqno: SeqNo, c: { readonly leasedReaders: ReadonlyMap<LeasedReaderId, LeasedReaderState> }): SeqNo => {
  let since = seqno
  for (const r of c.leasedReaders.values()) if (r.seqno < since) since = r.seqno
  return since
}
export const seqnoSince = (state: State): SeqNo => seqnoSinceOf(state.seqno, state.collections)
export const seqnosHeld = (state: State): number => state.seqno - seqnoSince(state)

export const isTombstone = (c: StateCollections | MutableCollections): boolean =>
  Antichain.isEmpty(traceUpper(c.trace)) &&
  Antichain.isEmpty(c.trace.since) &&
  c.writers.size === 0 &&
  c.leasedReaders.size === 0 &&
  c.criticalReaders.size === 0

export type HollowBlobRef = { readonly _tag: "Batch"; readonly batch: HollowBatch } | { readonly _tag: "Rollup"; readonly rollup: HollowRollup }

/** Every batch, then every rollup, the state references. */
export function* blobs(state: State): Generator<HollowBlobRef> {
  for (const batch of state.collections.trace.batches) yield { _tag: "Batch", batch }
  for (const [, rollup] of sortedRollups(state.collections)) yield { _tag: "Rollup", rollup }
}

/** The full Blob keys behind one reference: a rollup's key, or a batch's hollow parts' keys. */
export const blobRefKeys = (ref: HollowBlobRef, shardId: ShardId): Array<string> => {
  if (ref._tag === "Rollup") return [PartialRollupKey.complete(ref.rollup.key, shardId)]
  const out: Array<string> = []
  for (const p of ref.batch.parts) if (p._tag === "Hollow") out.push(PartialBatchKey.complete(p.key, shardId))
  return out
}

/** The full keys of every blob (hollow parts and rollups) the state references. */
export const referencedBlobKeys = (state: State): Array<string> => {
  const out: Array<string> = []
  for (const batch of state.collections.trace.batches) out.push(...blobRefKeys({ _tag: "Batch", batch }, state.shardId))
  for (const rollup of state.collections.rollups.values()) out.push(...blobRefKeys({ _tag: "Rollup", rollup }, state.shardId))
  return out
}

/** Rollups at or below `seqno`, ascending (GC's `rollups_lte_seqno`). */
export const rollupsLteSeqno = (state: State, seqno: SeqNo): Array<readonly [SeqNo, HollowRollup]> =>
  sortedRollups(state.collections).filter(([s]) => s <= seqno)

/** CMD-EXPIREAT: drops leased readers and writers whose lease ran out. Leaves since alone. */
export const expireAt = (c: MutableCollections, walltimeMs: number): { readersExpired: number; writersExpired: number } => {
  let readersExpired = 0
  let writersExpired = 0
  for (const [id, r] of [...c.leasedReaders]) {
    if (r.lastHeartbeatTimestampMs + r.leaseDurationMs < walltimeMs) {
      c.leasedReaders.delete(id)
      readersExpired++
    }
  }
  for (const [id, w] of [...c.writers]) {
    if (w.lastHeartbeatTimestampMs + w.leaseDurationMs < walltimeMs) {
      c.writers.delete(id)
      writersExpired++
    }
  }
  return { readersExpired, writersExpired }
}

export interface RollupNeedConfig {
  readonly threshold: number
  readonly useActiveRollup: boolean
  readonly fallbackThresholdMs: number
  readonly fallbackMultiplier: number
}

/** ALG-RNEED: whether (and at which seqno) this version assigns rollup maintenance. */
export const needRollup = (state: State, cfg: RollupNeedConfig, nowMs: number): SeqNo | null => {
  const [latestRollupSeqno] = latestRollup(state)
  // A tombstone needs one final rollup; a rollup at X is linked at X+1, so two live diffs
  // is the minimum and must not trigger another round.
  if (isTombstone(state.collections) && SeqNo.next(latestRollupSeqno) < state.seqno) return state.seqno
  const sinceLast = Math.max(0, state.seqno - latestRollupSeqno)
  if (cfg.useActiveRollup) {
    if (sinceLast > cfg.threshold) {
      const active = state.collections.activeRollup
      if (active === null) return state.seqno
      if (Math.max(0, nowMs - active.startMs) > cfg.fallbackThresholdMs) return state.seqno
    }
  } else {
    // Every `threshold` seqnos, not every seqno past it: handles would race for the same work.
    if (sinceLast > 0 && sinceLast % cfg.threshold === 0) return state.seqno
    // Maintenance is best effort, so past a fallback every version asks for a rollup.
    if (sinceLast > cfg.threshold * cfg.fallbackMultiplier) return state.seqno
  }
  return null
}

export interface GcConfig {
  readonly useActiveGc: boolean
  readonly fallbackThresholdMs: number
  readonly minVersions: number
  readonly maxVersions: number
  /** Planted bug gcSinceSkipsLapsingReaders (read by the Applier). */
  readonly skipLapsingReaders?: boolean
}

export interface GcReq {
  readonly shardId: ShardId
  readonly newSeqnoSince: SeqNo
}

/** `max(1, log2(next_power_of_two(seqno)))`, persist's classic GC threshold (CFG-10). */
export const classicGcThreshold = (seqno: number): number => {
  let p = 1
  let log = 0
  while (p < seqno) {
    p *= 2
    log++
  }
  return Math.max(1, log)
}

/**
 * ALG-GCREQ: decides whether this new version assigns GC and, if so, records `lastGcReq` in
 * `c` (the draft that is about to be CaS'd), so the assignment commits atomically with the
 * command. Correctness does not depend on requests being executed, or in order.
 */
export const maybeGc = (
  shardId: ShardId,
  seqno: SeqNo,
  c: MutableCollections,
  isWrite: boolean,
  nowMs: number,
  cfg: GcConfig
): GcReq | null => {
  const threshold = cfg.useActiveGc ? cfg.minVersions : classicGcThreshold(seqno)
  const newSeqnoSince = cfg.skipLapsingReaders === true
    ? seqnoSinceOf(seqno, { leasedReaders: new Map([...c.leasedReaders].filter(([, r]) => nowMs - r.lastHeartbeatTimestampMs <= r.leaseDurationMs / 2)) })
    : seqnoSinceOf(seqno, c)
  // Cap how much one request covers so a long-held shard is collected in bounded steps.
  const gcUntil = SeqNo(Math.min(newSeqnoSince, c.lastGcReq + cfg.maxVersions))
  let shouldGc = newSeqnoSince - c.lastGcReq >= threshold
  if (cfg.useActiveGc && !shouldGc) {
    shouldGc = c.activeGc !== null && nowMs - c.activeGc.startMs > cfg.fallbackThresholdMs
  }
  // Prefer writers: they already do background work. Readers only if nobody writes.
  shouldGc = shouldGc && (isWrite || c.writers.size === 0)
  // A tombstone is always collected: nobody else will ever ask.
  shouldGc = shouldGc || isTombstone(c)
  if (cfg.useActiveGc) {
    shouldGc = shouldGc && (c.activeGc === null || nowMs - c.activeGc.startMs > cfg.fallbackThresholdMs)
  }
  if (!shouldGc) return null
  assert(gcUntil >= c.lastGcReq, () => `last_gc_req regressed: ${c.lastGcReq} -> ${gcUntil}`)
  c.lastGcReq = gcUntil
  if (cfg.useActiveGc) c.activeGc = { seqno, startMs: nowMs }
  return { shardId, newSeqnoSince: gcUntil }
}
