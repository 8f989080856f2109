/**
 * Encodings (spec DM-7) with `effect/Schema`: State (as a rollup), StateDiff and Rollup.
 *
 * Bytes are the UTF-8 JSON of the Schema's encoded form (written by EncodingWriters.ts, which
 * the property suite holds byte-equal to `Schema.encodeSync`). Maps encode as key-sorted pair lists so
 * equal states encode to equal bytes. Decoding never throws: corrupt, truncated or
 * wrong-version bytes come back as a typed `DecodeError` or `IncompatibleVersion`, which the
 * state layer turns into the panic persist would raise (a finding, not a harness crash).
 */
import { Either, type FastCheck, ParseResult, Schema } from "effect"
import type { Antichain } from "./Antichain.ts"
import type { VersionedData } from "./Consensus.ts"
import { CriticalReaderId, IdempotencyToken, LeasedReaderId, ShardId, WriterId } from "./Ids.ts"
import { assert, assertEq } from "./Panic.ts"
import { readRollupJson, readStateDiffJson } from "./EncodingReaders.ts"
import { writeRollup, writeStateDiff } from "./EncodingWriters.ts"
import { PartialBatchKey, PartialRollupKey } from "./Paths.ts"
import { SeqNo as SeqNoM } from "./SeqNo.ts"
import type { SeqNo } from "./SeqNo.ts"
import type { Rollup } from "./Rollup.ts"
import { latestRollup, type State, type TypedState } from "./State.ts"
import type { StateDiff } from "./StateDiff.ts"

export class DecodeError extends Schema.TaggedError<DecodeError>()("DecodeError", {
  what: Schema.String,
  message: Schema.String
}) {}

export class IncompatibleVersion extends Schema.TaggedError<IncompatibleVersion>()("IncompatibleVersion", {
  codeVersion: Schema.String,
  dataVersion: Schema.String
}) {}

// --- field schemas -------------------------------------------------------------------------

/**
 * A string refined to `T` by `valid`. `arbitrary` (for `Arbitrary.make`) generates valid values
 * directly, since filtering random strings would almost never produce an id or a key.
 */
const stringAs = <T extends string>(
  name: string,
  valid: (s: string) => boolean,
  arbitrary?: (fc: typeof FastCheck) => FastCheck.Arbitrary<string>
): Schema.Schema<T, string> =>
  Schema.String.pipe(
    Schema.filter(valid, {
      message: () => `invalid ${name}`,
      ...(arbitrary === undefined ? {} : { arbitrary: () => arbitrary })
    })
  ) as unknown as Schema.Schema<T, string>

/** Arbitrary canonical lowercase UUIDs with a prefix (for `Arbitrary.make`). */
const arbUuid = (fc: typeof FastCheck): FastCheck.Arbitrary<string> => fc.uuid().map((u) => u.toLowerCase())
const arbId = (prefix: string) => (fc: typeof FastCheck): FastCheck.Arbitrary<string> => arbUuid(fc).map((u) => `${prefix}${u}`)

const SeqNoS: Schema.Schema<SeqNo, number> = Schema.Number.pipe(
  Schema.filter((n) => SeqNoM.isValid(n), { message: () => "invalid seqno" })
) as unknown as Schema.Schema<SeqNo, number>
const AntichainS: Schema.Schema<Antichain, ReadonlyArray<number>> = Schema.Array(Schema.Number).pipe(
  Schema.filter((a) => a.length <= 1, { message: () => "a totally ordered antichain has at most one element" })
)
const ShardIdS = stringAs<ShardId>("shard id", (s) => ShardId.parse(s) !== undefined, arbId("s"))
const WriterIdS = stringAs<WriterId>("writer id", (s) => WriterId.parse(s) !== undefined, arbId("w"))
const LeasedReaderIdS = stringAs<LeasedReaderId>("leased reader id", (s) => LeasedReaderId.parse(s) !== undefined, arbId("r"))
const CriticalReaderIdS = stringAs<CriticalReaderId>("critical reader id", (s) => CriticalReaderId.parse(s) !== undefined, arbId("c"))
const TokenS = stringAs<IdempotencyToken>("idempotency token", (s) => IdempotencyToken.parse(s) !== undefined, arbId("i"))
const RollupKeyS = stringAs<PartialRollupKey>(
  "rollup key",
  PartialRollupKey.isValid,
  (fc) => fc.tuple(fc.nat(), arbId("r")(fc)).map(([seqno, id]) => `v${seqno}/${id}`)
)
const BatchKeyS = stringAs<PartialBatchKey>(
  "batch key",
  PartialBatchKey.isValid,
  (fc) => fc.tuple(arbId("w")(fc), arbId("p")(fc)).map(([w, p]) => `${w}/${p}`)
)

