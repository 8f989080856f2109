import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { Antichain } from "./Antichain.ts"
import { addRollup, compareAndAppend, downgradeSince, registerLeasedReader, removeRollups } from "./Commands.ts"
import { deepEqual } from "./DeepEqual.ts"
import { PersistPanic } from "./Panic.ts"
import { SeqNo } from "./SeqNo.ts"
import { type HollowBatch, type HollowRollup, type State } from "./State.ts"
import { applyDiff, batchIdentity, fromDiff, mapBlobDeletes, mapBlobInserts, type StateDiff } from "./StateDiff.ts"
import {
  batch,
  commit,
  critical,
  criticalId,
  debug,
  hollowPart,
  hollowRollup,
  inlinePart,
  leased,
  makeState,
  otherShard,
  readerId,
  rollupKey,
  token,
  writerId,
  writerState
} from "./testing/Fixtures.ts"

const base = (): State =>
  makeState({
    seqno: 10,
    rollups: [1, 8],
    walltimeMs: 100,
    hostname: "a",
    batches: [batch(0, 3), batch(3, 5)],
    writers: [[writerId(1), writerState()]],
    leasedReaders: [[readerId(1), leased(9, 0)]]
  })

/** `b` as the next version of `a` with `f` applied to its collections. */
const next = (a: State, f: (s: State) => Partial<State["collections"]>, extra: Partial<State> = {}): State => ({
  ...a,
  seqno: SeqNo.next(a.seqno),
  walltimeMs: a.walltimeMs + 1,
  ...extra,
  collections: { ...a.collections, ...f(a) }
})

const left = <A>(e: Either.Either<A, string>): string => {
  if (Either.isRight(e)) throw new Error("expected Left")
  return e.left
}
const right = <A>(e: Either.Either<A, string>): A => {
  if (Either.isLeft(e)) throw new Error(`expected Right: ${e.left}`)
  return e.right
}

