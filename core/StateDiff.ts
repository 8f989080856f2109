/**
 * StateDiff (spec DM-6): the incremental change between two consecutive States, which is
 * what Consensus stores per seqno. Each diff also carries, denormalized, the key of the
 * resulting state's latest rollup (INV-10), so a reader can find a rollup from any diff.
 *
 * `applyDiff` is strict: an Insert of an existing key, an Update or Delete whose `from` does
 * not match, or a diff for the wrong seqno is an error (the caller panics: "state diff
 * should apply cleanly").
 */
import { Either } from "effect"
import { Antichain } from "./Antichain.ts"
import { deepEqual } from "./DeepEqual.ts"
import type { CriticalReaderId, LeasedReaderId, WriterId } from "./Ids.ts"
import { assertEq } from "./Panic.ts"
import type { PartialRollupKey } from "./Paths.ts"
import type { SeqNo } from "./SeqNo.ts"
import {
  type ActiveClaim,
  type CriticalReaderState,
  type HollowBatch,
  type HollowRollup,
  latestRollup,
  type LeasedReaderState,
  type State,
  thaw,
  type WriterState
} from "./State.ts"

export type FieldValDiff<V> =
  | { readonly _tag: "Insert"; readonly to: V }
  | { readonly _tag: "Update"; readonly from: V; readonly to: V }
  | { readonly _tag: "Delete"; readonly from: V }

export interface FieldDiff<K, V> {
  readonly key: K
  readonly val: FieldValDiff<V>
}

export interface StateDiff {
  readonly applierVersion: string
  readonly seqnoFrom: SeqNo
  readonly seqnoTo: SeqNo
  readonly walltimeMs: number
  readonly latestRollupKey: PartialRollupKey
  readonly rollups: ReadonlyArray<FieldDiff<SeqNo, HollowRollup>>
  readonly activeRollup: ReadonlyArray<FieldDiff<null, ActiveClaim>>
  readonly activeGc: ReadonlyArray<FieldDiff<null, ActiveClaim>>
  readonly hostname: ReadonlyArray<FieldDiff<null, string>>
  readonly lastGcReq: ReadonlyArray<FieldDiff<null, SeqNo>>
  readonly leasedReaders: ReadonlyArray<FieldDiff<LeasedReaderId, LeasedReaderState>>
  readonly criticalReaders: ReadonlyArray<FieldDiff<CriticalReaderId, CriticalReaderState>>
  readonly writers: ReadonlyArray<FieldDiff<WriterId, WriterState>>
  readonly since: ReadonlyArray<FieldDiff<null, Antichain>>
  readonly spine: ReadonlyArray<FieldDiff<HollowBatch, null>>
}

const cmp = <K extends string | number>(a: K, b: K): number => (a < b ? -1 : a > b ? 1 : 0)

const diffSingle = <V>(from: V, to: V): Array<FieldDiff<null, V>> => (deepEqual(from, to) ? [] : [{ key: null, val: { _tag: "Update", from, to } }])

const diffOptional = <V>(from: V | null, to: V | null): Array<FieldDiff<null, V>> => {
  if (deepEqual(from, to)) return []
  if (from === null) return [{ key: null, val: { _tag: "Insert", to: to as V } }]
  if (to === null) return [{ key: null, val: { _tag: "Delete", from } }]
  return [{ key: null, val: { _tag: "Update", from, to } }]
}

/** Merges two maps as sorted key sequences (persist's `diff_field_sorted_iter`). */
const diffMap = <K extends string | number, V>(from: ReadonlyMap<K, V>, to: ReadonlyMap<K, V>): Array<FieldDiff<K, V>> => {
  const keys = new Set<K>([...from.keys(), ...to.keys()])
  const out: Array<FieldDiff<K, V>> = []
  for (const key of [...keys].sort(cmp)) {
    const f = from.get(key)
    const t = to.get(key)
    if (f === undefined && t !== undefined) out.push({ key, val: { _tag: "Insert", to: t } })
    else if (f !== undefined && t === undefined) out.push({ key, val: { _tag: "Delete", from: f } })
    else if (f !== undefined && t !== undefined && !deepEqual(f, t)) out.push({ key, val: { _tag: "Update", from: f, to: t } })
  }
  return out
}

