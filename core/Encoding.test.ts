import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { Antichain } from "./Antichain.ts"
import { addRollup, compareAndAppend, registerLeasedReader } from "./Commands.ts"
import type { VersionedData } from "./Consensus.ts"
import { deepEqual } from "./DeepEqual.ts"
import { codeCanReadData, decodeRollup, decodeStateDiff, encodeRollup, encodeStateDiff, type Rollup, rollupFrom, StateS } from "./Encoding.ts"
import { PersistPanic } from "./Panic.ts"
import { defaultPersistConfig } from "./PersistConfig.ts"
import { SeqNo } from "./SeqNo.ts"
import type { State, TypedState } from "./State.ts"
import { fromDiff } from "./StateDiff.ts"
import {
  batch,
  bytes,
  commit,
  critical,
  criticalId,
  debug,
  hollowPart,
  hollowRollup,
  inlinePart,
  leased,
  makeState,
  readerId,
  token,
  writerId,
  writerState
} from "./testing/Fixtures.ts"

const V = "0.130.0"
const codecs = defaultPersistConfig.codecs
const utf8 = new TextDecoder()

/** A state with every kind of field populated. */
const rich = (): State =>
  makeState({
    seqno: 12,
    rollups: [1, 10, 9],
    lastGcReq: 3,
    walltimeMs: 1_234,
    hostname: "h1",
    applierVersion: V,
    activeRollup: { seqno: SeqNo(11), startMs: 5 },
    activeGc: null,
    since: Antichain.from(2),
    batches: [
      batch(0, 3, { parts: [hollowPart(1, 1), inlinePart("abc", Antichain.from(1))] }),
      batch(3, 7, { len: 0, parts: [inlinePart("", null)] }),
      batch(7, 9)
    ],
    leasedReaders: [[readerId(1), leased(9, 2, 10, 100)]],
    criticalReaders: [[criticalId(1), critical(2, "op")]],
    writers: [[writerId(1), writerState(5, 50, token(1), Antichain.from(9))]]
  })

const stateJson = (s: State): string => JSON.stringify(Schema.encodeSync(StateS)(s))

/** Rows (L, S] for a state whose latest rollup is L: encoded diffs between consecutive states. */
const chain = (): { readonly states: Array<State>; readonly rows: Array<VersionedData> } => {
  let s = makeState({ seqno: 5, rollups: [1, 5], applierVersion: V, batches: [batch(0, 1)] })
  const states = [s]
  const rows: Array<VersionedData> = []
  const steps = [
    registerLeasedReader("h", readerId(1), "p", 1_000, 0, false),
    compareAndAppend(batch(1, 4), writerId(1), 0, 1_000, token(1), debug),
    registerLeasedReader("h", readerId(2), "p", 1_000, 0, false)
  ] as const
  for (const step of steps) {
    const [, n] = commit(s, step as Parameters<typeof commit>[1])
    rows.push({ seqno: n.seqno, data: encodeStateDiff(fromDiff(s, n)) })
    states.push(n)
    s = n
  }
  return { states, rows }
}

const corrupt = (good: Uint8Array): Array<readonly [string, Uint8Array]> => {
  const garbage = new Uint8Array(64)
  let x = 12345
  for (let i = 0; i < garbage.length; i++) garbage[i] = (x = (x * 1103515245 + 12345) >>> 0) & 0xff
  const json = JSON.parse(utf8.decode(good)) as Record<string, unknown>
  return [
    ["empty", new Uint8Array()],
    ["random garbage", garbage],
    ["truncated JSON", good.slice(0, Math.floor(good.length / 2))],
    ["truncated by one byte", good.slice(0, good.length - 1)],
    ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
    ["JSON null", bytes("null")],
    ["JSON number", bytes("42")],
    ["JSON array", bytes("[]")],
    ["wrong object", bytes(`{"a":1}`)],
    ["extra top-level property", bytes(JSON.stringify({ ...json, extra: 1 }))],
    ["a field of the wrong type", bytes(JSON.stringify({ ...json, walltimeMs: "soon" }))],
    ["a missing field", bytes(JSON.stringify({ ...json, walltimeMs: undefined, state: undefined }))]
  ]
}

