/**
 * fast-check arbitraries for the state layer's data model.
 *
 * Two families:
 * - Schema-derived (`Arbitrary.make(StateS)` etc.): every value the encoding accepts. Ids and
 *   keys come from the `arbitrary` annotations in core/Encoding.ts. Used for encoding round
 *   trips, where structure matters and semantics do not.
 * - Hand-built (`stateArb`, `nextStateArb`): states that look like real ones — at least one
 *   rollup at or below the seqno with a key naming that seqno, handles, and a trace of
 *   contiguous batches (hollow and inline parts) — and a next version of a state, generated
 *   either independently or as a random mutation. Used where `fromDiff`/`applyDiff` need a
 *   well-formed trace and a latest rollup.
 */
import { Arbitrary } from "effect"
import * as fc from "fast-check"
import { Antichain } from "../core/Antichain.ts"
import type { VersionedData } from "../core/Consensus.ts"
import { StateDiffS, StateS } from "../core/Encoding.ts"
import {
  CriticalReaderId,
  IdempotencyToken,
  LeasedReaderId,
  PartId,
  RollupId,
  ShardId,
  WriterId
} from "../core/Ids.ts"
import { PartialBatchKey, PartialRollupKey } from "../core/Paths.ts"
import { SeqNo } from "../core/SeqNo.ts"
import type {
  ActiveClaim,
  BatchPart,
  CriticalReaderState,
  HandleDebugState,
  HollowBatch,
  HollowRollup,
  LeasedReaderState,
  State,
  WriterState
} from "../core/State.ts"
import { latestRollup, thaw } from "../core/State.ts"
import type { StateDiff } from "../core/StateDiff.ts"

/** The build version property tests decode with; generated data is never newer. */
export const BUILD_VERSION = "0.130.0"

// --- leaves ---------------------------------------------------------------------------------

const uuidArb = fc.uuid().map((u) => u.toLowerCase())
export const shardIdArb = uuidArb.map(ShardId.make)
export const rollupIdArb = uuidArb.map(RollupId.make)
export const writerIdArb = uuidArb.map(WriterId.make)
export const partIdArb = uuidArb.map(PartId.make)
export const leasedReaderIdArb = uuidArb.map(LeasedReaderId.make)
export const criticalReaderIdArb = uuidArb.map(CriticalReaderId.make)
export const tokenArb = fc.oneof(fc.constant(IdempotencyToken.SENTINEL), uuidArb.map(IdempotencyToken.make))

const timeArb = fc.nat({ max: 1_000_000 })
export const antichainArb: fc.Arbitrary<Antichain> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(Antichain.empty) },
  { weight: 4, arbitrary: fc.nat({ max: 1_000 }).map(Antichain.from) }
)
export const versionArb = fc.tuple(fc.nat({ max: 129 }), fc.nat({ max: 20 })).map(([minor, patch]) => `0.${minor}.${patch}`)
const debugArb: fc.Arbitrary<HandleDebugState> = fc.record({ hostname: fc.string({ maxLength: 8 }), purpose: fc.string({ maxLength: 8 }) })
const claimArb = (maxSeqno: number): fc.Arbitrary<ActiveClaim | null> =>
  fc.option(fc.record({ seqno: fc.nat({ max: maxSeqno }).map(SeqNo), startMs: timeArb }), { nil: null })

const leasedArb = (maxSeqno: number): fc.Arbitrary<LeasedReaderState> =>
  fc.record({
    seqno: fc.nat({ max: maxSeqno }).map(SeqNo),
    since: antichainArb,
    lastHeartbeatTimestampMs: timeArb,
    leaseDurationMs: fc.nat({ max: 900_000 }),
    debug: debugArb
  })
