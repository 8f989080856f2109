/**
 * Hand-written readers for the JSON values of StateDiffS and RollupS (Encoding.ts): the
 * decoding twin of EncodingWriters.ts.
 *
 * Why: decoding every committed diff and every rollup through `Schema.decodeUnknownEither`
 * was about a sixth of a sweep's CPU (ParseResult's generic interpreter allocates per field).
 *
 * Contract (what `properties/encoding.test.ts` holds them to): a reader either returns
 * `undefined` — "not sure", the caller then decodes with the Schema, which stays the
 * definition of the format and produces every error message — or returns exactly what the
 * Schema's decode returns for the same input: the same values, the same key order, fresh
 * arrays and maps. A reader never accepts input the Schema rejects (wrong or missing fields,
 * excess properties, failed refinements, duplicate map keys), so the fallback is only ever
 * taken for input that is invalid, or valid in a way these readers do not bother with.
 */
import { Either, Encoding as Base64 } from "effect"
import type { Antichain } from "./Antichain.ts"
import type { VersionedData } from "./Consensus.ts"
import { CriticalReaderId, IdempotencyToken, LeasedReaderId, ShardId, WriterId } from "./Ids.ts"
import { PartialBatchKey, PartialRollupKey } from "./Paths.ts"
import type { Codecs } from "./PersistConfig.ts"
import type { Rollup } from "./Rollup.ts"
import { SeqNo as SeqNoM } from "./SeqNo.ts"
import type { SeqNo } from "./SeqNo.ts"
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

/** Thrown inside a reader for anything it does not accept; caught once at the top. */
class NotSure {}
const notSure = new NotSure()
const reject = (): never => {
  throw notSure
}

type Obj = Record<string, unknown>

/** A plain object with exactly `n` own keys, all of them named by the caller's reads. */
const obj = (x: unknown, n: number): Obj => {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return reject()
  let count = 0
  for (const k in x) if (Object.prototype.hasOwnProperty.call(x, k)) count++
  return count === n ? (x as Obj) : reject()
}
/** A field that must be present (an absent key is a Schema error, not `undefined`). */
const field = (o: Obj, k: string): unknown => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : reject())
const arr = (x: unknown): ReadonlyArray<unknown> => (Array.isArray(x) ? x : reject())
const num = (x: unknown): number => (typeof x === "number" ? x : reject())
const str = (x: unknown): string => (typeof x === "string" ? x : reject())
const nul = (x: unknown): null => (x === null ? null : reject())
const nullOr = <A>(x: unknown, f: (x: unknown) => A): A | null => (x === null ? null : f(x))
const seqno = (x: unknown): SeqNo => (typeof x === "number" && SeqNoM.isValid(x) ? (x as SeqNo) : reject())
const antichain = (x: unknown): Antichain => {
  const a = arr(x)
  if (a.length > 1) return reject()
  return a.length === 0 ? [] : [num(a[0])]
}
const refined = <T extends string>(valid: (s: string) => boolean) => (x: unknown): T => (typeof x === "string" && valid(x) ? (x as T) : reject())
const shardId = refined<ShardId>((s) => ShardId.parse(s) !== undefined)
const writerId = refined<WriterId>((s) => WriterId.parse(s) !== undefined)
const leasedReaderId = refined<LeasedReaderId>((s) => LeasedReaderId.parse(s) !== undefined)
const criticalReaderId = refined<CriticalReaderId>((s) => CriticalReaderId.parse(s) !== undefined)
const token = refined<IdempotencyToken>((s) => IdempotencyToken.parse(s) !== undefined)
const rollupKey = refined<PartialRollupKey>(PartialRollupKey.isValid)
const batchKey = refined<PartialBatchKey>(PartialBatchKey.isValid)