/** A Map encoded as a list of pairs sorted by key; duplicate keys are rejected. */
const SortedMap = <K extends string | number, KI, V, VI>(key: Schema.Schema<K, KI>, value: Schema.Schema<V, VI>) =>
  Schema.transformOrFail(
    Schema.Array(Schema.Tuple(key, value)),
    Schema.ReadonlyMapFromSelf({ key: Schema.typeSchema(key), value: Schema.typeSchema(value) }),
    {
      strict: true,
      decode: (pairs, _, ast) => {
        const m = new Map<K, V>()
        for (const [k, v] of pairs) {
          if (m.has(k)) return ParseResult.fail(new ParseResult.Type(ast, pairs, `duplicate map key ${String(k)}`))
          m.set(k, v)
        }
        return ParseResult.succeed(m as ReadonlyMap<K, V>)
      },
      encode: (m) => ParseResult.succeed([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) as ReadonlyArray<readonly [K, V]>)
    }
  )

const HollowRollupS = Schema.Struct({ key: RollupKeyS, encodedSizeBytes: Schema.NullOr(Schema.Number) })
const BatchPartS = Schema.Union(
  Schema.TaggedStruct("Hollow", { key: BatchKeyS, encodedSizeBytes: Schema.Number }),
  Schema.TaggedStruct("Inline", { updates: Schema.String, tsRewrite: Schema.NullOr(AntichainS) })
)
const DescriptionS = Schema.Struct({ lower: AntichainS, upper: AntichainS, since: AntichainS })
const HollowBatchS = Schema.Struct({ desc: DescriptionS, len: Schema.Number, parts: Schema.Array(BatchPartS) })
const DebugS = Schema.Struct({ hostname: Schema.String, purpose: Schema.String })
const LeasedReaderStateS = Schema.Struct({
  seqno: SeqNoS,
  since: AntichainS,
  lastHeartbeatTimestampMs: Schema.Number,
  leaseDurationMs: Schema.Number,
  debug: DebugS
})
const CriticalReaderStateS = Schema.Struct({ since: AntichainS, opaque: Schema.String, opaqueCodec: Schema.String, debug: DebugS })
const WriterStateS = Schema.Struct({
  lastHeartbeatTimestampMs: Schema.Number,
  leaseDurationMs: Schema.Number,
  mostRecentWriteToken: TokenS,
  mostRecentWriteUpper: AntichainS,
  debug: DebugS
})
const ActiveClaimS = Schema.Struct({ seqno: SeqNoS, startMs: Schema.Number })
const CodecsS = Schema.Struct({ key: Schema.String, val: Schema.String, ts: Schema.String, diff: Schema.String })

export const StateS = Schema.Struct({
  applierVersion: Schema.String,
  shardId: ShardIdS,
  seqno: SeqNoS,
  walltimeMs: Schema.Number,
  hostname: Schema.String,
  collections: Schema.Struct({
    lastGcReq: SeqNoS,
    rollups: SortedMap(SeqNoS, HollowRollupS),
    activeRollup: Schema.NullOr(ActiveClaimS),
    activeGc: Schema.NullOr(ActiveClaimS),
    leasedReaders: SortedMap(LeasedReaderIdS, LeasedReaderStateS),
    criticalReaders: SortedMap(CriticalReaderIdS, CriticalReaderStateS),
    writers: SortedMap(WriterIdS, WriterStateS),
    trace: Schema.Struct({ since: AntichainS, batches: Schema.Array(HollowBatchS) })
  })
})

const FieldDiffs = <K, KI, V, VI>(key: Schema.Schema<K, KI>, value: Schema.Schema<V, VI>) =>
  Schema.Array(
    Schema.Struct({
      key,
      val: Schema.Union(
        Schema.TaggedStruct("Insert", { to: value }),
        Schema.TaggedStruct("Update", { from: value, to: value }),
        Schema.TaggedStruct("Delete", { from: value })
      )
    })
  )