const criticalArb: fc.Arbitrary<CriticalReaderState> = fc.record({
  since: antichainArb,
  opaque: fc.string({ maxLength: 6 }),
  opaqueCodec: fc.constantFrom("u64", "i64"),
  debug: debugArb
})
const writerArb: fc.Arbitrary<WriterState> = fc.record({
  lastHeartbeatTimestampMs: timeArb,
  leaseDurationMs: fc.nat({ max: 900_000 }),
  mostRecentWriteToken: tokenArb,
  mostRecentWriteUpper: antichainArb,
  debug: debugArb
})

export const partArb: fc.Arbitrary<BatchPart> = fc.oneof(
  fc.record({
    _tag: fc.constant("Hollow" as const),
    key: fc.tuple(writerIdArb, partIdArb).map(([w, p]) => PartialBatchKey.new(w, p)),
    encodedSizeBytes: fc.nat({ max: 1 << 20 })
  }),
  fc.record({ _tag: fc.constant("Inline" as const), updates: fc.string({ maxLength: 12 }), tsRewrite: fc.option(antichainArb, { nil: null }) })
)

/**
 * A contiguous run of batches from `lower`: each batch's lower is its predecessor's upper and
 * every interval is non-empty. The last batch may close the shard (empty upper).
 */
export const batchesArb = (lower: number): fc.Arbitrary<Array<HollowBatch>> =>
  fc
    .record({
      widths: fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 5 }),
      closes: fc.boolean(),
      details: fc.array(fc.record({ len: fc.nat({ max: 100 }), since: antichainArb, parts: fc.array(partArb, { maxLength: 3 }) }), {
        minLength: 5,
        maxLength: 5
      })
    })
    .map(({ widths, closes, details }) => {
      const out: Array<HollowBatch> = []
      let at = lower
      widths.forEach((w, i) => {
        const last = i === widths.length - 1
        const upper = last && closes ? Antichain.empty : Antichain.from(at + w)
        const d = details[i]!
        out.push({ desc: { lower: Antichain.from(at), upper, since: d.since }, len: d.len, parts: d.parts })
        at += w
      })
      return out
    })

const rollupAt = (seqno: number): fc.Arbitrary<readonly [SeqNo, HollowRollup]> =>
  fc
    .record({ id: rollupIdArb, size: fc.option(fc.nat({ max: 1 << 20 }), { nil: null }) })
    .map(({ id, size }) => [SeqNo(seqno), { key: PartialRollupKey.new(SeqNo(seqno), id), encodedSizeBytes: size }] as const)

/** A rollups map with at least one rollup, every seqno in [1, seqno]. */
const rollupsArb = (seqno: number): fc.Arbitrary<Map<SeqNo, HollowRollup>> =>
  fc
    .uniqueArray(fc.integer({ min: 1, max: Math.max(1, seqno) }), { minLength: 1, maxLength: 4 })
    .chain((seqnos) => fc.tuple(...seqnos.map(rollupAt)))
    .map((entries) => new Map(entries))

const mapArb = <K, V>(key: fc.Arbitrary<K>, value: fc.Arbitrary<V>, maxLength: number): fc.Arbitrary<Map<K, V>> =>
  fc.uniqueArray(fc.tuple(key, value), { maxLength, selector: ([k]) => k }).map((pairs) => new Map(pairs))

export interface StateArbOptions {
  readonly shardId?: ShardId
  readonly seqno?: number
  /** The largest generated seqno when `seqno` is not given (default 10,000). */
  readonly maxSeqno?: number
}