const debug = (x: unknown) => {
  const o = obj(x, 2)
  return { hostname: str(field(o, "hostname")), purpose: str(field(o, "purpose")) }
}
const hollowRollup = (x: unknown): HollowRollup => {
  const o = obj(x, 2)
  return { key: rollupKey(field(o, "key")), encodedSizeBytes: nullOr(field(o, "encodedSizeBytes"), num) }
}
const activeClaim = (x: unknown): ActiveClaim => {
  const o = obj(x, 2)
  return { seqno: seqno(field(o, "seqno")), startMs: num(field(o, "startMs")) }
}
const part = (x: unknown): BatchPart => {
  const o = obj(x, 3)
  const tag = field(o, "_tag")
  if (tag === "Hollow") return { _tag: "Hollow", key: batchKey(field(o, "key")), encodedSizeBytes: num(field(o, "encodedSizeBytes")) }
  if (tag === "Inline") return { _tag: "Inline", updates: str(field(o, "updates")), tsRewrite: nullOr(field(o, "tsRewrite"), antichain) }
  return reject()
}
const batch = (x: unknown): HollowBatch => {
  const o = obj(x, 3)
  const d = obj(field(o, "desc"), 3)
  return {
    desc: { lower: antichain(field(d, "lower")), upper: antichain(field(d, "upper")), since: antichain(field(d, "since")) },
    len: num(field(o, "len")),
    parts: arr(field(o, "parts")).map(part)
  }
}
const leasedReader = (x: unknown): LeasedReaderState => {
  const o = obj(x, 5)
  return {
    seqno: seqno(field(o, "seqno")),
    since: antichain(field(o, "since")),
    lastHeartbeatTimestampMs: num(field(o, "lastHeartbeatTimestampMs")),
    leaseDurationMs: num(field(o, "leaseDurationMs")),
    debug: debug(field(o, "debug"))
  }
}
const criticalReader = (x: unknown): CriticalReaderState => {
  const o = obj(x, 4)
  return {
    since: antichain(field(o, "since")),
    opaque: str(field(o, "opaque")),
    opaqueCodec: str(field(o, "opaqueCodec")),
    debug: debug(field(o, "debug"))
  }
}
const writer = (x: unknown): WriterState => {
  const o = obj(x, 5)
  return {
    lastHeartbeatTimestampMs: num(field(o, "lastHeartbeatTimestampMs")),
    leaseDurationMs: num(field(o, "leaseDurationMs")),
    mostRecentWriteToken: token(field(o, "mostRecentWriteToken")),
    mostRecentWriteUpper: antichain(field(o, "mostRecentWriteUpper")),
    debug: debug(field(o, "debug"))
  }
}

/** SortedMap: pairs (in any order, as the Schema accepts them); a duplicate key is a Schema error. */
const sortedMap = <K, V>(x: unknown, key: (x: unknown) => K, value: (x: unknown) => V): ReadonlyMap<K, V> => {
  const m = new Map<K, V>()
  for (const p of arr(x)) {
    const pair = arr(p)
    if (pair.length !== 2) return reject()
    const k = key(pair[0])
    if (m.has(k)) return reject()
    m.set(k, value(pair[1]))
  }
  return m
}

const readState = (x: unknown): State => {
  const o = obj(x, 6)
  const c = obj(field(o, "collections"), 8)
  const t = obj(field(c, "trace"), 2)
  return {
    applierVersion: str(field(o, "applierVersion")),
    shardId: shardId(field(o, "shardId")),
    seqno: seqno(field(o, "seqno")),
    walltimeMs: num(field(o, "walltimeMs")),
    hostname: str(field(o, "hostname")),
    collections: {
      lastGcReq: seqno(field(c, "lastGcReq")),
      rollups: sortedMap(field(c, "rollups"), seqno, hollowRollup),
      activeRollup: nullOr(field(c, "activeRollup"), activeClaim),
      activeGc: nullOr(field(c, "activeGc"), activeClaim),
      leasedReaders: sortedMap(field(c, "leasedReaders"), leasedReaderId, leasedReader),
      criticalReaders: sortedMap(field(c, "criticalReaders"), criticalReaderId, criticalReader),
      writers: sortedMap(field(c, "writers"), writerId, writer),
      trace: { since: antichain(field(t, "since")), batches: arr(field(t, "batches")).map(batch) }
    }
  }
}

