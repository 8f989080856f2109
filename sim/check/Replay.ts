/**
 * The checker's own reconstruction of the history (issue 14): it decodes committed diffs and
 * rollup blobs itself (no cache, none of core's decode helpers; see oracleDecodeDiff for the
 * one shared piece, the hand-written readers) and applies diffs with the small applier below, which shares no code with core/StateDiff.ts. A bug in
 * core's applyDiff/fromDiff or in its decode path therefore shows up as a disagreement between
 * this reconstruction and what the processes hold, instead of being reproduced on both sides.
 *
 * Comparison (`firstDifference`) remembers pairs of objects already proven equal, so comparing
 * two states that share most of their values with earlier, compared states costs about the
 * number of entries, not the bytes.
 */
import { Either, ParseResult, Schema } from "effect"
import { RollupS, StateDiffS } from "../../core/Encoding.ts"
import { readRollupJson, readStateDiffJson } from "../../core/EncodingReaders.ts"
import type { Rollup } from "../../core/Rollup.ts"
import type { HollowBatch, State, StateCollections } from "../../core/State.ts"
import type { FieldDiff, StateDiff } from "../../core/StateDiff.ts"

const utf8 = new TextDecoder("utf-8", { fatal: true })

const parseJson = (bytes: Uint8Array): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(utf8.decode(bytes)))
  } catch (e) {
    return Either.left(`not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
}
/**
 * Decoding is the Schema's answer, computed by the hand-written reader when it is sure (see
 * core/EncodingReaders.ts: a reader returns exactly the Schema's decode or "not sure", which
 * properties/encodingReaders.test.ts holds on valid and corrupted inputs). Why the checker
 * shares it rather than running the Schema itself: the Schema decode of every diff and every
 * new rollup was ~10% of a sweep's CPU, most of the checker's cost (issue 13). What stays
 * independent of core is everything after the decode: no cache, no core apply or fromDiff.
 */
const withSchema = <A, I>(schema: Schema.Schema<A, I>, read: (json: unknown) => A | undefined) => {
  const decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "error" })
  return (bytes: Uint8Array): Either.Either<A, string> =>
    Either.flatMap(parseJson(bytes), (json) => {
      const fast = read(json)
      return fast !== undefined ? Either.right(fast) : Either.mapLeft(decode(json), (e) => ParseResult.TreeFormatter.formatErrorSync(e))
    })
}

/** A committed row's diff, as the Schema decodes it. */
export const oracleDecodeDiff: (bytes: Uint8Array) => Either.Either<StateDiff, string> = withSchema(StateDiffS, readStateDiffJson)
/** A rollup blob, as the Schema decodes it. */
export const oracleDecodeRollup: (bytes: Uint8Array) => Either.Either<Rollup, string> = withSchema(RollupS, readRollupJson)

// --- the applier ----------------------------------------------------------------------------

class Mismatch {
  constructor(readonly message: string) {}
}

/** Insert must be new; Update and Delete must name the value that is there. */
const applyKeyed = <K, V>(field: string, from: ReadonlyMap<K, V>, diffs: ReadonlyArray<FieldDiff<K, V>>, same: (a: V, b: V) => boolean): ReadonlyMap<K, V> => {
  if (diffs.length === 0) return from
  const out = new Map(from)
  for (const d of diffs) {
    const have = out.get(d.key)
    const v = d.val
    if (v._tag === "Insert") {
      if (have !== undefined) throw new Mismatch(`${field}[${String(d.key)}]: inserted but present`)
      out.set(d.key, v.to)
    } else {
      if (have === undefined) throw new Mismatch(`${field}[${String(d.key)}]: ${v._tag} of an absent key`)
      if (!same(have, v.from)) throw new Mismatch(`${field}[${String(d.key)}]: ${v._tag} from a value that is not there`)
      if (v._tag === "Update") out.set(d.key, v.to)
      else out.delete(d.key)
    }
  }
  return out
}

/** A field that is always present: only Updates from the current value. */
const applyScalar = <V>(field: string, from: V, diffs: ReadonlyArray<FieldDiff<null, V>>, same: (a: V, b: V) => boolean): V => {
  let cur = from
  for (const d of diffs) {
    if (d.val._tag !== "Update") throw new Mismatch(`${field}: ${d.val._tag} of a scalar`)
    if (!same(cur, d.val.from)) throw new Mismatch(`${field}: update from a value that is not there`)
    cur = d.val.to
  }
  return cur
}

/** A field that may be null: Insert into null, Update/Delete from the current value. */
const applyNullable = <V>(field: string, from: V | null, diffs: ReadonlyArray<FieldDiff<null, V>>, same: (a: V, b: V) => boolean): V | null => {
  let cur = from
  for (const d of diffs) {
    const v = d.val
    if (v._tag === "Insert") {
      if (cur !== null) throw new Mismatch(`${field}: insert over a value`)
      cur = v.to
    } else {
      if (cur === null || !same(cur, v.from)) throw new Mismatch(`${field}: ${v._tag} from a value that is not there`)
      cur = v._tag === "Update" ? v.to : null
    }
  }
  return cur
}

/** The batches as a set: a batch is its description, length and parts, in order of lower. */
const batchId = (b: HollowBatch): string => JSON.stringify([b.desc, b.len, b.parts])

const applyBatches = (from: ReadonlyArray<HollowBatch>, diffs: ReadonlyArray<FieldDiff<HollowBatch, null>>): ReadonlyArray<HollowBatch> => {
  if (diffs.length === 0) return from
  const set = new Map<string, HollowBatch>()
  for (const b of from) set.set(batchId(b), b)
  for (const d of diffs) {
    const id = batchId(d.key)
    if (d.val._tag === "Insert") {
      if (set.has(id)) throw new Mismatch("batches: inserted but present")
      set.set(id, d.key)
    } else if (d.val._tag === "Delete") {
      if (!set.delete(id)) throw new Mismatch("batches: deleted but absent")
    } else throw new Mismatch("batches: updated in place")
  }
  const lowerOf = (b: HollowBatch) => (b.desc.lower.length === 0 ? Number.POSITIVE_INFINITY : b.desc.lower[0]!)
  const out = [...set.values()].sort((a, b) => lowerOf(a) - lowerOf(b))
  for (let i = 1; i < out.length; i++) {
    const [u, l] = [out[i - 1]!.desc.upper, out[i]!.desc.lower]
    if (u.length !== l.length || u[0] !== l[0]) throw new Mismatch(`batches: gap or overlap at ${JSON.stringify(u)} / ${JSON.stringify(l)}`)
  }
  return out
}

/** `prev` with `diff` applied, or why it does not apply. */
export const oracleApply = (prev: State, diff: StateDiff, eq: Equality): Either.Either<State, string> => {
  if (diff.seqnoFrom !== prev.seqno) return Either.left(`diff from ${diff.seqnoFrom}, state at ${prev.seqno}`)
  const same = <V>(a: V, b: V) => eq.same(a, b)
  const c = prev.collections
  try {
    const collections: StateCollections = {
      lastGcReq: applyScalar("lastGcReq", c.lastGcReq, diff.lastGcReq, same),
      rollups: applyKeyed("rollups", c.rollups, diff.rollups, same),
      activeRollup: applyNullable("activeRollup", c.activeRollup, diff.activeRollup, same),
      activeGc: applyNullable("activeGc", c.activeGc, diff.activeGc, same),
      leasedReaders: applyKeyed("leasedReaders", c.leasedReaders, diff.leasedReaders, same),
      criticalReaders: applyKeyed("criticalReaders", c.criticalReaders, diff.criticalReaders, same),
      writers: applyKeyed("writers", c.writers, diff.writers, same),
      trace: { since: applyScalar("since", c.trace.since, diff.since, same), batches: applyBatches(c.trace.batches, diff.spine) }
    }
    return Either.right({
      applierVersion: diff.applierVersion,
      shardId: prev.shardId,
      seqno: diff.seqnoTo,
      walltimeMs: diff.walltimeMs,
      hostname: applyScalar("hostname", prev.hostname, diff.hostname, same),
      collections
    })
  } catch (e) {
    if (e instanceof Mismatch) return Either.left(e.message)
    throw e
  }
}

// --- comparison -----------------------------------------------------------------------------

/**
 * Structural equality with a memory of object pairs already proven equal (weakly held), and
 * `firstDifference`, the path of the first field that differs, for the violation's text.
 */
export class Equality {
  private readonly proven = new WeakMap<object, WeakSet<object>>()

  same(a: unknown, b: unknown): boolean {
    return this.diff(a, b, "") === undefined
  }

  /** The path of the first difference between `a` and `b`, or undefined when they are equal. */
  firstDifference(a: unknown, b: unknown): string | undefined {
    return this.diff(a, b, "")
  }

  private diff(a: unknown, b: unknown, path: string): string | undefined {
    if (a === b) return undefined
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return path || "(value)"
    if (this.proven.get(a)?.has(b) === true) return undefined
    const d = this.diffObjects(a, b, path)
    if (d === undefined) {
      let s = this.proven.get(a)
      if (s === undefined) this.proven.set(a, (s = new WeakSet()))
      s.add(b)
    }
    return d
  }

  private diffObjects(a: object, b: object, path: string): string | undefined {
    if (Array.isArray(a) || Array.isArray(b)) {
      if (!Array.isArray(a) || !Array.isArray(b)) return path
      if (a.length !== b.length) return `${path}.length`
      for (let i = 0; i < a.length; i++) {
        const d = this.diff(a[i], b[i], `${path}[${i}]`)
        if (d !== undefined) return d
      }
      return undefined
    }
    if (a instanceof Map || b instanceof Map) {
      if (!(a instanceof Map) || !(b instanceof Map)) return path
      for (const [k, v] of a) {
        if (!b.has(k)) return `${path}[${String(k)}] (only left)`
        const d = this.diff(v, b.get(k), `${path}[${String(k)}]`)
        if (d !== undefined) return d
      }
      for (const k of b.keys()) if (!a.has(k)) return `${path}[${String(k)}] (only right)`
      return undefined
    }
    const ra = a as Record<string, unknown>
    const rb = b as Record<string, unknown>
    for (const k of Object.keys(ra)) {
      if (!(k in rb)) return `${path}.${k} (only left)`
      const d = this.diff(ra[k], rb[k], `${path}.${k}`)
      if (d !== undefined) return d
    }
    for (const k of Object.keys(rb)) if (!(k in ra)) return `${path}.${k} (only right)`
    return undefined
  }
}