// Batches are immutable values shared between states, so each object's identity is computed once.
const identityCache = new WeakMap<HollowBatch, string>()

/** A canonical identity for a batch: batches diff as a set, keyed by content. */
export const batchIdentity = (b: HollowBatch): string => {
  let id = identityCache.get(b)
  if (id === undefined) {
    id = computeBatchIdentity(b)
    identityCache.set(b, id)
  }
  return id
}

const computeBatchIdentity = (b: HollowBatch): string =>
  JSON.stringify([
    b.desc.lower,
    b.desc.upper,
    b.desc.since,
    b.len,
    b.parts.map((p) => (p._tag === "Hollow" ? ["H", p.key, p.encodedSizeBytes] : ["I", p.updates, p.tsRewrite]))
  ])

const diffSpine = (from: ReadonlyArray<HollowBatch>, to: ReadonlyArray<HollowBatch>): Array<FieldDiff<HollowBatch, null>> => {
  const f = new Map(from.map((b) => [batchIdentity(b), b] as const))
  const t = new Map(to.map((b) => [batchIdentity(b), b] as const))
  const out: Array<readonly [string, FieldDiff<HollowBatch, null>]> = []
  for (const [id, b] of f) if (!t.has(id)) out.push([id, { key: b, val: { _tag: "Delete", from: null } }])
  for (const [id, b] of t) if (!f.has(id)) out.push([id, { key: b, val: { _tag: "Insert", to: null } }])
  return out.sort(([a], [b]) => cmp(a, b)).map(([, d]) => d)
}

/** DM-6a: the diff that takes `from` to `to`. */
export const fromDiff = (from: State, to: State): StateDiff => {
  assertEq(from.shardId, to.shardId, "from_diff across shards")
  const a = from.collections
  const b = to.collections
  return {
    applierVersion: to.applierVersion,
    seqnoFrom: from.seqno,
    seqnoTo: to.seqno,
    walltimeMs: to.walltimeMs,
    latestRollupKey: latestRollup(to)[1].key,
    rollups: diffMap(a.rollups, b.rollups),
    activeRollup: diffOptional(a.activeRollup, b.activeRollup),
    activeGc: diffOptional(a.activeGc, b.activeGc),
    hostname: diffSingle(from.hostname, to.hostname),
    lastGcReq: diffSingle(a.lastGcReq, b.lastGcReq),
    leasedReaders: diffMap(a.leasedReaders, b.leasedReaders),
    criticalReaders: diffMap(a.criticalReaders, b.criticalReaders),
    writers: diffMap(a.writers, b.writers),
    since: diffSingle(a.trace.since, b.trace.since),
    spine: diffSpine(a.trace.batches, b.trace.batches)
  }
}

class ApplyError {
  constructor(readonly message: string) {}
}

const applyMap = <K extends string | number, V>(name: string, map: Map<K, V>, diffs: ReadonlyArray<FieldDiff<K, V>>): void => {
  for (const { key, val } of diffs) {
    const cur = map.get(key)
    switch (val._tag) {
      case "Insert":
        if (cur !== undefined) throw new ApplyError(`${name}: insert of existing key ${String(key)}`)
        map.set(key, val.to)
        break
      case "Update":
        if (cur === undefined || !deepEqual(cur, val.from)) throw new ApplyError(`${name}: update of ${String(key)} does not match its from value`)
        map.set(key, val.to)
        break
      case "Delete":
        if (cur === undefined || !deepEqual(cur, val.from)) throw new ApplyError(`${name}: delete of ${String(key)} does not match its from value`)
        map.delete(key)
        break
    }
  }
}

const applySingle = <V>(name: string, cur: V, diffs: ReadonlyArray<FieldDiff<null, V>>): V => {
  for (const { val } of diffs) {
    if (val._tag !== "Update") throw new ApplyError(`${name}: singleton fields only take updates`)
    if (!deepEqual(cur, val.from)) throw new ApplyError(`${name}: update does not match its from value`)
    cur = val.to
  }
  return cur
}

