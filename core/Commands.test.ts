import { describe, expect, it } from "@effect/vitest"
import { Antichain } from "./Antichain.ts"
import {
  addRollup,
  applyMergeRes,
  becomeTombstoneAndShrink,
  compareAndAppend,
  compareAndDowngradeSince,
  downgradeSince,
  expireCriticalReader,
  expireLeasedReader,
  expireWriter,
  heartbeatLeasedReader,
  heartbeatWriter,
  MERGE_BATCH_COUNT,
  registerCriticalReader,
  registerLeasedReader,
  removeRollups
} from "./Commands.ts"
import { PersistPanic } from "./Panic.ts"
import { SeqNo } from "./SeqNo.ts"
import { type HollowBatch, isTombstone, seqnoSince, type State, traceUpper } from "./State.ts"
import {
  batch,
  broke,
  commit,
  continued,
  critical,
  criticalId,
  debug,
  hollowRollup,
  leased,
  makeState,
  readerId,
  rollupKey,
  runCmd,
  token,
  tombstoneState,
  writerId,
  writerState
} from "./testing/Fixtures.ts"

const W = writerId(1)
const R = readerId(1)
const C = criticalId(1)

/** A live shard at seqno 10 with upper [5] (batches [0,3) and [3,5)). */
const live = (extra: Partial<Parameters<typeof makeState>[0]> = {}): State =>
  makeState({ seqno: 10, rollups: [1, 8], batches: [batch(0, 3), batch(3, 5)], ...extra })

const append = (lower: number, upper: number | null, tok = token(1), len = 1, now = 500) =>
  compareAndAppend(batch(lower, upper, { len }), W, now, 1_000, tok, debug)

