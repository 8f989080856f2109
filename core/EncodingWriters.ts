/**
 * Hand-written encoders producing exactly the JSON value `Schema.encodeSync` produces for
 * StateS, StateDiffS and RollupS (Encoding.ts), field for field and in the same key order.
 *
 * Why: every compare-and-set encodes a diff and every rollup a whole state, and the Schema
 * encoder (which re-validates every refinement on the way out) was a tenth of the simulator's
 * time. The Schemas stay the definition: decoding always goes through them, and
 * `properties/encoding.test.ts` checks these writers byte for byte against `Schema.encodeSync`
 * on Schema-derived and hand-built arbitrary values.
 *
 * The one difference is on invalid values, which the writers do not re-check: a core bug that
 * builds, say, a malformed rollup key is no longer a defect at encode time; its bytes fail to
 * decode instead, which the checker reports (INV-8) and every reader panics on.
 */
import { Encoding as Base64 } from "effect"
import type { Antichain } from "./Antichain.ts"
import type { Rollup } from "./Rollup.ts"
import type {
  ActiveClaim,
  BatchPart,
  CriticalReaderState,
  HollowBatch,
  HollowRollup,
  LeasedReaderState,
  State,
  WriterState
} from "./State.ts"
import type { FieldDiff, StateDiff } from "./StateDiff.ts"

type Json = unknown

const antichain = (a: Antichain): Json => [...a]
const debug = (d: { readonly hostname: string; readonly purpose: string }): Json => ({ hostname: d.hostname, purpose: d.purpose })
const hollowRollup = (r: HollowRollup): Json => ({ key: r.key, encodedSizeBytes: r.encodedSizeBytes })
const activeClaim = (c: ActiveClaim | null): Json => (c === null ? null : { seqno: c.seqno, startMs: c.startMs })

const part = (p: BatchPart): Json =>
  p._tag === "Hollow"
    ? { _tag: "Hollow", key: p.key, encodedSizeBytes: p.encodedSizeBytes }
    : { _tag: "Inline", updates: p.updates, tsRewrite: p.tsRewrite === null ? null : antichain(p.tsRewrite) }

const batch = (b: HollowBatch): Json => ({
  desc: { lower: antichain(b.desc.lower), upper: antichain(b.desc.upper), since: antichain(b.desc.since) },
  len: b.len,
  parts: b.parts.map(part)
})

const leasedReader = (r: LeasedReaderState): Json => ({
  seqno: r.seqno,
  since: antichain(r.since),
  lastHeartbeatTimestampMs: r.lastHeartbeatTimestampMs,
  leaseDurationMs: r.leaseDurationMs,
  debug: debug(r.debug)
})

const criticalReader = (r: CriticalReaderState): Json => ({
  since: antichain(r.since),
  opaque: r.opaque,
  opaqueCodec: r.opaqueCodec,
  debug: debug(r.debug)
})

const writer = (w: WriterState): Json => ({
  lastHeartbeatTimestampMs: w.lastHeartbeatTimestampMs,
  leaseDurationMs: w.leaseDurationMs,
  mostRecentWriteToken: w.mostRecentWriteToken,
  mostRecentWriteUpper: antichain(w.mostRecentWriteUpper),
  debug: debug(w.debug)
})

/** SortedMap's encoding: pairs sorted by key, as the Schema transformation sorts them. */
const sortedMap = <K extends string | number, V>(m: ReadonlyMap<K, V>, value: (v: V) => Json): Json =>
  [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, value(v)])

export const writeState = (s: State): Json => {
  const c = s.collections
  return {
    applierVersion: s.applierVersion,
    shardId: s.shardId,
    seqno: s.seqno,
    walltimeMs: s.walltimeMs,
    hostname: s.hostname,
    collections: {
      lastGcReq: c.lastGcReq,
      rollups: sortedMap(c.rollups, hollowRollup),
      activeRollup: activeClaim(c.activeRollup),
      activeGc: activeClaim(c.activeGc),
      leasedReaders: sortedMap(c.leasedReaders, leasedReader),
      criticalReaders: sortedMap(c.criticalReaders, criticalReader),
      writers: sortedMap(c.writers, writer),
      trace: { since: antichain(c.trace.since), batches: c.trace.batches.map(batch) }
    }
  }
}

const fieldDiffs = <K, V>(ds: ReadonlyArray<FieldDiff<K, V>>, key: (k: K) => Json, value: (v: V) => Json): Json =>
  ds.map((d) => {
    const v = d.val
    return {
      key: key(d.key),
      val:
        v._tag === "Insert"
          ? { _tag: "Insert", to: value(v.to) }
          : v._tag === "Update"
            ? { _tag: "Update", from: value(v.from), to: value(v.to) }
            : { _tag: "Delete", from: value(v.from) }
    }
  })

const same = <A>(a: A): Json => a
const nothing = (): Json => null

export const writeStateDiff = (d: StateDiff): Json => ({
  applierVersion: d.applierVersion,
  seqnoFrom: d.seqnoFrom,
  seqnoTo: d.seqnoTo,
  walltimeMs: d.walltimeMs,
  latestRollupKey: d.latestRollupKey,
  rollups: fieldDiffs(d.rollups, same, hollowRollup),
  activeRollup: fieldDiffs(d.activeRollup, nothing, activeClaim),
  activeGc: fieldDiffs(d.activeGc, nothing, activeClaim),
  hostname: fieldDiffs(d.hostname, nothing, same),
  lastGcReq: fieldDiffs(d.lastGcReq, nothing, same),
  leasedReaders: fieldDiffs(d.leasedReaders, same, leasedReader),
  criticalReaders: fieldDiffs(d.criticalReaders, same, criticalReader),
  writers: fieldDiffs(d.writers, same, writer),
  since: fieldDiffs(d.since, nothing, antichain),
  spine: fieldDiffs(d.spine, batch, nothing)
})

export const writeRollup = (r: Rollup): Json => ({
  state: writeState(r.state),
  codecs: { key: r.codecs.key, val: r.codecs.val, ts: r.codecs.ts, diff: r.codecs.diff },
  diffs:
    r.diffs === null
      ? null
      : {
          lower: r.diffs.lower,
          upper: r.diffs.upper,
          diffs: r.diffs.diffs.map((v) => ({ seqno: v.seqno, data: Base64.encodeBase64(v.data) }))
        }
})