describe("Encoding", () => {
  describe("State", () => {
    it("StateS - round trips every field through JSON", () => {
      const s = rich()
      const back = Schema.decodeUnknownSync(StateS)(JSON.parse(stateJson(s)))
      expect(deepEqual(back, s)).toBe(true)
      expect(back.collections.rollups).toBeInstanceOf(Map)
      expect([...back.collections.rollups.keys()]).toEqual([1, 9, 10])
    })

    it("StateS - equal states encode to equal bytes regardless of Map insertion order", () => {
      const a = rich()
      const reversed = <K, V>(m: ReadonlyMap<K, V>) => new Map([...m].reverse())
      const b: State = {
        ...a,
        collections: {
          ...a.collections,
          rollups: reversed(a.collections.rollups),
          leasedReaders: new Map([[readerId(2), leased(3, 0)], ...a.collections.leasedReaders]),
          writers: reversed(a.collections.writers)
        }
      }
      const a2: State = { ...a, collections: { ...a.collections, leasedReaders: new Map([...a.collections.leasedReaders, [readerId(2), leased(3, 0)]]) } }
      expect(stateJson(a2)).toBe(stateJson(b))
      const r1 = encodeRollup({ state: a2, codecs, diffs: null })
      const r2 = encodeRollup({ state: b, codecs, diffs: null })
      expect(utf8.decode(r1)).toBe(utf8.decode(r2))
    })

    it("StateS - rejects invalid ids, duplicate map keys and wide antichains", () => {
      const json = JSON.parse(stateJson(rich())) as { collections: Record<string, unknown> }
      const bad = (patch: Record<string, unknown>) =>
        Either.isLeft(Schema.decodeUnknownEither(StateS)({ ...json, collections: { ...json.collections, ...patch } }))
      expect(bad({ writers: [["wnot-a-uuid", (json.collections.writers as Array<[string, unknown]>)[0]![1]]] })).toBe(true)
      expect(bad({ rollups: [[1, { key: "v1/rbad", encodedSizeBytes: 1 }]] })).toBe(true)
      const r = (json.collections.rollups as Array<unknown>)[0]
      expect(bad({ rollups: [r, r] })).toBe(true)
      expect(bad({ trace: { since: [1, 2], batches: [] } })).toBe(true)
      expect(bad({ lastGcReq: -1 })).toBe(true)
      expect(bad({ lastGcReq: 1.5 })).toBe(true)
      expect(bad({})).toBe(false)
    })
  })

  describe("StateDiff", () => {
    it("encodeStateDiff/decodeStateDiff - round trip", () => {
      const { states, rows } = chain()
      rows.forEach((row, i) => {
        const d = decodeStateDiff(V, row.data)
        expect(Either.isRight(d)).toBe(true)
        if (Either.isRight(d)) {
          expect(deepEqual(d.right, fromDiff(states[i]!, states[i + 1]!))).toBe(true)
          expect(d.right.seqnoTo).toBe(row.seqno)
        }
      })
    })

    it("encodeStateDiff/decodeStateDiff - a diff touching every field kind round trips", () => {
      const a = rich()
      const b: State = {
        ...a,
        seqno: SeqNo(13),
        hostname: "h2",
        collections: {
          ...a.collections,
          lastGcReq: SeqNo(9),
          rollups: new Map([[SeqNo(12), hollowRollup(12, 12, null)], ...a.collections.rollups]),
          activeRollup: null,
          activeGc: { seqno: SeqNo(13), startMs: 9 },
          leasedReaders: new Map([[readerId(1), leased(13, 4)]]),
          criticalReaders: new Map(),
          writers: new Map([[writerId(2), writerState()]]),
          trace: { since: Antichain.from(4), batches: [...a.collections.trace.batches, batch(9, null)] }
        }
      }
      const d = fromDiff(a, b)
      const back = decodeStateDiff(V, encodeStateDiff(d))
      expect(Either.isRight(back) && deepEqual(back.right, d)).toBe(true)
      expect(d.rollups.length + d.activeRollup.length + d.activeGc.length + d.leasedReaders.length + d.criticalReaders.length).toBe(5)
    })

    it("decodeStateDiff - corrupt bytes are a DecodeError, never a throw", () => {
      const { rows } = chain()
      for (const [why, b] of corrupt(rows[0]!.data)) {
        const r = decodeStateDiff(V, b)
        expect(Either.isLeft(r) && r.left._tag, why).toBe("DecodeError")
      }
    })

    it("decodeStateDiff - data from a newer version is IncompatibleVersion", () => {
      const a = makeState({ seqno: 3, applierVersion: V })
      const b = { ...a, seqno: SeqNo(4), applierVersion: "0.131.0" }
      const r = decodeStateDiff(V, encodeStateDiff(fromDiff(a, b)))
      expect(Either.isLeft(r) && r.left).toMatchObject({ _tag: "IncompatibleVersion", codeVersion: V, dataVersion: "0.131.0" })
      // Older data is fine.
      const old = decodeStateDiff(V, encodeStateDiff(fromDiff(a, { ...b, applierVersion: "0.9.5" })))
      expect(Either.isRight(old)).toBe(true)
    })
  })

  describe("Rollup", () => {
    it("rollupFrom - carries the diffs (L, S] with lower L+1 and upper S+1", () => {
      const { states, rows } = chain()
      const last = states[states.length - 1]!
      const r = rollupFrom({ state: last, codecs }, rows)
      expect(r.diffs).toMatchObject({ lower: 6, upper: 9 })
      expect(r.diffs?.diffs.map((d) => d.seqno)).toEqual([6, 7, 8])
    })

    it("encodeRollup/decodeRollup - round trip with inlined diffs", () => {
      const { states, rows } = chain()
      const r = rollupFrom({ state: states[states.length - 1]!, codecs }, rows)
      const back = decodeRollup(V, encodeRollup(r))
      expect(Either.isRight(back)).toBe(true)
      if (Either.isRight(back)) {
        expect(deepEqual(back.right, r)).toBe(true)
        expect(back.right.diffs?.diffs.map((d) => utf8.decode(d.data))).toEqual(rows.map((d) => utf8.decode(d.data)))
      }
    })

    it("encodeRollup/decodeRollup - round trip without diffs and of the self-referential initial rollup", () => {
      const s = rich()
      const back = decodeRollup(V, encodeRollup({ state: s, codecs, diffs: null }))
      expect(Either.isRight(back) && deepEqual(back.right, { state: s, codecs, diffs: null })).toBe(true)
      // State 1 lists its own rollup v1 and carries no diffs: lower = upper = 2.
      const initial: TypedState = { state: makeState({ seqno: 1, rollups: [[1, hollowRollup(1, 1, null)]], applierVersion: V }), codecs }
      const r = rollupFrom(initial, [])
      expect(r.diffs).toEqual({ lower: 2, upper: 2, diffs: [] })
      const back1 = decodeRollup(V, encodeRollup(r))
      expect(Either.isRight(back1) && deepEqual(back1.right, r)).toBe(true)
    })

    it("rollupFrom - panics on non-contiguous, short, or misplaced diffs", () => {
      const { states, rows } = chain()
      const typed: TypedState = { state: states[states.length - 1]!, codecs }
      expect(() => rollupFrom(typed, [rows[0]!, rows[2]!])).toThrow(PersistPanic)
      expect(() => rollupFrom(typed, rows.slice(0, 2))).toThrow(PersistPanic)
      expect(() => rollupFrom(typed, rows.slice(1))).toThrow(PersistPanic)
      expect(() => rollupFrom(typed, [...rows, { seqno: SeqNo(9), data: bytes("x") }])).toThrow(PersistPanic)
      expect(() => rollupFrom(typed, [])).toThrow(PersistPanic)
    })

    it("encodeRollup - panics on an inlined diff outside [lower, upper)", () => {
      const { states, rows } = chain()
      const r = rollupFrom({ state: states[states.length - 1]!, codecs }, rows)
      const bad: Rollup = { ...r, diffs: { ...r.diffs!, diffs: [...r.diffs!.diffs, { seqno: SeqNo(9), data: bytes("x") }] } }
      expect(() => encodeRollup(bad)).toThrow(PersistPanic)
    })

    it("decodeRollup - inlined diffs that do not match the state are a DecodeError", () => {
      const { states } = chain()
      const state = states[states.length - 1]! // seqno 8, latest rollup 5
      for (const [lower, upper] of [
        [5, 9],
        [6, 8],
        [6, 10],
        [2, 9]
      ] as const) {
        const r = decodeRollup(V, encodeRollup({ state, codecs, diffs: { lower: SeqNo(lower), upper: SeqNo(upper), diffs: [] } }))
        expect(Either.isLeft(r) && r.left._tag, `[${lower}, ${upper})`).toBe("DecodeError")
      }
      const noRollups = makeState({ seqno: 8, rollups: [], applierVersion: V })
      const r = decodeRollup(V, encodeRollup({ state: noRollups, codecs, diffs: { lower: SeqNo(1), upper: SeqNo(9), diffs: [] } }))
      expect(Either.isLeft(r) && r.left._tag).toBe("DecodeError")
    })

    it("decodeRollup - corrupt bytes are a DecodeError, never a throw", () => {
      const { states, rows } = chain()
      const good = encodeRollup(rollupFrom({ state: states[states.length - 1]!, codecs }, rows))
      for (const [why, b] of corrupt(good)) {
        const r = decodeRollup(V, b)
        expect(Either.isLeft(r) && r.left._tag, why).toBe("DecodeError")
      }
      // Extra properties deep inside are rejected too.
      const json = JSON.parse(utf8.decode(good)) as { state: { collections: Record<string, unknown> } }
      json.state.collections.bonus = true
      const deep = decodeRollup(V, bytes(JSON.stringify(json)))
      expect(Either.isLeft(deep) && deep.left._tag).toBe("DecodeError")
    })

    it("decodeRollup - a state from a newer version is IncompatibleVersion", () => {
      const s = { ...rich(), applierVersion: "1.0.0" }
      const r = decodeRollup(V, encodeRollup({ state: s, codecs, diffs: null }))
      expect(Either.isLeft(r) && r.left).toMatchObject({ _tag: "IncompatibleVersion", codeVersion: V, dataVersion: "1.0.0" })
      // The same bytes decode for a newer build.
      const ok = decodeRollup("1.0.0", encodeRollup({ state: s, codecs, diffs: null }))
      expect(Either.isRight(ok)).toBe(true)
    })
  })

  describe("codeCanReadData", () => {
    it("codeCanReadData - same or older data; numeric, not string, comparison", () => {
      expect(codeCanReadData("0.130.0", "0.130.0")).toBe(true)
      expect(codeCanReadData("0.130.0", "0.129.9")).toBe(true)
      expect(codeCanReadData("0.130.0", "0.130.1")).toBe(false)
      expect(codeCanReadData("0.130.0", "0.131.0")).toBe(false)
      expect(codeCanReadData("0.130.0", "1.0.0")).toBe(false)
      expect(codeCanReadData("1.0.0", "0.999.999")).toBe(true)
      expect(codeCanReadData("0.10.0", "0.9.0")).toBe(true)
      expect(codeCanReadData("0.9.0", "0.10.0")).toBe(false)
      expect(codeCanReadData("0.130.0", "0.130.0-dev")).toBe(true)
      expect(codeCanReadData("0.130.0", "0.130.0+build")).toBe(true)
    })

    it("codeCanReadData - unparseable versions are never readable", () => {
      expect(codeCanReadData("0.130.0", "garbage")).toBe(false)
      expect(codeCanReadData("garbage", "0.1.0")).toBe(false)
      expect(codeCanReadData("0.130.0", "")).toBe(false)
      expect(codeCanReadData("0.130", "0.1.0")).toBe(false)
    })
  })

  it("addRollup - a state with a linked rollup still encodes its rollups map by numeric seqno", () => {
    const a = makeState({ seqno: 11, rollups: [9], applierVersion: V })
    const [, b] = commit(a, addRollup(SeqNo(10), hollowRollup(10)))
    const json = JSON.parse(stateJson(b)) as { collections: { rollups: Array<[number, unknown]> } }
    expect(json.collections.rollups.map(([s]) => s)).toEqual([9, 10])
  })
})