describe("Commands", () => {
  describe("registerLeasedReader", () => {
    it("registerLeasedReader - inserts a reader holding the new seqno at the trace since", () => {
      const s = live({ since: Antichain.from(2), leasedReaders: [[readerId(2), leased(7, 2)]] })
      const [[reader, since], next] = commit(s, registerLeasedReader("h", R, "p", 1_000, 42, false))
      expect(reader).toEqual({ seqno: 11, since: [2], lastHeartbeatTimestampMs: 42, leaseDurationMs: 1_000, debug: { hostname: "h", purpose: "p" } })
      expect(since).toBe(7)
      expect(next.collections.leasedReaders.get(R)).toEqual(reader)
      expect(seqnoSince(next)).toBe(7)
    })

    it("registerLeasedReader - the returned seqno_since is the new seqno without other readers", () => {
      const [[reader, since]] = commit(live(), registerLeasedReader("h", R, "p", 1_000, 0, false))
      expect(reader.seqno).toBe(11)
      expect(since).toBe(11)
    })

    it("registerLeasedReader - uses the critical since when asked and one exists", () => {
      const s = live({ since: Antichain.from(2), criticalReaders: [[C, critical(4)], [criticalId(2), critical(6)]] })
      expect(continued(runCmd(s, registerLeasedReader("h", R, "p", 1_000, 0, true)).res)[0].since).toEqual([4])
      expect(continued(runCmd(s, registerLeasedReader("h", R, "p", 1_000, 0, false)).res)[0].since).toEqual([2])
      // Without critical readers it falls back to the trace since.
      expect(continued(runCmd(live({ since: Antichain.from(2) }), registerLeasedReader("h", R, "p", 1_000, 0, true)).res)[0].since).toEqual([2])
    })

    it("registerLeasedReader - overwrites an existing reader", () => {
      const s = live({ leasedReaders: [[R, leased(3, 0, 1)]] })
      const { c } = runCmd(s, registerLeasedReader("h", R, "p", 2_000, 9, false))
      expect(c.leasedReaders.get(R)?.seqno).toBe(11)
      expect(c.leasedReaders.get(R)?.leaseDurationMs).toBe(2_000)
    })

    it("registerLeasedReader - a no-op Break on a tombstone", () => {
      const { res, c } = runCmd(tombstoneState(10), registerLeasedReader("h", R, "p", 1_000, 0, false))
      const b = broke(res)
      expect(b.noop[0].seqno).toBe(11)
      expect(b.noop[1]).toBe(11)
      expect(c.leasedReaders.size).toBe(0)
    })
  })

  describe("registerCriticalReader", () => {
    it("registerCriticalReader - inserts at the trace since, refreshes an existing reader's debug only", () => {
      const s = live({ since: Antichain.from(3) })
      const [fresh, next] = commit(s, registerCriticalReader("h", C, "p", "o0", "u64"))
      expect(fresh).toEqual({ since: [3], opaque: "o0", opaqueCodec: "u64", debug: { hostname: "h", purpose: "p" } })
      const moved = { ...next, collections: { ...next.collections, criticalReaders: new Map([[C, critical(4, "o7")]]) } }
      const [refreshed] = commit(moved, registerCriticalReader("h2", C, "p2", "o0", "u64"))
      expect(refreshed).toEqual({ ...critical(4, "o7"), debug: { hostname: "h2", purpose: "p2" } })
      expect(broke(runCmd(tombstoneState(3), registerCriticalReader("h", C, "p", "o0", "u64")).res).noop.since).toEqual([])
    })
  })

  describe("downgradeSince", () => {
    it("downgradeSince - a missing (expired) reader is a Break with the empty since", () => {
      const { res, c } = runCmd(live(), downgradeSince(R, null, Antichain.from(3), 0))
      expect(broke(res).noop).toEqual(Antichain.empty)
      expect(c.leasedReaders.size).toBe(0)
    })

    it("downgradeSince - a Break with the empty since on a tombstone", () => {
      expect(broke(runCmd(tombstoneState(10), downgradeSince(R, null, Antichain.from(3), 0)).res).noop).toEqual(Antichain.empty)
    })

    it("downgradeSince - advances the since, moves the hold to the new seqno and heartbeats", () => {
      const s = live({ leasedReaders: [[R, leased(4, 1, 100)]], since: Antichain.from(1) })
      const [since, next] = commit(s, downgradeSince(R, null, Antichain.from(3), 50))
      expect(since).toEqual([3])
      const r = next.collections.leasedReaders.get(R)!
      expect(r.since).toEqual([3])
      expect(r.seqno).toBe(11)
      expect(r.lastHeartbeatTimestampMs).toBe(100) // max(old, now)
      expect(next.collections.trace.since).toEqual([3])
      const [, later] = commit(next, downgradeSince(R, null, Antichain.from(3), 900))
      expect(later.collections.leasedReaders.get(R)!.lastHeartbeatTimestampMs).toBe(900)
    })

    it("downgradeSince - the since only advances; a regression keeps the old since but still moves the hold", () => {
      const s = live({ leasedReaders: [[R, leased(4, 5)]], since: Antichain.from(5) })
      const { res, c } = runCmd(s, downgradeSince(R, null, Antichain.from(2), 0))
      expect(continued(res)).toEqual([5])
      expect(c.leasedReaders.get(R)!.since).toEqual([5])
      expect(c.leasedReaders.get(R)!.seqno).toBe(11)
      expect(c.trace.since).toEqual([5])
    })

    it("downgradeSince - the trace since is the meet of every reader's since", () => {
      const s = live({
        since: Antichain.from(1),
        leasedReaders: [
          [R, leased(4, 1)],
          [readerId(2), leased(4, 6)]
        ],
        criticalReaders: [[C, critical(4)]]
      })
      const { c } = runCmd(s, downgradeSince(R, null, Antichain.from(9), 0))
      expect(c.trace.since).toEqual([4])
    })

    it("downgradeSince - an outstanding seqno holds at min(outstanding, new seqno)", () => {
      const s = live({ leasedReaders: [[R, leased(4, 1)]] })
      expect(runCmd(s, downgradeSince(R, SeqNo(7), Antichain.from(2), 0)).c.leasedReaders.get(R)!.seqno).toBe(7)
      expect(runCmd(s, downgradeSince(R, SeqNo(4), Antichain.from(2), 0)).c.leasedReaders.get(R)!.seqno).toBe(4)
      expect(runCmd(s, downgradeSince(R, SeqNo(50), Antichain.from(2), 0)).c.leasedReaders.get(R)!.seqno).toBe(11)
    })

    it("downgradeSince - an outstanding seqno behind the reader's hold panics", () => {
      const s = live({ leasedReaders: [[R, leased(4, 1)]] })
      expect(() => runCmd(s, downgradeSince(R, SeqNo(3), Antichain.from(2), 0))).toThrow(PersistPanic)
    })
  })

  describe("compareAndDowngradeSince", () => {
    it("compareAndDowngradeSince - a matching opaque moves opaque and since", () => {
      const s = live({ since: Antichain.from(1), criticalReaders: [[C, critical(1, "a")]] })
      const { res, c } = runCmd(s, compareAndDowngradeSince(C, "a", "b", Antichain.from(4)))
      expect(continued(res)).toEqual({ ok: true, since: [4], opaque: "b" })
      expect(c.criticalReaders.get(C)).toMatchObject({ since: [4], opaque: "b" })
      expect(c.trace.since).toEqual([4])
    })

    it("compareAndDowngradeSince - a mismatch commits and reports the current value", () => {
      const s = live({ criticalReaders: [[C, critical(1, "a")]] })
      const { res, c } = runCmd(s, compareAndDowngradeSince(C, "x", "b", Antichain.from(4)))
      expect(continued(res)).toEqual({ ok: false, since: [1], opaque: "a" })
      expect(c.criticalReaders.get(C)).toEqual(critical(1, "a"))
    })

    it("compareAndDowngradeSince - an unknown reader panics; a tombstone Breaks", () => {
      expect(() => runCmd(live(), compareAndDowngradeSince(C, "a", "b", Antichain.from(4)))).toThrow(PersistPanic)
      expect(broke(runCmd(tombstoneState(3), compareAndDowngradeSince(C, "a", "b", Antichain.from(4))).res).noop.ok).toBe(true)
    })
  })

  describe("compareAndAppend", () => {
    it("compareAndAppend - InvalidBounds when upper < lower", () => {
      const { res } = runCmd(live(), append(5, 4))
      expect(broke(res)).toEqual({ _tag: "InvalidUsage", reason: "InvalidBounds" })
    })

    it("compareAndAppend - InvalidEmptyTimeInterval when upper == lower with updates", () => {
      expect(broke(runCmd(live(), append(5, 5, token(1), 3)).res)).toEqual({ _tag: "InvalidUsage", reason: "InvalidEmptyTimeInterval" })
    })

    it("compareAndAppend - an empty interval without updates commits without a batch", () => {
      const [reqs, next] = commit(live(), append(5, 5, token(1), 0))
      expect(reqs).toEqual([])
      expect(next.collections.trace.batches.length).toBe(2)
      expect(next.collections.writers.get(W)?.mostRecentWriteToken).toBe(token(1))
    })

    it("compareAndAppend - Upper mismatch reports the shard and writer uppers", () => {
      const s = live({ writers: [[W, writerState(0, 1_000, token(9), Antichain.from(3))]] })
      expect(broke(runCmd(s, append(3, 7)).res)).toEqual({ _tag: "Upper", shardUpper: [5], writerUpper: [3] })
      expect(broke(runCmd(s, append(6, 7)).res)).toEqual({ _tag: "Upper", shardUpper: [5], writerUpper: [3] })
    })

    it("compareAndAppend - a new writer's Upper mismatch reports the minimum writer upper", () => {
      expect(broke(runCmd(live(), append(0, 7)).res)).toEqual({ _tag: "Upper", shardUpper: [5], writerUpper: [0] })
    })

    it("compareAndAppend - success appends, records token and upper, heartbeats and registers the writer", () => {
      const s = live({ writers: [[W, writerState(800, 1_000, token(9), Antichain.from(5))]] })
      const [reqs, next] = commit(s, append(5, 9, token(2), 1, 500))
      expect(reqs).toEqual([])
      expect(traceUpper(next.collections.trace)).toEqual([9])
      expect(next.collections.trace.batches.map((b) => [b.desc.lower[0], b.desc.upper[0]])).toEqual([
        [0, 3],
        [3, 5],
        [5, 9]
      ])
      expect(next.collections.writers.get(W)).toMatchObject({ mostRecentWriteToken: token(2), mostRecentWriteUpper: [9], lastHeartbeatTimestampMs: 800 })
      const [, fresh] = commit(live(), append(5, 9, token(2), 1, 500))
      expect(fresh.collections.writers.get(W)).toEqual({
        lastHeartbeatTimestampMs: 500,
        leaseDurationMs: 1_000,
        mostRecentWriteToken: token(2),
        mostRecentWriteUpper: [9],
        debug
      })
    })

    it("compareAndAppend - the same token again is AlreadyCommitted", () => {
      const [, next] = commit(live(), append(5, 9, token(2)))
      const { res } = runCmd(next, append(5, 9, token(2)))
      expect(broke(res)).toEqual({ _tag: "AlreadyCommitted" })
    })

    it("compareAndAppend - the same token with a different upper panics", () => {
      const [, next] = commit(live(), append(5, 9, token(2)))
      expect(() => runCmd(next, append(9, 12, token(2)))).toThrow(PersistPanic)
    })

    it("compareAndAppend - asks for a merge of all but the newest batch once there are MERGE_BATCH_COUNT batches", () => {
      let s = makeState({ seqno: 1, batches: [] })
      const reqs: Array<ReadonlyArray<unknown>> = []
      for (let i = 0; i < MERGE_BATCH_COUNT; i++) {
        const [r, next] = commit(s, append(i, i + 1, token(i + 1)))
        reqs.push(r)
        s = next
      }
      expect(reqs.slice(0, -1).every((r) => r.length === 0)).toBe(true)
      const last = reqs[reqs.length - 1] as ReadonlyArray<{ inputs: ReadonlyArray<HollowBatch> }>
      expect(last.length).toBe(1)
      expect(last[0]!.inputs.map((b) => b.desc.lower[0])).toEqual([...Array(MERGE_BATCH_COUNT - 1).keys()])
    })

    it("compareAndAppend - a tombstone Breaks with empty uppers", () => {
      const { res, c } = runCmd(tombstoneState(10), append(5, 9))
      expect(broke(res)).toEqual({ _tag: "Upper", shardUpper: [], writerUpper: [] })
      expect(c.writers.size).toBe(0)
    })
  })

  describe("applyMergeRes", () => {
    const merged = (lower: number, upper: number, since = 0): HollowBatch => batch(lower, upper, { len: 2, since: Antichain.from(since) })

    it("applyMergeRes - replaces an exactly matching run of batches", () => {
      const s = live({ batches: [batch(0, 3), batch(3, 5), batch(5, 8)] })
      const { res, c } = runCmd(s, applyMergeRes(s.collections.trace.batches.slice(0, 2), merged(0, 5)))
      expect(continued(res)).toBe("AppliedExact")
      expect(c.trace.batches.map((b) => [b.desc.lower[0], b.desc.upper[0], b.len])).toEqual([
        [0, 5, 2],
        [5, 8, 1]
      ])
    })

    it("applyMergeRes - matches by content, not object identity (inputs from a re-decoded state)", () => {
      const s = live({ batches: [batch(0, 3), batch(3, 5), batch(5, 8)] })
      // Structurally equal copies with a different key order, as a decode would produce.
      const reorder = (b: HollowBatch): HollowBatch => ({ parts: structuredClone(b.parts), len: b.len, desc: { since: b.desc.since, upper: [...b.desc.upper], lower: [...b.desc.lower] } })
      const copies = s.collections.trace.batches.slice(1, 3).map(reorder)
      const { res, c } = runCmd(s, applyMergeRes(copies, merged(3, 8)))
      expect(continued(res)).toBe("AppliedExact")
      expect(c.trace.batches.map((b) => [b.desc.lower[0], b.desc.upper[0]])).toEqual([
        [0, 3],
        [3, 8]
      ])
    })

    it("applyMergeRes - no match commits NotAppliedNoMatch and changes nothing", () => {
      const s = live({ batches: [batch(0, 3), batch(3, 5)] })
      for (const inputs of [[batch(0, 5)], [s.collections.trace.batches[1]!, s.collections.trace.batches[0]!], []]) {
        const { res, c } = runCmd(s, applyMergeRes(inputs, merged(0, 5)))
        expect(continued(res)).toBe("NotAppliedNoMatch")
        expect(c.trace.batches).toEqual(s.collections.trace.batches)
      }
    })

    it("applyMergeRes - an output since past the trace since is not applied", () => {
      const s = live({ since: Antichain.from(1) })
      const { res } = runCmd(s, applyMergeRes(s.collections.trace.batches, merged(0, 5, 2)))
      expect(continued(res)).toBe("NotAppliedInvalidSince")
    })

    it("applyMergeRes - a tombstone Breaks", () => {
      const t = tombstoneState(4)
      expect(broke(runCmd(t, applyMergeRes(t.collections.trace.batches, merged(0, 5))).res).noop).toBe("NotAppliedNoMatch")
    })
  })

  describe("rollups", () => {
    it("addRollup - inserts a new rollup, clears the active rollup, returns true", () => {
      const s = live({ activeRollup: { seqno: SeqNo(10), startMs: 5 } })
      const { res, c } = runCmd(s, addRollup(SeqNo(10), hollowRollup(10)))
      expect(continued(res)).toBe(true)
      expect(c.rollups.get(SeqNo(10))).toEqual(hollowRollup(10))
      expect(c.activeRollup).toBeNull()
    })

    it("addRollup - an existing rollup at that seqno: true iff same key, no change either way", () => {
      const s = live({ rollups: [1, 8], activeRollup: { seqno: SeqNo(10), startMs: 5 } })
      const same = runCmd(s, addRollup(SeqNo(8), hollowRollup(8, 8, 999)))
      expect(continued(same.res)).toBe(true)
      expect(same.c.rollups.get(SeqNo(8))).toEqual(hollowRollup(8))
      const other = runCmd(s, addRollup(SeqNo(8), hollowRollup(8, 77)))
      expect(continued(other.res)).toBe(false)
      expect(other.c.rollups.get(SeqNo(8))?.key).toBe(rollupKey(8))
      expect(other.c.activeRollup).toEqual({ seqno: 10, startMs: 5 })
    })

    it("addRollup - commits even on a tombstone", () => {
      const { res, c } = runCmd(tombstoneState(7, [1, 5]), addRollup(SeqNo(7), hollowRollup(7)))
      expect(continued(res)).toBe(true)
      expect([...c.rollups.keys()].sort((a, b) => a - b)).toEqual([1, 5, 7])
    })

    it("removeRollups - an empty list is a no-op Break", () => {
      expect(broke(runCmd(live(), removeRollups([])).res).noop).toEqual([])
    })

    it("removeRollups - removes listed rollups, reports only those present, ends the GC claim", () => {
      const s = live({ rollups: [1, 5, 8], activeGc: { seqno: SeqNo(9), startMs: 1 } })
      const { res, c } = runCmd(
        s,
        removeRollups([
          [SeqNo(1), rollupKey(1)],
          [SeqNo(3), rollupKey(3)],
          [SeqNo(5), rollupKey(5)]
        ])
      )
      expect(continued(res)).toEqual([1, 5])
      expect([...c.rollups.keys()]).toEqual([8])
      expect(c.activeGc).toBeNull()
      // Nothing present still commits.
      expect(continued(runCmd(s, removeRollups([[SeqNo(3), rollupKey(3)]])).res)).toEqual([])
    })

    it("removeRollups - a key mismatch panics; a tombstone Breaks", () => {
      expect(() => runCmd(live(), removeRollups([[SeqNo(8), rollupKey(8, 99)]]))).toThrow(PersistPanic)
      const t = runCmd(tombstoneState(9, [1, 5]), removeRollups([[SeqNo(1), rollupKey(1)]]))
      expect(broke(t.res).noop).toEqual([])
      expect(t.c.rollups.size).toBe(2)
    })
  })

  describe("heartbeats and expiry", () => {
    it("heartbeatLeasedReader - max(old, now) for a present reader, false for a missing one", () => {
      const s = live({ leasedReaders: [[R, leased(3, 0, 100)]] })
      const a = runCmd(s, heartbeatLeasedReader(R, 50))
      expect(continued(a.res)).toBe(true)
      expect(a.c.leasedReaders.get(R)!.lastHeartbeatTimestampMs).toBe(100)
      const b = runCmd(s, heartbeatLeasedReader(R, 150))
      expect(b.c.leasedReaders.get(R)!.lastHeartbeatTimestampMs).toBe(150)
      expect(continued(runCmd(s, heartbeatLeasedReader(readerId(2), 150)).res)).toBe(false)
      expect(broke(runCmd(tombstoneState(3), heartbeatLeasedReader(R, 1)).res).noop).toBe(false)
    })

    it("heartbeatWriter - max(old, now) for a present writer, false for a missing one", () => {
      const s = live({ writers: [[W, writerState(100)]] })
      const a = runCmd(s, heartbeatWriter(W, 300))
      expect(continued(a.res)).toBe(true)
      expect(a.c.writers.get(W)!.lastHeartbeatTimestampMs).toBe(300)
      expect(runCmd(s, heartbeatWriter(W, 10)).c.writers.get(W)!.lastHeartbeatTimestampMs).toBe(100)
      expect(continued(runCmd(s, heartbeatWriter(writerId(2), 1)).res)).toBe(false)
      expect(broke(runCmd(tombstoneState(3), heartbeatWriter(W, 1)).res).noop).toBe(false)
    })

    it("expireLeasedReader - removes the reader and reports whether it existed; the since is not recomputed", () => {
      const s = live({ since: Antichain.from(1), leasedReaders: [[R, leased(3, 1)], [readerId(2), leased(3, 6)]] })
      const a = runCmd(s, expireLeasedReader(R))
      expect(continued(a.res)).toBe(true)
      expect([...a.c.leasedReaders.keys()]).toEqual([readerId(2)])
      expect(a.c.trace.since).toEqual([1])
      expect(continued(runCmd(live(), expireLeasedReader(R)).res)).toBe(false)
      expect(broke(runCmd(tombstoneState(3), expireLeasedReader(R)).res).noop).toBe(false)
    })

    it("expireCriticalReader / expireWriter - remove and report", () => {
      const s = live({ criticalReaders: [[C, critical(0)]], writers: [[W, writerState()]] })
      const a = runCmd(s, expireCriticalReader(C))
      expect(continued(a.res)).toBe(true)
      expect(a.c.criticalReaders.size).toBe(0)
      expect(continued(runCmd(live(), expireCriticalReader(C)).res)).toBe(false)
      const b = runCmd(s, expireWriter(W))
      expect(continued(b.res)).toBe(true)
      expect(b.c.writers.size).toBe(0)
      expect(continued(runCmd(live(), expireWriter(W)).res)).toBe(false)
      expect(broke(runCmd(tombstoneState(3), expireWriter(W)).res).noop).toBe(false)
      expect(broke(runCmd(tombstoneState(3), expireCriticalReader(C)).res).noop).toBe(false)
    })
  })

  describe("becomeTombstoneAndShrink", () => {
    const finished = (extra: Partial<Parameters<typeof makeState>[0]> = {}): State =>
      makeState({
        seqno: 10,
        since: Antichain.empty,
        batches: [batch(0, 3), batch(3, null)],
        writers: [[W, writerState()]],
        leasedReaders: [[R, leased(3, null)]],
        criticalReaders: [[C, critical(null)]],
        ...extra
      })

    it("becomeTombstoneAndShrink - drops handles and collapses the batches into one empty batch", () => {
      const [r, next] = commit(finished(), becomeTombstoneAndShrink)
      expect(r).toBeNull()
      expect(isTombstone(next.collections)).toBe(true)
      expect(next.collections.trace.batches).toEqual([{ desc: { lower: [0], upper: [], since: [] }, len: 0, parts: [] }])
      // Nothing left to do: Break.
      expect(broke(runCmd(next, becomeTombstoneAndShrink).res).noop).toBeNull()
    })

    it("becomeTombstoneAndShrink - requires empty upper and since", () => {
      expect(() => runCmd(live(), becomeTombstoneAndShrink)).toThrow(PersistPanic)
      expect(() => runCmd(finished({ since: Antichain.from(3) }), becomeTombstoneAndShrink)).toThrow(PersistPanic)
    })
  })
})