const applyOptional = <V>(name: string, cur: V | null, diffs: ReadonlyArray<FieldDiff<null, V>>): V | null => {
  for (const { val } of diffs) {
    if (val._tag === "Insert") {
      if (cur !== null) throw new ApplyError(`${name}: insert over an existing value`)
      cur = val.to
    } else {
      if (cur === null || !deepEqual(cur, val.from)) throw new ApplyError(`${name}: ${val._tag} does not match its from value`)
      cur = val._tag === "Update" ? val.to : null
    }
  }
  return cur
}

const applySpine = (batches: ReadonlyArray<HollowBatch>, diffs: ReadonlyArray<FieldDiff<HollowBatch, null>>): Array<HollowBatch> => {
  if (diffs.length === 0) return [...batches]
  const byId = new Map(batches.map((b) => [batchIdentity(b), b] as const))
  for (const { key, val } of diffs) {
    const id = batchIdentity(key)
    if (val._tag === "Insert") {
      if (byId.has(id)) throw new ApplyError("spine: insert of an existing batch")
      byId.set(id, key)
    } else if (val._tag === "Delete") {
      if (!byId.delete(id)) throw new ApplyError("spine: delete of a missing batch")
    } else throw new ApplyError("spine: batches are only inserted or deleted")
  }
  // Rebuild the time order and check the batches still tile time contiguously.
  const out = [...byId.values()].sort((a, b) => (a.desc.lower[0] ?? Infinity) - (b.desc.lower[0] ?? Infinity))
  for (let i = 1; i < out.length; i++) {
    if (!Antichain.equals(out[i]!.desc.lower, out[i - 1]!.desc.upper)) throw new ApplyError("spine: batches are not contiguous")
  }
  return out
}

/**
 * DM-6b. Already applied (state at `seqnoTo`) is a no-op success; any other seqno mismatch
 * or field mismatch is an error.
 */
export const applyDiff = (state: State, diff: StateDiff): Either.Either<State, string> => {
  if (state.seqno === diff.seqnoTo) return Either.right(state)
  if (state.seqno !== diff.seqnoFrom) return Either.left(`expected seqno_from ${diff.seqnoFrom} but state is at ${state.seqno}`)
  try {
    const c = thaw(state.collections)
    applyMap("rollups", c.rollups, diff.rollups)
    c.activeRollup = applyOptional("active_rollup", c.activeRollup, diff.activeRollup)
    c.activeGc = applyOptional("active_gc", c.activeGc, diff.activeGc)
    const hostname = applySingle("hostname", state.hostname, diff.hostname)
    c.lastGcReq = applySingle("last_gc_req", c.lastGcReq, diff.lastGcReq)
    applyMap("leased_readers", c.leasedReaders, diff.leasedReaders)
    applyMap("critical_readers", c.criticalReaders, diff.criticalReaders)
    applyMap("writers", c.writers, diff.writers)
    c.trace.since = applySingle("since", c.trace.since, diff.since)
    c.trace.batches = applySpine(c.trace.batches, diff.spine)
    return Either.right({
      applierVersion: diff.applierVersion,
      shardId: state.shardId,
      seqno: diff.seqnoTo,
      walltimeMs: diff.walltimeMs,
      hostname,
      collections: c
    })
  } catch (e) {
    if (e instanceof ApplyError) return Either.left(e.message)
    throw e
  }
}

export type BlobRefFn = (ref: { readonly _tag: "Batch"; readonly batch: HollowBatch } | { readonly _tag: "Rollup"; readonly rollup: HollowRollup }) => void

/** Every blob this diff adds: inserted batches, and inserted or updated-to rollups. */
export const mapBlobInserts = (diff: StateDiff, f: BlobRefFn): void => {
  for (const d of diff.spine) if (d.val._tag === "Insert") f({ _tag: "Batch", batch: d.key })
  for (const d of diff.rollups) {
    if (d.val._tag === "Insert" || d.val._tag === "Update") f({ _tag: "Rollup", rollup: d.val.to })
  }
}

/** Every blob this diff removes: deleted batches, and deleted or updated-from rollups. */
export const mapBlobDeletes = (diff: StateDiff, f: BlobRefFn): void => {
  for (const d of diff.spine) if (d.val._tag === "Delete") f({ _tag: "Batch", batch: d.key })
  for (const d of diff.rollups) {
    if (d.val._tag === "Delete" || d.val._tag === "Update") f({ _tag: "Rollup", rollup: d.val.from })
  }
}