export const StateDiffS = Schema.Struct({
  applierVersion: Schema.String,
  seqnoFrom: SeqNoS,
  seqnoTo: SeqNoS,
  walltimeMs: Schema.Number,
  latestRollupKey: RollupKeyS,
  rollups: FieldDiffs(SeqNoS, HollowRollupS),
  activeRollup: FieldDiffs(Schema.Null, ActiveClaimS),
  activeGc: FieldDiffs(Schema.Null, ActiveClaimS),
  hostname: FieldDiffs(Schema.Null, Schema.String),
  lastGcReq: FieldDiffs(Schema.Null, SeqNoS),
  leasedReaders: FieldDiffs(LeasedReaderIdS, LeasedReaderStateS),
  criticalReaders: FieldDiffs(CriticalReaderIdS, CriticalReaderStateS),
  writers: FieldDiffs(WriterIdS, WriterStateS),
  since: FieldDiffs(Schema.Null, AntichainS),
  spine: FieldDiffs(HollowBatchS, Schema.Null)
})

const VersionedDataS = Schema.Struct({ seqno: SeqNoS, data: Schema.Uint8ArrayFromBase64 })

/** The raw Consensus rows `(latest rollup, state]` a rollup carries with it. */
export const InlinedDiffsS = Schema.Struct({ lower: SeqNoS, upper: SeqNoS, diffs: Schema.Array(VersionedDataS) })
export type { InlinedDiffs, Rollup } from "./Rollup.ts"

export const RollupS = Schema.Struct({ state: StateS, codecs: CodecsS, diffs: Schema.NullOr(InlinedDiffsS) })

// Compile-time proof that the Schemas describe exactly the model types.
const _stateMatches: Schema.Schema<State, typeof StateS.Encoded> = StateS
const _diffMatches: Schema.Schema<StateDiff, typeof StateDiffS.Encoded> = StateDiffS
const _rollupMatches: Schema.Schema<Rollup, typeof RollupS.Encoded> = RollupS
void _stateMatches
void _diffMatches
void _rollupMatches

// --- versions ------------------------------------------------------------------------------

const parseVersion = (v: string): [number, number, number] | undefined => {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(v)
  return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3])]
}

/** Code may read data written by the same or an older version (persist halts otherwise). */
export const codeCanReadData = (codeVersion: string, dataVersion: string): boolean => {
  const c = parseVersion(codeVersion)
  const d = parseVersion(dataVersion)
  if (c === undefined || d === undefined) return false
  for (let i = 0; i < 3; i++) if (c[i]! !== d[i]!) return c[i]! > d[i]!
  return true
}

// --- bytes ---------------------------------------------------------------------------------

const utf8 = new TextEncoder()
const utf8Strict = new TextDecoder("utf-8", { fatal: true })

const notUtf8Json = (what: string, e: unknown): DecodeError =>
  new DecodeError({ what, message: `not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}` })

/**
 * `fast` is a hand-written reader (EncodingReaders.ts) that returns what the Schema would, or
 * `undefined` when unsure; the Schema then decides, and words every error.
 */
const fromText = <A, I>(what: string, schema: Schema.Schema<A, I>, text: string, fast?: (json: unknown) => A | undefined): Either.Either<A, DecodeError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Either.left(notUtf8Json(what, e))
  }
  const read = fast?.(json)
  if (read !== undefined) return Either.right(read)
  return Schema.decodeUnknownEither(schema, { onExcessProperty: "error" })(json).pipe(
    Either.mapLeft((e) => new DecodeError({ what, message: ParseResult.TreeFormatter.formatErrorSync(e) }))
  )
}

/**
 * Decodes bytes through `decode`, once per distinct content. Consensus and Blob hand every reader
 * its own copy of a row or blob (as real stores do), so the identity caches below would decode
 * the same row once per reader; this second level, keyed by the text, shares the decode across
 * copies. Decoded values are never mutated, so sharing them is safe. Bounded: the oldest
 * entry goes first.
 */
const byContent = <A>(what: string, max: number, decode: (text: string) => Either.Either<A, DecodeError>) => {
  const cache = new Map<string, Either.Either<A, DecodeError>>()
  return (bytes: Uint8Array): Either.Either<A, DecodeError> => {
    let text: string
    try {
      text = utf8Strict.decode(bytes)
    } catch (e) {
      return Either.left(notUtf8Json(what, e))
    }
    let hit = cache.get(text)
    if (hit === undefined) {
      hit = decode(text)
      if (cache.size >= max) cache.delete(cache.keys().next().value!)
      cache.set(text, hit)
    }
    return hit
  }
}