/** A well-formed State (see the module comment). */
export const stateArb = (opts: StateArbOptions = {}): fc.Arbitrary<State> =>
  fc
    .record({
      shardId: opts.shardId === undefined ? shardIdArb : fc.constant(opts.shardId),
      seqno: opts.seqno === undefined ? fc.integer({ min: 1, max: opts.maxSeqno ?? 10_000 }) : fc.constant(opts.seqno),
      lower: fc.nat({ max: 50 })
    })
    .chain(({ shardId, seqno, lower }) =>
      fc.record({
        applierVersion: versionArb,
        shardId: fc.constant(shardId),
        seqno: fc.constant(SeqNo(seqno)),
        walltimeMs: timeArb,
        hostname: fc.string({ maxLength: 8 }),
        collections: fc.record({
          lastGcReq: fc.nat({ max: seqno }).map(SeqNo),
          rollups: rollupsArb(seqno),
          activeRollup: claimArb(seqno),
          activeGc: claimArb(seqno),
          leasedReaders: mapArb(leasedReaderIdArb, leasedArb(seqno), 3),
          criticalReaders: mapArb(criticalReaderIdArb, criticalArb, 2),
          writers: mapArb(writerIdArb, writerArb, 3),
          trace: fc.record({ since: antichainArb, batches: batchesArb(lower) })
        })
      })
    )

// --- mutations ------------------------------------------------------------------------------

/** One random change to a state's collections; indices pick existing entries modulo size. */
type Mutation =
  | { readonly _tag: "AddRollup"; readonly id: RollupId; readonly back: number }
  | { readonly _tag: "RemoveRollup"; readonly index: number }
  | { readonly _tag: "ReplaceRollup"; readonly index: number; readonly id: RollupId }
  | { readonly _tag: "PutReader"; readonly id: LeasedReaderId; readonly reader: LeasedReaderState }
  | { readonly _tag: "UpdateReader"; readonly index: number; readonly since: Antichain; readonly heartbeat: number }
  | { readonly _tag: "RemoveReader"; readonly index: number }
  | { readonly _tag: "PutCritical"; readonly id: CriticalReaderId; readonly reader: CriticalReaderState }
  | { readonly _tag: "RemoveCritical"; readonly index: number }
  | { readonly _tag: "PutWriter"; readonly id: WriterId; readonly writer: WriterState }
  | { readonly _tag: "UpdateWriter"; readonly index: number; readonly token: IdempotencyToken; readonly upper: Antichain }
  | { readonly _tag: "RemoveWriter"; readonly index: number }
  | { readonly _tag: "Append"; readonly width: number; readonly parts: ReadonlyArray<BatchPart>; readonly len: number }
  | { readonly _tag: "Merge"; readonly index: number; readonly count: number; readonly parts: ReadonlyArray<BatchPart> }
  | { readonly _tag: "DropFirstBatch" }
  | { readonly _tag: "Since"; readonly since: Antichain }
  | { readonly _tag: "LastGcReq"; readonly back: number }
  | { readonly _tag: "ActiveRollup"; readonly claim: ActiveClaim | null }
  | { readonly _tag: "ActiveGc"; readonly claim: ActiveClaim | null }

const mutationArb = (seqno: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({ _tag: fc.constant("AddRollup" as const), id: rollupIdArb, back: fc.nat({ max: 3 }) }),
    fc.record({ _tag: fc.constant("RemoveRollup" as const), index: fc.nat() }),
    fc.record({ _tag: fc.constant("ReplaceRollup" as const), index: fc.nat(), id: rollupIdArb }),
    fc.record({ _tag: fc.constant("PutReader" as const), id: leasedReaderIdArb, reader: leasedArb(seqno) }),
    fc.record({ _tag: fc.constant("UpdateReader" as const), index: fc.nat(), since: antichainArb, heartbeat: timeArb }),
    fc.record({ _tag: fc.constant("RemoveReader" as const), index: fc.nat() }),
    fc.record({ _tag: fc.constant("PutCritical" as const), id: criticalReaderIdArb, reader: criticalArb }),
    fc.record({ _tag: fc.constant("RemoveCritical" as const), index: fc.nat() }),
    fc.record({ _tag: fc.constant("PutWriter" as const), id: writerIdArb, writer: writerArb }),
    fc.record({ _tag: fc.constant("UpdateWriter" as const), index: fc.nat(), token: tokenArb, upper: antichainArb }),
    fc.record({ _tag: fc.constant("RemoveWriter" as const), index: fc.nat() }),
    fc.record({ _tag: fc.constant("Append" as const), width: fc.integer({ min: 1, max: 10 }), parts: fc.array(partArb, { maxLength: 2 }), len: fc.nat({ max: 9 }) }),
    fc.record({ _tag: fc.constant("Merge" as const), index: fc.nat(), count: fc.integer({ min: 1, max: 4 }), parts: fc.array(partArb, { maxLength: 2 }) }),
    fc.constant({ _tag: "DropFirstBatch" as const }),
    fc.record({ _tag: fc.constant("Since" as const), since: antichainArb }),
    fc.record({ _tag: fc.constant("LastGcReq" as const), back: fc.nat({ max: 5 }) }),
    fc.record({ _tag: fc.constant("ActiveRollup" as const), claim: claimArb(seqno + 1) }),
    fc.record({ _tag: fc.constant("ActiveGc" as const), claim: claimArb(seqno + 1) })
  )