const fieldDiffs = <K, V>(x: unknown, key: (x: unknown) => K, value: (x: unknown) => V): ReadonlyArray<FieldDiff<K, V>> =>
  arr(x).map((e) => {
    const o = obj(e, 2)
    const k = key(field(o, "key"))
    const v = field(o, "val")
    const tag = v !== null && typeof v === "object" ? (v as Obj)["_tag"] : undefined
    const vo = obj(v, tag === "Update" ? 3 : 2)
    if (tag === "Insert") return { key: k, val: { _tag: "Insert", to: value(field(vo, "to")) } }
    if (tag === "Update") return { key: k, val: { _tag: "Update", from: value(field(vo, "from")), to: value(field(vo, "to")) } }
    if (tag === "Delete") return { key: k, val: { _tag: "Delete", from: value(field(vo, "from")) } }
    return reject()
  })

const readStateDiff = (x: unknown): StateDiff => {
  const o = obj(x, 15)
  return {
    applierVersion: str(field(o, "applierVersion")),
    seqnoFrom: seqno(field(o, "seqnoFrom")),
    seqnoTo: seqno(field(o, "seqnoTo")),
    walltimeMs: num(field(o, "walltimeMs")),
    latestRollupKey: rollupKey(field(o, "latestRollupKey")),
    rollups: fieldDiffs(field(o, "rollups"), seqno, hollowRollup),
    activeRollup: fieldDiffs(field(o, "activeRollup"), nul, activeClaim),
    activeGc: fieldDiffs(field(o, "activeGc"), nul, activeClaim),
    hostname: fieldDiffs(field(o, "hostname"), nul, str),
    lastGcReq: fieldDiffs(field(o, "lastGcReq"), nul, seqno),
    leasedReaders: fieldDiffs(field(o, "leasedReaders"), leasedReaderId, leasedReader),
    criticalReaders: fieldDiffs(field(o, "criticalReaders"), criticalReaderId, criticalReader),
    writers: fieldDiffs(field(o, "writers"), writerId, writer),
    since: fieldDiffs(field(o, "since"), nul, antichain),
    spine: fieldDiffs(field(o, "spine"), batch, nul)
  }
}

/** Uint8ArrayFromBase64, with the same decoder the Schema uses. */
const base64 = (x: unknown): Uint8Array => {
  const d = Base64.decodeBase64(str(x))
  return Either.isRight(d) ? d.right : reject()
}

const codecs = (x: unknown): Codecs => {
  const o = obj(x, 4)
  return { key: str(field(o, "key")), val: str(field(o, "val")), ts: str(field(o, "ts")), diff: str(field(o, "diff")) }
}

const versionedData = (x: unknown): VersionedData => {
  const o = obj(x, 2)
  return { seqno: seqno(field(o, "seqno")), data: base64(field(o, "data")) }
}

const readRollup = (x: unknown): Rollup => {
  const o = obj(x, 3)
  const state = readState(field(o, "state"))
  const c = codecs(field(o, "codecs"))
  const diffs = nullOr(field(o, "diffs"), (d) => {
    const i = obj(d, 3)
    return { lower: seqno(field(i, "lower")), upper: seqno(field(i, "upper")), diffs: arr(field(i, "diffs")).map(versionedData) }
  })
  return { state, codecs: c, diffs }
}

const orUndefined = <A>(read: (x: unknown) => A) => (json: unknown): A | undefined => {
  try {
    return read(json)
  } catch (e) {
    if (e === notSure) return undefined
    throw e
  }
}

/** What `Schema.decodeUnknownEither(StateDiffS, { onExcessProperty: "error" })` returns on success, or `undefined`. */
export const readStateDiffJson: (json: unknown) => StateDiff | undefined = orUndefined(readStateDiff)
/** What `Schema.decodeUnknownEither(RollupS, { onExcessProperty: "error" })` returns on success, or `undefined`. */
export const readRollupJson: (json: unknown) => Rollup | undefined = orUndefined(readRollup)
