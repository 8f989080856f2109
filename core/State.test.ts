import { describe, expect, it } from "@effect/vitest"
import { Antichain } from "./Antichain.ts"
import { PersistPanic } from "./Panic.ts"
import { SeqNo } from "./SeqNo.ts"
import {
  blobs,
  Break,
  classicGcThreshold,
  cloneApply,
  Continue,
  emptyState,
  expireAt,
  type GcConfig,
  isTombstone,
  latestRollup,
  maybeGc,
  needRollup,
  NoOp,
  referencedBlobKeys,
  type RollupNeedConfig,
  rollupsLteSeqno,
  seqnosHeld,
  seqnoSince,
  type State,
  thaw,
  traceUpper
} from "./State.ts"
import {
  batch,
  critical,
  criticalId,
  hollowPart,
  inlinePart,
  leased,
  makeState,
  readerId,
  rollupKey,
  shard,
  tombstoneState,
  uuid,
  writerId,
  writerState
} from "./testing/Fixtures.ts"

const classic: RollupNeedConfig = { threshold: 3, useActiveRollup: false, fallbackThresholdMs: 5_000, fallbackMultiplier: 3 }
const active: RollupNeedConfig = { ...classic, useActiveRollup: true }
const gcClassic: GcConfig = { useActiveGc: false, fallbackThresholdMs: 900_000, minVersions: 32, maxVersions: 128_000 }
const gcActive: GcConfig = { useActiveGc: true, fallbackThresholdMs: 1_000, minVersions: 10, maxVersions: 128_000 }

/** A live shard (a writer, an open upper) at `seqno` whose latest rollup is at 5. */
const at = (seqno: number, extra: Partial<Parameters<typeof makeState>[0]> = {}): State =>
  makeState({ seqno, rollups: [1, 5], batches: [batch(0, 10)], writers: [[writerId(1), writerState()]], ...extra })