describe("StateDiff", () => {
  describe("fromDiff", () => {
    it("fromDiff - header fields come from both states, latest rollup key from `to`", () => {
      const a = base()
      const [, b] = commit(a, addRollup(SeqNo(10), hollowRollup(10)), 500)
      const d = fromDiff(a, b)
      expect(d.seqnoFrom).toBe(10)
      expect(d.seqnoTo).toBe(11)
      expect(d.walltimeMs).toBe(500)
      expect(d.applierVersion).toBe(b.applierVersion)
      expect(d.latestRollupKey).toBe(rollupKey(10))
      expect(d.rollups).toEqual([{ key: 10, val: { _tag: "Insert", to: hollowRollup(10) } }])
      expect(d.hostname).toEqual([{ key: null, val: { _tag: "Update", from: "a", to: "host" } }])
      expect(d.writers).toEqual([])
      expect(d.spine).toEqual([])
      expect(d.since).toEqual([])
    })

    it("fromDiff - maps produce Insert, Update and Delete in key order; equal values produce nothing", () => {
      const a = makeState({
        seqno: 3,
        leasedReaders: [
          [readerId(3), leased(1, 0)],
          [readerId(1), leased(1, 0)],
          [readerId(2), leased(1, 0)]
        ]
      })
      const b = next(a, () => ({
        leasedReaders: new Map([
          [readerId(4), leased(4, 0)],
          [readerId(2), leased(1, 2)],
          [readerId(3), leased(1, 0)]
        ])
      }))
      expect(fromDiff(a, b).leasedReaders).toEqual([
        { key: readerId(1), val: { _tag: "Delete", from: leased(1, 0) } },
        { key: readerId(2), val: { _tag: "Update", from: leased(1, 0), to: leased(1, 2) } },
        { key: readerId(4), val: { _tag: "Insert", to: leased(4, 0) } }
      ])
    })

    it("fromDiff - rollups are ordered by numeric seqno", () => {
      const a = makeState({ seqno: 20, rollups: [1] })
      const b = next(a, () => ({ rollups: new Map([10, 9, 1].map((s) => [SeqNo(s), hollowRollup(s)] as const)) }))
      expect(fromDiff(a, b).rollups.map((d) => d.key)).toEqual([9, 10])
    })

    it("fromDiff - singletons diff as one Update iff they differ; active claims as Insert/Delete", () => {
      const a = base()
      const b = next(a, () => ({ lastGcReq: SeqNo(4), trace: { since: Antichain.from(2), batches: a.collections.trace.batches }, activeGc: { seqno: SeqNo(3), startMs: 1 } }))
      const d = fromDiff(a, b)
      expect(d.lastGcReq).toEqual([{ key: null, val: { _tag: "Update", from: 0, to: 4 } }])
      expect(d.since).toEqual([{ key: null, val: { _tag: "Update", from: [0], to: [2] } }])
      expect(d.activeGc).toEqual([{ key: null, val: { _tag: "Insert", to: { seqno: 3, startMs: 1 } } }])
      expect(d.activeRollup).toEqual([])
      const c = next(b, () => ({ activeGc: null }))
      expect(fromDiff(b, c).activeGc).toEqual([{ key: null, val: { _tag: "Delete", from: { seqno: 3, startMs: 1 } } }])
    })

    it("fromDiff - batches diff as a set: only Insert or Delete", () => {
      const a = base()
      const merged = batch(0, 5, { len: 2 })
      const b = next(a, () => ({ trace: { since: a.collections.trace.since, batches: [merged, batch(5, 7)] } }))
      const d = fromDiff(a, b)
      const tags = d.spine.map((x) => [x.val._tag, x.key.desc.lower[0], x.key.desc.upper[0]])
      expect(tags.filter((t) => t[0] === "Delete").sort()).toEqual([
        ["Delete", 0, 3],
        ["Delete", 3, 5]
      ])
      expect(tags.filter((t) => t[0] === "Insert").sort()).toEqual([
        ["Insert", 0, 5],
        ["Insert", 5, 7]
      ])
    })

    it("fromDiff - panics across shards", () => {
      const a = base()
      expect(() => fromDiff(a, { ...a, shardId: otherShard, seqno: SeqNo(11) })).toThrow(PersistPanic)
    })

    it("batchIdentity - equal content gives equal identity regardless of key order", () => {
      const b1 = batch(0, 3)
      const b2: HollowBatch = { parts: [...b1.parts], len: b1.len, desc: { upper: [3], since: [0], lower: [0] } }
      expect(batchIdentity(b1)).toBe(batchIdentity(b2))
      expect(batchIdentity(b1)).not.toBe(batchIdentity(batch(0, 3, { len: 2 })))
    })
  })

  describe("applyDiff", () => {
    it("applyDiff - applying fromDiff(a, b) to a gives b", () => {
      const a = base()
      const [, b1] = commit(a, compareAndAppend(batch(5, 9), writerId(2), 7, 1_000, token(1), debug), 300)
      const [, b2] = commit(b1, downgradeSince(readerId(1), null, Antichain.from(4), 8), 301)
      const [, b3] = commit(b2, addRollup(SeqNo(12), hollowRollup(12)), 302)
      const [, b4] = commit(b3, removeRollups([[SeqNo(1), rollupKey(1)]]), 303)
      let s = a
      for (const t of [b1, b2, b3, b4]) {
        s = right(applyDiff(s, fromDiff(s, t)))
        expect(deepEqual(s, t)).toBe(true)
      }
      expect(s.seqno).toBe(14)
      expect(s.walltimeMs).toBe(303)
      expect(s.hostname).toBe("host")
      expect([...s.collections.rollups.keys()].sort((x, y) => x - y)).toEqual([8, 12])
      expect(s.collections.trace.since).toEqual([4])
    })

    it("applyDiff - a diff already applied (state at seqnoTo) is a no-op success", () => {
      const a = base()
      const [, b] = commit(a, registerLeasedReader("h", readerId(2), "p", 1_000, 0, false))
      const d = fromDiff(a, b)
      expect(right(applyDiff(b, d))).toBe(b)
    })

    it("applyDiff - a diff for another seqno is an error", () => {
      const a = base()
      const [, b] = commit(a, registerLeasedReader("h", readerId(2), "p", 1_000, 0, false))
      const [, c] = commit(b, registerLeasedReader("h", readerId(3), "p", 1_000, 0, false))
      expect(left(applyDiff(a, fromDiff(b, c)))).toContain("seqno")
      expect(left(applyDiff(c, fromDiff(a, b)))).toContain("seqno")
    })

    it("applyDiff - an Insert of an existing key is an error", () => {
      const a = base()
      const d: StateDiff = { ...fromDiff(a, next(a, () => ({}))), writers: [{ key: writerId(1), val: { _tag: "Insert", to: writerState(5) } }] }
      expect(left(applyDiff(a, d))).toContain("insert of existing key")
      const r: StateDiff = { ...fromDiff(a, next(a, () => ({}))), rollups: [{ key: SeqNo(8), val: { _tag: "Insert", to: hollowRollup(8) } }] }
      expect(left(applyDiff(a, r))).toContain("rollups")
    })

    it("applyDiff - an Update or Delete whose from does not match is an error", () => {
      const a = base()
      const empty = fromDiff(a, next(a, () => ({})))
      const wrongFrom: StateDiff = { ...empty, writers: [{ key: writerId(1), val: { _tag: "Update", from: writerState(99), to: writerState(100) } }] }
      expect(left(applyDiff(a, wrongFrom))).toContain("does not match")
      const missing: StateDiff = { ...empty, writers: [{ key: writerId(7), val: { _tag: "Update", from: writerState(), to: writerState(1) } }] }
      expect(Either.isLeft(applyDiff(a, missing))).toBe(true)
      const badDelete: StateDiff = { ...empty, leasedReaders: [{ key: readerId(1), val: { _tag: "Delete", from: leased(1, 0) } }] }
      expect(left(applyDiff(a, badDelete))).toContain("delete")
      const badSingle: StateDiff = { ...empty, lastGcReq: [{ key: null, val: { _tag: "Update", from: SeqNo(3), to: SeqNo(4) } }] }
      expect(left(applyDiff(a, badSingle))).toContain("last_gc_req")
      const insertSingle: StateDiff = { ...empty, since: [{ key: null, val: { _tag: "Insert", to: Antichain.from(3) } }] }
      expect(left(applyDiff(a, insertSingle))).toContain("since")
      const badActive: StateDiff = { ...empty, activeGc: [{ key: null, val: { _tag: "Delete", from: { seqno: SeqNo(1), startMs: 0 } } }] }
      expect(left(applyDiff(a, badActive))).toContain("active_gc")
      // The input state is never modified by a failed application.
      expect(deepEqual(a, base())).toBe(true)
    })

    it("applyDiff - spine insert and delete rebuild the time order", () => {
      const a = base()
      const empty = fromDiff(a, next(a, () => ({})))
      const [b03, b35] = a.collections.trace.batches as [HollowBatch, HollowBatch]
      const merged = batch(0, 5, { len: 2 })
      const d: StateDiff = {
        ...empty,
        spine: [
          { key: batch(5, 8), val: { _tag: "Insert", to: null } },
          { key: b35, val: { _tag: "Delete", from: null } },
          { key: merged, val: { _tag: "Insert", to: null } },
          { key: b03, val: { _tag: "Delete", from: null } }
        ]
      }
      const s = right(applyDiff(a, d))
      expect(s.collections.trace.batches.map((b) => [b.desc.lower[0], b.desc.upper[0], b.len])).toEqual([
        [0, 5, 2],
        [5, 8, 1]
      ])
    })

    it("applyDiff - spine errors: existing insert, missing delete, update, and non-contiguous result", () => {
      const a = base()
      const empty = fromDiff(a, next(a, () => ({})))
      const [b03] = a.collections.trace.batches as [HollowBatch]
      expect(left(applyDiff(a, { ...empty, spine: [{ key: batch(0, 3), val: { _tag: "Insert", to: null } }] }))).toContain("existing batch")
      expect(left(applyDiff(a, { ...empty, spine: [{ key: batch(9, 10), val: { _tag: "Delete", from: null } }] }))).toContain("missing batch")
      expect(left(applyDiff(a, { ...empty, spine: [{ key: b03, val: { _tag: "Update", from: null, to: null } }] }))).toContain("only inserted or deleted")
      expect(left(applyDiff(a, { ...empty, spine: [{ key: batch(6, 8), val: { _tag: "Insert", to: null } }] }))).toContain("contiguous")
      // Removing a middle batch leaves a hole.
      const three = makeState({ seqno: 4, batches: [batch(0, 3), batch(3, 5), batch(5, 8)] })
      const e3 = fromDiff(three, next(three, () => ({})))
      expect(left(applyDiff(three, { ...e3, spine: [{ key: batch(3, 5), val: { _tag: "Delete", from: null } }] }))).toBe("spine: batches are not contiguous")
      // Removing the first one is fine (what remains still tiles time).
      expect(right(applyDiff(a, { ...empty, spine: [{ key: b03, val: { _tag: "Delete", from: null } }] })).collections.trace.batches.length).toBe(1)
    })
  })

  describe("mapBlobInserts / mapBlobDeletes", () => {
    const hollow = batch(10, 12, { parts: [hollowPart(2, 10)] })
    const inline = batch(12, 14, { parts: [inlinePart("x")] })
    const gone = batch(0, 10)
    const r5: HollowRollup = hollowRollup(5)
    const r5b: HollowRollup = hollowRollup(5, 55)
    const diff: StateDiff = {
      ...fromDiff(base(), next(base(), () => ({}))),
      rollups: [
        { key: SeqNo(1), val: { _tag: "Delete", from: hollowRollup(1) } },
        { key: SeqNo(5), val: { _tag: "Update", from: r5, to: r5b } },
        { key: SeqNo(9), val: { _tag: "Insert", to: hollowRollup(9) } }
      ],
      spine: [
        { key: gone, val: { _tag: "Delete", from: null } },
        { key: hollow, val: { _tag: "Insert", to: null } },
        { key: inline, val: { _tag: "Insert", to: null } }
      ]
    }
    const collect = (f: typeof mapBlobInserts): Array<string> => {
      const out: Array<string> = []
      f(diff, (ref) => out.push(ref._tag === "Batch" ? `batch ${ref.batch.desc.lower[0]}` : `rollup ${ref.rollup.key}`))
      return out
    }

    it("mapBlobInserts - inserted batches, inserted and updated-to rollups", () => {
      expect(collect(mapBlobInserts)).toEqual(["batch 10", "batch 12", `rollup ${rollupKey(5, 55)}`, `rollup ${rollupKey(9)}`])
    })

    it("mapBlobDeletes - deleted batches, deleted and updated-from rollups", () => {
      expect(collect(mapBlobDeletes)).toEqual(["batch 0", `rollup ${rollupKey(1)}`, `rollup ${rollupKey(5)}`])
    })

    it("mapBlobInserts - a diff without blob changes reports nothing", () => {
      const a = makeState({ seqno: 3, criticalReaders: [[criticalId(1), critical(0)]] })
      const d = fromDiff(a, next(a, () => ({ criticalReaders: new Map() })))
      const seen: Array<unknown> = []
      mapBlobInserts(d, (r) => seen.push(r))
      mapBlobDeletes(d, (r) => seen.push(r))
      expect(seen).toEqual([])
    })
  })
})