const nth = <K, V>(m: ReadonlyMap<K, V>, index: number): readonly [K, V] | undefined => [...m][m.size === 0 ? 0 : index % m.size]

/** Applies mutations to a copy of `a`'s collections, as the version `a.seqno + 1`. */
export const applyMutations = (
  a: State,
  header: { readonly walltimeMs: number; readonly hostname: string; readonly applierVersion: string },
  mutations: ReadonlyArray<Mutation>
): State => {
  const c = thaw(a.collections)
  const seqno = SeqNo.next(a.seqno)
  for (const m of mutations) {
    switch (m._tag) {
      case "AddRollup": {
        const s = SeqNo(Math.max(1, a.seqno - m.back))
        c.rollups.set(s, { key: PartialRollupKey.new(s, m.id), encodedSizeBytes: 7 })
        break
      }
      case "RemoveRollup": {
        // Never remove the last rollup: every initialized state has one.
        const e = nth(c.rollups, m.index)
        if (e !== undefined && c.rollups.size > 1) c.rollups.delete(e[0])
        break
      }
      case "ReplaceRollup": {
        const e = nth(c.rollups, m.index)
        if (e !== undefined) c.rollups.set(e[0], { key: PartialRollupKey.new(e[0], m.id), encodedSizeBytes: null })
        break
      }
      case "PutReader":
        c.leasedReaders.set(m.id, m.reader)
        break
      case "UpdateReader": {
        const e = nth(c.leasedReaders, m.index)
        if (e !== undefined) c.leasedReaders.set(e[0], { ...e[1], seqno, since: m.since, lastHeartbeatTimestampMs: m.heartbeat })
        break
      }
      case "RemoveReader": {
        const e = nth(c.leasedReaders, m.index)
        if (e !== undefined) c.leasedReaders.delete(e[0])
        break
      }
      case "PutCritical":
        c.criticalReaders.set(m.id, m.reader)
        break
      case "RemoveCritical": {
        const e = nth(c.criticalReaders, m.index)
        if (e !== undefined) c.criticalReaders.delete(e[0])
        break
      }
      case "PutWriter":
        c.writers.set(m.id, m.writer)
        break
      case "UpdateWriter": {
        const e = nth(c.writers, m.index)
        if (e !== undefined) c.writers.set(e[0], { ...e[1], mostRecentWriteToken: m.token, mostRecentWriteUpper: m.upper })
        break
      }
      case "RemoveWriter": {
        const e = nth(c.writers, m.index)
        if (e !== undefined) c.writers.delete(e[0])
        break
      }
      case "Append": {
        const last = c.trace.batches[c.trace.batches.length - 1]
        const lower = last === undefined ? Antichain.minimum : last.desc.upper
        if (Antichain.isEmpty(lower)) break // the shard is closed
        c.trace.batches.push({ desc: { lower, upper: Antichain.from(lower[0]! + m.width), since: Antichain.minimum }, len: m.len, parts: m.parts })
        break
      }
      case "Merge": {
        const n = c.trace.batches.length
        if (n === 0) break
        const start = m.index % n
        const count = Math.min(m.count, n - start)
        const inputs = c.trace.batches.slice(start, start + count)
        const first = inputs[0]!
        const last = inputs[inputs.length - 1]!
        const merged: HollowBatch = {
          desc: { lower: first.desc.lower, upper: last.desc.upper, since: c.trace.since },
          len: inputs.reduce((s, b) => s + b.len, 0),
          parts: [...inputs.flatMap((b) => b.parts), ...m.parts]
        }
        c.trace.batches.splice(start, count, merged)
        break
      }
      case "DropFirstBatch":
        c.trace.batches.shift()
        break
      case "Since":
        c.trace.since = m.since
        break
      case "LastGcReq":
        c.lastGcReq = SeqNo(Math.max(0, a.seqno - m.back))
        break
      case "ActiveRollup":
        c.activeRollup = m.claim
        break
      case "ActiveGc":
        c.activeGc = m.claim
        break
    }
  }
  return { ...a, ...header, seqno, collections: c }
}