describe("State", () => {
  describe("needRollup", () => {
    it("needRollup - classic mode: every threshold seqnos after the latest rollup", () => {
      expect(needRollup(at(5), classic, 0)).toBeNull()
      expect(needRollup(at(6), classic, 0)).toBeNull()
      expect(needRollup(at(7), classic, 0)).toBeNull()
      expect(needRollup(at(8), classic, 0)).toBe(8)
      expect(needRollup(at(9), classic, 0)).toBeNull()
      expect(needRollup(at(10), classic, 0)).toBeNull()
      expect(needRollup(at(11), classic, 0)).toBe(11)
      expect(needRollup(at(12), classic, 0)).toBeNull()
      expect(needRollup(at(13), classic, 0)).toBeNull()
      expect(needRollup(at(14), classic, 0)).toBe(14)
    })

    it("needRollup - classic mode: every seqno past threshold × multiplier", () => {
      // Rollup at 5, threshold 3 × 3 = 9: from seqno 15 (n = 10) on, every version asks.
      for (const s of [15, 16, 17, 19, 40]) expect(needRollup(at(s), classic, 0)).toBe(s)
      expect(needRollup(at(16), { ...classic, fallbackMultiplier: 4 }, 0)).toBeNull()
    })

    it("needRollup - classic mode ignores an active rollup claim", () => {
      expect(needRollup(at(8, { activeRollup: { seqno: SeqNo(8), startMs: 100 } }), classic, 100)).toBe(8)
    })

    it("needRollup - active mode: once more than threshold seqnos have passed", () => {
      expect(needRollup(at(8), active, 0)).toBeNull()
      expect(needRollup(at(9), active, 0)).toBe(9)
      expect(needRollup(at(10), active, 0)).toBe(10)
      expect(needRollup(at(11), active, 0)).toBe(11)
    })

    it("needRollup - active mode: a fresh active rollup suppresses until fallbackThresholdMs passes", () => {
      const now = 10_000
      const s = at(9, { activeRollup: { seqno: SeqNo(9), startMs: now } })
      expect(needRollup(s, active, now)).toBeNull()
      expect(needRollup(s, active, now + 5_000)).toBeNull()
      expect(needRollup(s, active, now + 5_001)).toBe(9)
      // A clock behind the claim does not count as time passing.
      expect(needRollup(s, active, now - 100_000)).toBeNull()
    })

    it("needRollup - the latest rollup is the numerically largest seqno", () => {
      // With string order v5 > v10; with numeric order the latest is 10 and n = 3.
      const s = makeState({ seqno: 13, rollups: [5, 10], batches: [batch(0, 1)], writers: [[writerId(1), writerState()]] })
      expect(needRollup(s, classic, 0)).toBe(13)
      expect(needRollup(makeState({ seqno: 12, rollups: [5, 10] }), classic, 0)).toBeNull()
    })

    it("needRollup - a tombstone asks for one final rollup while latest + 1 < seqno", () => {
      expect(needRollup(tombstoneState(7, [1, 5]), active, 0)).toBe(7)
      expect(needRollup(tombstoneState(7, [1, 5]), classic, 0)).toBe(7)
      // A rollup at X linked at X+1: two live diffs is the minimum and must not trigger again.
      expect(needRollup(tombstoneState(6, [1, 5]), active, 0)).toBeNull()
      expect(needRollup(tombstoneState(6, [1, 5]), classic, 0)).toBeNull()
      expect(needRollup(tombstoneState(5, [1, 5]), classic, 0)).toBeNull()
      // Even with a fresh active rollup claim.
      const claimed = { ...tombstoneState(7, [1, 5]) }
      const c = { ...claimed.collections, activeRollup: { seqno: SeqNo(7), startMs: 0 } }
      expect(needRollup({ ...claimed, collections: c }, active, 0)).toBe(7)
    })

    it("needRollup - panics on a state without rollups", () => {
      expect(() => needRollup(makeState({ seqno: 3, rollups: [] }), classic, 0)).toThrow(PersistPanic)
    })
  })

  describe("maybeGc", () => {
    const w = writerId(1)
    it("classicGcThreshold - max(1, log2(next_power_of_two(seqno)))", () => {
      expect([0, 1, 2, 3, 4, 5, 8, 9, 100, 128, 129, 1024, 1025].map(classicGcThreshold)).toEqual([1, 1, 1, 2, 2, 3, 3, 4, 7, 7, 8, 10, 11])
    })

    it("maybeGc - classic: a writer is preferred, so a non-write is not assigned GC", () => {
      const c = thaw(makeState({ seqno: 100, writers: [[w, writerState()]] }).collections)
      expect(maybeGc(shard, SeqNo(100), c, false, 0, gcClassic)).toBeNull()
      expect(c.lastGcReq).toBe(0)
    })

    it("maybeGc - classic: a write is assigned GC up to seqno_since and records it", () => {
      const c = thaw(makeState({ seqno: 100, writers: [[w, writerState()]] }).collections)
      expect(maybeGc(shard, SeqNo(100), c, true, 0, gcClassic)).toEqual({ shardId: shard, newSeqnoSince: 100 })
      expect(c.lastGcReq).toBe(100)
      // Immediately after, there is nothing new to collect.
      expect(maybeGc(shard, SeqNo(101), c, true, 0, gcClassic)).toBeNull()
      expect(c.lastGcReq).toBe(100)
    })

    it("maybeGc - classic: after the writer expires a non-write triggers too", () => {
      const c = thaw(makeState({ seqno: 100, writers: [[w, writerState(0, 1_000)]] }).collections)
      expect(expireAt(c, 5_000)).toEqual({ readersExpired: 0, writersExpired: 1 })
      expect(maybeGc(shard, SeqNo(100), c, false, 5_000, gcClassic)).toEqual({ shardId: shard, newSeqnoSince: 100 })
      expect(c.lastGcReq).toBe(100)
    })

    it("maybeGc - classic: below the threshold nothing is assigned", () => {
      // seqno 100: threshold 7. lastGcReq 94 → 6 versions.
      const c = thaw(makeState({ seqno: 100, lastGcReq: 94 }).collections)
      expect(maybeGc(shard, SeqNo(100), c, true, 0, gcClassic)).toBeNull()
      c.lastGcReq = SeqNo(93)
      expect(maybeGc(shard, SeqNo(100), c, true, 0, gcClassic)).toEqual({ shardId: shard, newSeqnoSince: 100 })
    })

    it("maybeGc - a leased reader's seqno hold bounds the request", () => {
      const c = thaw(makeState({ seqno: 100, leasedReaders: [[readerId(1), leased(60, 0)]] }).collections)
      expect(maybeGc(shard, SeqNo(100), c, true, 0, gcClassic)).toEqual({ shardId: shard, newSeqnoSince: 60 })
      expect(c.lastGcReq).toBe(60)
      // The hold has not moved: 0 new versions to collect.
      expect(maybeGc(shard, SeqNo(120), c, true, 0, gcClassic)).toBeNull()
    })

    it("maybeGc - max versions caps one request (last_gc_req 400, seqno 10000, max 500 → 900)", () => {
      const c = thaw(makeState({ seqno: 10_000, lastGcReq: 400 }).collections)
      expect(maybeGc(shard, SeqNo(10_000), c, true, 0, { ...gcClassic, maxVersions: 500 })).toEqual({ shardId: shard, newSeqnoSince: 900 })
      expect(c.lastGcReq).toBe(900)
    })

    it("maybeGc - a tombstone is always assigned GC", () => {
      const c = thaw(tombstoneState(50).collections)
      c.lastGcReq = SeqNo(50)
      expect(maybeGc(shard, SeqNo(50), c, false, 0, gcClassic)).toEqual({ shardId: shard, newSeqnoSince: 50 })
    })

    it("maybeGc - active mode: min_versions threshold and an active_gc claim", () => {
      const c = thaw(makeState({ seqno: 20, lastGcReq: 11 }).collections)
      expect(maybeGc(shard, SeqNo(20), c, true, 5_000, gcActive)).toBeNull()
      c.lastGcReq = SeqNo(10)
      expect(maybeGc(shard, SeqNo(20), c, true, 5_000, gcActive)).toEqual({ shardId: shard, newSeqnoSince: 20 })
      expect(c.activeGc).toEqual({ seqno: 20, startMs: 5_000 })
      // A fresh claim blocks even a due request...
      c.lastGcReq = SeqNo(0)
      expect(maybeGc(shard, SeqNo(30), c, true, 5_500, gcActive)).toBeNull()
      // ...until it is older than the fallback threshold.
      expect(maybeGc(shard, SeqNo(30), c, true, 6_001, gcActive)).toEqual({ shardId: shard, newSeqnoSince: 30 })
      expect(c.activeGc).toEqual({ seqno: 30, startMs: 6_001 })
    })

    it("maybeGc - active mode: a stale claim re-assigns GC below the threshold", () => {
      const c = thaw(makeState({ seqno: 20, lastGcReq: 18, activeGc: { seqno: SeqNo(18), startMs: 0 } }).collections)
      expect(maybeGc(shard, SeqNo(20), c, true, 1_000, gcActive)).toBeNull()
      expect(maybeGc(shard, SeqNo(20), c, true, 1_001, gcActive)).toEqual({ shardId: shard, newSeqnoSince: 20 })
    })

    it("maybeGc - the decision is written into the draft cloneApply commits", () => {
      const state = makeState({ seqno: 99, writers: [[w, writerState()]] })
      const res = cloneApply(state, { hostname: "h", nowMs: 0 }, (seqno, c) => Continue(maybeGc(shard, seqno, c, true, 0, gcClassic)))
      expect(res._tag).toBe("Continue")
      if (res._tag !== "Continue") return
      const [req, next] = res.value
      expect(req).toEqual({ shardId: shard, newSeqnoSince: 100 })
      expect(next.collections.lastGcReq).toBe(100)
      expect(state.collections.lastGcReq).toBe(0)
    })
  })

  describe("cloneApply", () => {
    it("cloneApply - bumps the seqno, sets hostname and takes the clock's walltime", () => {
      const state = makeState({ seqno: 4, walltimeMs: 1_000, hostname: "old" })
      const res = cloneApply(state, { hostname: "new", nowMs: 2_000 }, (seqno) => Continue(seqno))
      expect(res._tag).toBe("Continue")
      if (res._tag !== "Continue") return
      const [seen, next] = res.value
      expect(seen).toBe(5)
      expect(next.seqno).toBe(5)
      expect(next.walltimeMs).toBe(2_000)
      expect(next.hostname).toBe("new")
      expect(next.applierVersion).toBe(state.applierVersion)
    })

    it("cloneApply - walltime strictly increases even when the clock is behind", () => {
      const state = makeState({ seqno: 4, walltimeMs: 1_000 })
      for (const now of [0, 999, 1_000]) {
        const res = cloneApply(state, { hostname: "h", nowMs: now }, () => Continue(null))
        expect(res._tag === "Continue" && res.value[1].walltimeMs).toBe(1_001)
      }
    })

    it("cloneApply - a Break discards the draft and leaves the input untouched", () => {
      const state = makeState({ seqno: 4, writers: [[writerId(1), writerState()]] })
      const res = cloneApply(state, { hostname: "h", nowMs: 0 }, (_s, c) => {
        c.writers.clear()
        c.rollups.clear()
        c.trace.batches.push(batch(0, 1))
        return Break(NoOp("nope"))
      })
      expect(res).toEqual({ _tag: "Break", value: { noop: "nope" } })
      expect(state.collections.writers.size).toBe(1)
      expect(state.collections.rollups.size).toBe(1)
      expect(state.collections.trace.batches).toEqual([])
    })

    it("cloneApply - mutating the draft never changes the previous state", () => {
      const state = makeState({ seqno: 4, writers: [[writerId(1), writerState()]], batches: [batch(0, 2)] })
      const res = cloneApply(state, { hostname: "h", nowMs: 0 }, (_s, c) => {
        c.writers.delete(writerId(1))
        c.trace.batches.push(batch(2, 3))
        c.trace.since = Antichain.from(1)
        c.lastGcReq = SeqNo(3)
        return Continue(null)
      })
      expect(res._tag === "Continue" && res.value[1].collections.writers.size).toBe(0)
      expect(state.collections.writers.size).toBe(1)
      expect(state.collections.trace.batches.length).toBe(1)
      expect(state.collections.trace.since).toEqual([0])
      expect(state.collections.lastGcReq).toBe(0)
    })
  })

  describe("queries", () => {
    it("seqnoSince - the smallest leased reader hold, or the seqno; critical readers hold nothing", () => {
      expect(seqnoSince(makeState({ seqno: 10 }))).toBe(10)
      const s = makeState({
        seqno: 10,
        leasedReaders: [
          [readerId(1), leased(7, 0)],
          [readerId(2), leased(4, 0)]
        ],
        criticalReaders: [[criticalId(1), critical(0)]]
      })
      expect(seqnoSince(s)).toBe(4)
      expect(seqnosHeld(s)).toBe(6)
      expect(seqnoSince(makeState({ seqno: 10, criticalReaders: [[criticalId(1), critical(0)]] }))).toBe(10)
    })

    it("latestRollup - the largest seqno; panics without rollups", () => {
      expect(latestRollup(makeState({ seqno: 30, rollups: [3, 20, 9] }))[0]).toBe(20)
      expect(() => latestRollup(makeState({ seqno: 3, rollups: [] }))).toThrow(PersistPanic)
      expect(() => latestRollup(emptyState("0.1.0", shard, "h", 0))).toThrow(PersistPanic)
    })

    it("emptyState - seqno 0, minimum since and upper, no rollups", () => {
      const s = emptyState("0.1.0", shard, "h", 7)
      expect(s.seqno).toBe(0)
      expect(s.walltimeMs).toBe(7)
      expect(s.collections.rollups.size).toBe(0)
      expect(s.collections.trace.since).toEqual(Antichain.minimum)
      expect(traceUpper(s.collections.trace)).toEqual(Antichain.minimum)
      expect(isTombstone(s.collections)).toBe(false)
    })

    it("isTombstone - needs empty upper and since and no handles", () => {
      expect(isTombstone(tombstoneState(3).collections)).toBe(true)
      const t = tombstoneState(3)
      expect(isTombstone({ ...t.collections, writers: new Map([[writerId(1), writerState()]]) })).toBe(false)
      expect(isTombstone({ ...t.collections, leasedReaders: new Map([[readerId(1), leased(1, null)]]) })).toBe(false)
      expect(isTombstone({ ...t.collections, criticalReaders: new Map([[criticalId(1), critical(null)]]) })).toBe(false)
      expect(isTombstone({ ...t.collections, trace: { ...t.collections.trace, since: Antichain.from(3) } })).toBe(false)
      expect(isTombstone(makeState({ seqno: 3, since: Antichain.empty, batches: [batch(0, 5)] }).collections)).toBe(false)
    })

    it("blobs - every batch then every rollup in seqno order; referencedBlobKeys skips inline parts", () => {
      const b1 = batch(0, 2, { parts: [hollowPart(1, 1), inlinePart("x")] })
      const b2 = batch(2, 4, { parts: [inlinePart("y", Antichain.from(3))] })
      const s = makeState({ seqno: 12, rollups: [10, 9], batches: [b1, b2] })
      expect([...blobs(s)].map((r) => (r._tag === "Batch" ? r.batch.desc.lower[0] : r.rollup.key))).toEqual([0, 2, rollupKey(9), rollupKey(10)])
      expect(referencedBlobKeys(s).sort()).toEqual(
        [`${shard}/w${uuid(101)}/p${uuid(501)}`, `${shard}/${rollupKey(9)}`, `${shard}/${rollupKey(10)}`].sort()
      )
    })

    it("rollupsLteSeqno - ascending rollups at or below the seqno", () => {
      const s = makeState({ seqno: 30, rollups: [20, 1, 10] })
      expect(rollupsLteSeqno(s, SeqNo(10)).map(([x]) => x)).toEqual([1, 10])
      expect(rollupsLteSeqno(s, SeqNo(0))).toEqual([])
    })
  })

  describe("expireAt", () => {
    it("expireAt - drops readers and writers whose lease ran out, strictly", () => {
      const s = makeState({
        seqno: 10,
        since: Antichain.from(3),
        leasedReaders: [
          [readerId(1), leased(5, 3, 100, 50)],
          [readerId(2), leased(6, 4, 200, 50)]
        ],
        criticalReaders: [[criticalId(1), critical(3)]],
        writers: [
          [writerId(1), writerState(100, 50)],
          [writerId(2), writerState(120, 50)]
        ]
      })
      const c = thaw(s.collections)
      expect(expireAt(c, 150)).toEqual({ readersExpired: 0, writersExpired: 0 })
      expect(expireAt(c, 151)).toEqual({ readersExpired: 1, writersExpired: 1 })
      expect([...c.leasedReaders.keys()]).toEqual([readerId(2)])
      expect([...c.writers.keys()]).toEqual([writerId(2)])
      // Critical readers never expire; the since is not recomputed.
      expect(expireAt(c, 1_000_000)).toEqual({ readersExpired: 1, writersExpired: 1 })
      expect(c.criticalReaders.size).toBe(1)
      expect(c.trace.since).toEqual([3])
      // The seqno hold goes with the reader.
      expect(seqnoSince({ ...s, collections: c })).toBe(10)
    })
  })
})