const diffByContent = byContent("StateDiff", 8192, (text) => fromText("StateDiff", StateDiffS, text, readStateDiffJson))

const checkVersion = <A>(codeVersion: string, dataVersion: string, value: A): Either.Either<A, IncompatibleVersion> =>
  codeCanReadData(codeVersion, dataVersion) ? Either.right(value) : Either.left(new IncompatibleVersion({ codeVersion, dataVersion }))

/** The bytes of a diff: what `Schema.encodeSync(StateDiffS)` writes for any valid diff, faster. */
export const encodeStateDiff = (diff: StateDiff): Uint8Array => utf8.encode(JSON.stringify(writeStateDiff(diff)))

// Rows in Consensus are immutable, and the same bytes object is handed to every reader, so a
// decode is done once per object.
const diffCache = new WeakMap<Uint8Array, StateDiff>()

export const decodeStateDiff = (buildVersion: string, bytes: Uint8Array): Either.Either<StateDiff, DecodeError | IncompatibleVersion> => {
  const cached = diffCache.get(bytes)
  const decoded = cached === undefined ? diffByContent(bytes) : Either.right(cached)
  if (Either.isRight(decoded) && cached === undefined) diffCache.set(bytes, decoded.right)
  return Either.flatMap(decoded, (d) => checkVersion(buildVersion, d.applierVersion, d))
}

/**
 * `Rollup::from`: the state plus the diffs `(L, S]` where L is its latest rollup's seqno and S
 * its own seqno. Asserts the diffs are exactly that contiguous range.
 */
export const rollupFrom = (typed: TypedState, diffs: ReadonlyArray<VersionedData>): Rollup => {
  const [latestRollupSeqno] = latestRollup(typed.state)
  const lower = SeqNoM.next(latestRollupSeqno)
  const upper = SeqNoM.next(typed.state.seqno)
  let expected = lower
  for (const d of diffs) {
    assertEq(d.seqno, expected, "rollup diffs must be contiguous from the latest rollup")
    expected = SeqNoM.next(expected)
  }
  assertEq(expected, upper, "rollup diffs must end at the state's seqno")
  return { state: typed.state, codecs: typed.codecs, diffs: { lower, upper, diffs } }
}

export const encodeRollup = (rollup: Rollup): Uint8Array => {
  if (rollup.diffs !== null) {
    for (const d of rollup.diffs.diffs) {
      assert(d.seqno >= rollup.diffs.lower && d.seqno < rollup.diffs.upper, "inlined diff outside [lower, upper)")
    }
  }
  return utf8.encode(JSON.stringify(writeRollup(rollup)))
}

/**
 * `UntypedState::decode` of a rollup blob: checks the code can read the data's version and
 * that inlined diffs cover exactly `(latest rollup, seqno]`.
 */
// Blob values are immutable too: decode (and validate) each bytes object once.
const rollupCache = new WeakMap<Uint8Array, Either.Either<Rollup, DecodeError>>()

export const decodeRollup = (buildVersion: string, bytes: Uint8Array): Either.Either<Rollup, DecodeError | IncompatibleVersion> => {
  let decoded = rollupCache.get(bytes)
  if (decoded === undefined) {
    decoded = rollupByContent(bytes)
    rollupCache.set(bytes, decoded)
  }
  return Either.flatMap(decoded, (r) => checkVersion(buildVersion, r.state.applierVersion, r))
}

const decodeRollupText = (text: string): Either.Either<Rollup, DecodeError> =>
  fromText("Rollup", RollupS, text, readRollupJson).pipe(
    Either.flatMap((r): Either.Either<Rollup, DecodeError> => {
      if (r.diffs === null) return Either.right(r)
      if (r.state.collections.rollups.size === 0) return Either.left(new DecodeError({ what: "Rollup", message: "rollup state has no rollups" }))
      const [l] = latestRollup(r.state)
      if (r.diffs.lower !== l + 1 || r.diffs.upper !== r.state.seqno + 1) {
        return Either.left(
          new DecodeError({
            what: "Rollup",
            message: `inlined diffs [${r.diffs.lower}, ${r.diffs.upper}) do not match the state's latest rollup ${l} and seqno ${r.state.seqno}`
          })
        )
      }
      return Either.right(r)
    })
  )

const rollupByContent = byContent("Rollup", 512, decodeRollupText)