/** The next version of `a`: random mutations of it. */
export const mutatedStateArb = (a: State): fc.Arbitrary<State> =>
  fc
    .record({
      walltimeMs: fc.oneof(fc.constant(a.walltimeMs + 1), timeArb),
      hostname: fc.oneof(fc.constant(a.hostname), fc.string({ maxLength: 8 })),
      applierVersion: fc.oneof(fc.constant(a.applierVersion), versionArb),
      mutations: fc.array(mutationArb(a.seqno), { maxLength: 8 })
    })
    .map(({ mutations, ...header }) => applyMutations(a, header, mutations))

/** The next version of `a`: a random mutation of it, or an unrelated state of the same shard. */
export const nextStateArb = (a: State): fc.Arbitrary<State> =>
  fc.oneof({ weight: 3, arbitrary: mutatedStateArb(a) }, { weight: 1, arbitrary: stateArb({ shardId: a.shardId, seqno: a.seqno + 1 }) })

/** Two consecutive versions of one shard. */
export const statePairArb: fc.Arbitrary<readonly [State, State]> = stateArb().chain((a) => nextStateArb(a).map((b) => [a, b] as const))

/** A state and the Consensus rows `(latest rollup, seqno]` a rollup of it inlines. */
export const stateWithRollupDiffsArb: fc.Arbitrary<readonly [State, Array<VersionedData>]> = stateArb({ maxSeqno: 40 }).chain((s) => {
  const [l] = latestRollup(s)
  return fc
    .array(fc.uint8Array({ maxLength: 16 }), { minLength: s.seqno - l, maxLength: s.seqno - l })
    .map((datas) => [s, datas.map((data, i) => ({ seqno: SeqNo(l + 1 + i), data }))] as const)
})

// --- Schema-derived -----------------------------------------------------------------------

/**
 * Replaces numbers JSON cannot carry (NaN, ±Infinity) with 0. Schema.Number admits them,
 * but no state ever holds one and JSON would turn them into `null`.
 */
export const finite = <A>(value: A): A => {
  const go = (v: unknown): unknown => {
    if (typeof v === "number") return Number.isFinite(v) ? v : 0
    if (Array.isArray(v)) return v.map(go)
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [go(k), go(x)]))
    if (v instanceof Uint8Array) return v
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, go(x)]))
    return v
  }
  return go(value) as A
}

/** Any State the encoding accepts (with a readable applier version). */
export const schemaStateArb: fc.Arbitrary<State> = fc
  .tuple(Arbitrary.make(StateS), versionArb)
  .map(([s, applierVersion]) => finite({ ...s, applierVersion }))

/** Any StateDiff the encoding accepts (with a readable applier version). */
export const schemaStateDiffArb: fc.Arbitrary<StateDiff> = fc
  .tuple(Arbitrary.make(StateDiffS), versionArb)
  .map(([d, applierVersion]) => finite({ ...d, applierVersion }))
