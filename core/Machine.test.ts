import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, TestClock } from "effect"
import { Antichain } from "./Antichain.ts"
import type { ShardHandle } from "./Client.ts"
import * as Cmd from "./Commands.ts"
import { gcAndTruncate } from "./Gc.ts"
import { LeasedReaderId, RollupId } from "./Ids.ts"
import { detectLeakedBlobs } from "./LeakedBlobs.ts"
import type { RoutineMaintenance } from "./Maintenance.ts"
import { Counter } from "./Metrics.ts"
import { panicOf } from "./Panic.ts"
import type { SeqNo } from "./SeqNo.ts"
import { latestRollup, seqnoSince } from "./State.ts"
import {
  appendOk,
  durableState,
  liveDiffs,
  missingBlobs,
  newStores,
  observer,
  open,
  openedProcess,
  rollupBlobKeys,
  rowSeqnos,
  seeded,
  startProcess,
  testShard,
  testWriter,
  type TestProc,
  uuid,
  writeAndAppend
} from "./testing/Processes.ts"

const nobody = LeasedReaderId.make(uuid(99))

/** A command that always commits a version and holds nothing: expiring a reader that does not exist. */
const tick = (h: ShardHandle): Effect.Effect<readonly [SeqNo, RoutineMaintenance]> =>
  Effect.map(h.machine.applyUnbatchedIdempotentCmd("expire_reader", Cmd.expireLeasedReader(nobody)), ([seqno, , m]) => [seqno, m] as const)

/** Ticks until the machine is at `seqno`, returning each committed seqno's maintenance. */
const tickTo = (h: ShardHandle, seqno: number) =>
  Effect.gen(function* () {
    const out: Array<readonly [SeqNo, RoutineMaintenance]> = []
    while (h.machine.seqno < seqno) out.push(yield* tick(h))
    return out
  })

/** The full Blob key of the rollup a process wrote last. */
const lastRollupSet = (p: TestProc): string | undefined =>
  p.script.calls
    .filter((c) => c.startsWith(`set ${testShard}/v`))
    .map((c) => c.slice(4))
    .at(-1)

/** The key of the rollup at `seqno` in `state`. */
const latestRollupKeyAt = (state: { collections: { rollups: ReadonlyMap<SeqNo, { key: string }> } }, seqno: number): string | undefined =>
  state.collections.rollups.get(seqno as SeqNo)?.key

/** How many Consensus diffs insert a rollup at `seqno`. */
const rollupInserts = (stores: ReturnType<typeof newStores>, seqno: number): number =>
  liveDiffs(stores).reduce((n, d) => n + d.rollups.filter((r) => r.key === seqno && r.val._tag === "Insert").length, 0)

describe("Applier.applyUnbatchedCmd maintenance (ALG-M)", () => {
  it.scoped("applyUnbatchedCmd - classic needRollup (threshold 3, rollup at 5): commands at 8, 11, 14 and every one from 15 assign a rollup", () =>
    seeded(
      Effect.gen(function* () {
        const p = yield* startProcess(newStores(), "p1", { rollupThreshold: 3, rollupUseActiveRollup: false })
        const h = yield* open(p)
        const first = yield* tickTo(h, 5)
        expect(first.map(([s, m]) => [s, m.writeRollup])).toEqual([
          [2, null],
          [3, null],
          [4, 4],
          [5, null]
        ])
        // Roll up seqno 5 (linked by the version at 6, which itself assigns nothing).
        const linked = yield* h.machine.addRollupForCurrentSeqno()
        expect(h.machine.seqno).toBe(6)
        expect(latestRollup(h.machine.state.state)[0]).toBe(5)
        expect(linked.writeRollup).toBeNull()
        const rest = yield* tickTo(h, 20)
        expect(rest.map(([s, m]) => [s, m.writeRollup])).toEqual([
          [7, null],
          [8, 8],
          [9, null],
          [10, null],
          [11, 11],
          [12, null],
          [13, null],
          [14, 14],
          [15, 15],
          [16, 16],
          [17, 17],
          [18, 18],
          [19, 19],
          [20, 20]
        ])
      })
    )
  )

  it.scoped("applyUnbatchedCmd - active needRollup (threshold 3, rollup at 5): 9 assigns and claims it, 10 does not, after the fallback 11 does", () =>
    seeded(
      Effect.gen(function* () {
        const p = yield* startProcess(newStores(), "p1", { rollupThreshold: 3, rollupUseActiveRollup: true, rollupFallbackThresholdMs: 5_000 })
        const h = yield* open(p)
        const first = yield* tickTo(h, 5)
        expect(first.map(([s, m]) => [s, m.writeRollup])).toEqual([
          [2, null],
          [3, null],
          [4, null],
          [5, 5]
        ])
        expect(h.machine.state.state.collections.activeRollup).toEqual({ seqno: 5, startMs: 0 })
        // Linking the rollup at 5 clears the claim.
        yield* h.machine.addRollupForCurrentSeqno()
        expect(h.machine.state.state.collections.activeRollup).toBeNull()
        const mid = yield* tickTo(h, 10)
        expect(mid.map(([s, m]) => [s, m.writeRollup])).toEqual([
          [7, null],
          [8, null],
          [9, 9],
          [10, null]
        ])
        expect(h.machine.state.state.collections.activeRollup).toEqual({ seqno: 9, startMs: 0 })
        yield* TestClock.adjust(5_001)
        const [s11, m11] = yield* tick(h)
        expect([s11, m11.writeRollup]).toEqual([11, 11])
        expect(h.machine.state.state.collections.activeRollup).toEqual({ seqno: 11, startMs: 5_001 })
        const [, m12] = yield* tick(h)
        expect(m12.writeRollup).toBeNull()
      })
    )
  )

  it.scoped("applyUnbatchedCmd - classic maybeGc at seqno 100 with a writer: non-writes get none, the write gets GcReq(100), after the writer expires a non-write triggers", () =>
    seeded(
      Effect.gen(function* () {
        const p = yield* startProcess(newStores(), "p1")
        const h = yield* open(p)
        const w = testWriter()
        const firstWrite = yield* appendOk(p, h, w, 0, 1)
        expect(firstWrite.seqno).toBe(2)
        expect(firstWrite.maintenance.garbageCollection).toEqual({ shardId: testShard, newSeqnoSince: 2 })
        // 3..99: GC is due (threshold 7 at ~100) but only writes are assigned it while a writer exists.
        const nonWrites = yield* tickTo(h, 99)
        expect(nonWrites.filter(([, m]) => m.garbageCollection !== null)).toEqual([])
        expect(h.machine.state.state.collections.lastGcReq).toBe(2)
        const write = yield* appendOk(p, h, w, 1, 2)
        expect(write.seqno).toBe(100)
        expect(write.maintenance.garbageCollection).toEqual({ shardId: testShard, newSeqnoSince: 100 })
        expect(h.machine.state.state.collections.lastGcReq).toBe(100)
        // Expire the writer: from now on non-writes are assigned GC once it is due again (100 + 7).
        const { existed } = yield* h.machine.expireWriter(w)
        expect(existed).toBe(true)
        const after = yield* tickTo(h, 108)
        expect(after.filter(([, m]) => m.garbageCollection !== null).map(([s, m]) => [s, m.garbageCollection?.newSeqnoSince])).toEqual([[107, 107]])
      })
    )
  )

  it.scoped("applyUnbatchedCmd - gcMaxVersions caps every GC request: lastGcReq advances by at most max each time", () =>
    seeded(
      Effect.gen(function* () {
        const p = yield* startProcess(newStores(), "p1", { gcMaxVersions: 2 })
        const h = yield* open(p)
        const steps: Array<[number, number]> = []
        let last = h.machine.state.state.collections.lastGcReq as number
        for (let i = 0; i < 19; i++) {
          const [seqno, m] = yield* tick(h)
          const lastGcReq = h.machine.state.state.collections.lastGcReq
          if (m.garbageCollection === null) {
            expect(lastGcReq).toBe(last)
            continue
          }
          expect(m.garbageCollection.newSeqnoSince).toBe(lastGcReq)
          expect(lastGcReq - last).toBeGreaterThan(0)
          expect(lastGcReq - last).toBeLessThanOrEqual(2)
          steps.push([seqno, lastGcReq])
          last = lastGcReq
        }
        // Classic threshold log2(next_power_of_two(seqno)): due at 2, 4, 7, 10, 12, 14, 16, 19;
        // from 7 on the request is capped at last + 2 instead of the seqno_since.
        expect(steps).toEqual([
          [2, 2],
          [4, 4],
          [7, 6],
          [10, 8],
          [12, 10],
          [14, 12],
          [16, 14],
          [19, 16]
        ])
      })
    )
  )

  it.scoped("applyUnbatchedCmd - a CaS lost to a version that took the GC assignment assigns no GC on retry (RACE-15)", () =>
    seeded(
      Effect.gen(function* () {
        const stores = newStores()
        const p = yield* startProcess(stores, "p1")
        const q = yield* startProcess(stores, "q1")
        const hp = yield* open(p)
        yield* tickTo(hp, 6)
        const hq = yield* open(q)
        expect(hq.machine.seqno).toBe(6)
        // Without interference the version at 7 is assigned GC (7 - 4 >= 3).
        let qGot: RoutineMaintenance | undefined
        p.script.beforeNext("compareAndSet", () => Effect.map(tick(hq), ([s, m]) => void (expect(s).toBe(7), (qGot = m))))
        const [seqno, m] = yield* tick(hp)
        expect(seqno).toBe(8)
        expect(qGot?.garbageCollection).toEqual({ shardId: testShard, newSeqnoSince: 7 })
        expect(m.garbageCollection).toBeNull()
        expect(p.metrics.get(Counter.cmdCasMismatch)).toBe(1)
      })
    )
  )
})

describe("Machine rollups (ALG-R)", () => {
  const setup = Effect.gen(function* () {
    const stores = newStores()
    const p = yield* startProcess(stores, "p1", { rollupThreshold: 5, rollupUseActiveRollup: false })
    const hp = yield* open(p)
    yield* tickTo(hp, 4)
    return { stores, p, hp }
  })

  it.scoped("addRollup - an Indeterminate CaS that committed: linked once, reported applied, blob kept, no delete (RACE-6)", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, hp } = yield* setup
        p.script.failNext("compareAndSet", "IndeterminateApplied")
        yield* hp.machine.addRollupForCurrentSeqno()
        const key = lastRollupSet(p)!
        const cur = yield* durableState(stores)
        expect(`${testShard}/${cur.collections.rollups.get(4 as SeqNo)?.key}`).toBe(key)
        expect(rollupInserts(stores, 4)).toBe(1)
        expect(stores.blob.has(key)).toBe(true)
        expect(p.script.calls.filter((c) => c.startsWith("delete"))).toEqual([])
        expect(p.metrics.get("rollup.linked")).toBe(1)
        expect(p.metrics.get("retries.idempotentCmd.add_rollup")).toBe(1)
        // Attempt 1 committed 5, the retry mismatched against it and re-linked as a no-op at 6.
        expect(rowSeqnos(stores)).toEqual([1, 2, 3, 4, 5, 6])
        expect((yield* detectLeakedBlobs(observer(stores), testShard)).leaked).toEqual([])
      })
    )
  )

  it.scoped("addRollup - an Indeterminate CaS that did not commit while another process linked another rollup at that seqno: still applied, blob kept and leaked (RACE-6)", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, hp } = yield* setup
        const q = yield* startProcess(stores, "q1", { rollupThreshold: 5, rollupUseActiveRollup: false })
        const hq = yield* open(q)
        p.script.failNext("compareAndSet", "IndeterminateNotApplied")
        // Before P's retry, Q rolls up the same seqno and links its own rollup.
        p.script.beforeNext("compareAndSet", () => Effect.asVoid(hq.machine.addRollupForCurrentSeqno()))
        // Drive ALG-R by hand to see what addRollup reports.
        const written = yield* hp.machine.applier.writeRollupForState(RollupId.make(uuid(500)))
        const ours = Option.getOrThrow(written)
        const { applied } = yield* hp.machine.addRollup(ours.seqno, ours.toHollow())
        expect(applied).toBe(true)
        const qKey = lastRollupSet(q)!
        const cur = yield* durableState(stores)
        expect(`${testShard}/${cur.collections.rollups.get(4 as SeqNo)?.key}`).toBe(qKey)
        // "A false positive (leaking a blob) is better than a false negative": ours stays, unreferenced.
        const ourKey = `${testShard}/${ours.key}`
        expect(stores.blob.has(ourKey)).toBe(true)
        expect(missingBlobs(stores, cur)).toEqual([])
        const report = yield* detectLeakedBlobs(observer(stores), testShard)
        expect(report.leaked.map((l) => [l.key, l.kind])).toEqual([[ourKey, "rollup"]])
      })
    )
  )

  it.scoped("addRollupForCurrentSeqno - the same flow end to end: the blob is kept although another rollup is linked at that seqno", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, hp } = yield* setup
        const q = yield* startProcess(stores, "q1", { rollupThreshold: 5, rollupUseActiveRollup: false })
        const hq = yield* open(q)
        p.script.failNext("compareAndSet", "IndeterminateNotApplied")
        p.script.beforeNext("compareAndSet", () => Effect.asVoid(hq.machine.addRollupForCurrentSeqno()))
        yield* hp.machine.addRollupForCurrentSeqno()
        expect(p.script.calls.filter((c) => c.startsWith("delete"))).toEqual([])
        expect(p.metrics.get("rollup.linked")).toBe(1)
        const report = yield* detectLeakedBlobs(observer(stores), testShard)
        expect(report.leaked.map((l) => l.key)).toEqual([lastRollupSet(p)])
      })
    )
  )

  it.scoped("addRollupForCurrentSeqno - another process linked a rollup at our seqno while we wrote ours: ours is deleted (RACE-7)", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, hp } = yield* setup
        const q = yield* startProcess(stores, "q1", { rollupThreshold: 5, rollupUseActiveRollup: false })
        const hq = yield* open(q)
        // While P writes its rollup of 4, Q rolls up 4 and links it, and P's shared cached state
        // learns of that (another handle of P's process refreshed it).
        p.script.beforeNext(
          "set",
          () =>
            Effect.gen(function* () {
              yield* hq.machine.addRollupForCurrentSeqno()
              yield* hp.machine.applier.fetchAndUpdateState(null)
            }),
          "/v4/"
        )
        yield* hp.machine.addRollupForCurrentSeqno()
        const pKey = lastRollupSet(p)!
        const qKey = lastRollupSet(q)!
        expect(pKey).not.toBe(qKey)
        expect(p.script.calls).toContain(`delete ${pKey}`)
        expect(stores.blob.has(pKey)).toBe(false)
        expect(p.metrics.get("rollup.lostRace")).toBe(1)
        const cur = yield* durableState(stores)
        expect(`${testShard}/${cur.collections.rollups.get(4 as SeqNo)?.key}`).toBe(qKey)
        expect(rollupInserts(stores, 4)).toBe(1)
        expect(rollupBlobKeys(stores)).toEqual([...[`${testShard}/${latestRollupKeyAt(cur, 1)}`, qKey]].sort())
        expect((yield* detectLeakedBlobs(observer(stores), testShard)).leaked).toEqual([])
      })
    )
  )

  it.scoped("addRollupForCurrentSeqno - a loser whose first attempt was computed on a stale cache counts that attempt as applied and leaks its blob", () =>
    seeded(
      Effect.gen(function* () {
        // Faithful to persist: applied_ever_true accumulates over every run of the work fn,
        // including one whose CaS then lost with ExpectationMismatch (so certainly did not
        // commit). A false positive: the blob leaks, nothing referenced is deleted.
        const { stores, p, hp } = yield* setup
        const q = yield* startProcess(stores, "q1", { rollupThreshold: 5, rollupUseActiveRollup: false })
        const hq = yield* open(q)
        yield* hq.machine.addRollupForCurrentSeqno()
        expect(hp.machine.seqno).toBe(4)
        yield* hp.machine.addRollupForCurrentSeqno()
        const pKey = lastRollupSet(p)!
        expect(p.metrics.get(Counter.cmdCasMismatch)).toBe(1)
        expect(p.script.calls.filter((c) => c.startsWith("delete"))).toEqual([])
        expect(p.metrics.get("rollup.linked")).toBe(1)
        const cur = yield* durableState(stores)
        expect(`${testShard}/${cur.collections.rollups.get(4 as SeqNo)?.key}`).toBe(lastRollupSet(q))
        expect(missingBlobs(stores, cur)).toEqual([])
        const report = yield* detectLeakedBlobs(observer(stores), testShard)
        expect(report.leaked.map((l) => l.key)).toEqual([pKey])
      })
    )
  )

  it.scoped("addRollupForCurrentSeqno - nothing to roll up at the latest rollup's own seqno writes nothing", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, h } = yield* openedProcess()
        const m = yield* h.machine.addRollupForCurrentSeqno()
        expect(m).toEqual({ garbageCollection: null, writeRollup: null })
        expect(rollupBlobKeys(stores)).toHaveLength(1)
        expect(rowSeqnos(stores)).toEqual([1])
      })
    )
  )
})

describe("Machine.compareAndAppend (ALG-CAA)", () => {
  const setup = Effect.gen(function* () {
    const { stores, p, h } = yield* openedProcess()
    const w = testWriter()
    yield* appendOk(p, h, w, 0, 3)
    return { stores, p, h, w }
  })
  const batchesWithUpper = (s: { collections: { trace: { batches: ReadonlyArray<{ desc: { upper: Antichain } }> } } }, upper: number) =>
    s.collections.trace.batches.filter((b) => Antichain.equals(b.desc.upper, Antichain.from(upper))).length
  /** Appends [3, 5) with its first CaS answering `fault`: the result, the state after, and the rows it added. */
  const appendThrough = (fault: "IndeterminateApplied" | "IndeterminateNotApplied") =>
    Effect.gen(function* () {
      const { stores, p, h, w } = yield* setup
      const rowsBefore = rowSeqnos(stores).length
      p.script.failNext("compareAndSet", fault)
      const res = yield* writeAndAppend(p, h, w, 3, 5)
      const cur = yield* durableState(stores)
      return { p, h, res, cur, rowsAdded: rowSeqnos(stores).length - rowsBefore }
    })

  it.scoped("compareAndAppend - an Indeterminate CaS that committed is recognised by its token: committed once, AlreadyCommitted", () =>
    seeded(
      Effect.gen(function* () {
        const { p, h, res, cur, rowsAdded } = yield* appendThrough("IndeterminateApplied")
        expect(res._tag).toBe("Success")
        expect(batchesWithUpper(cur, 5)).toBe(1)
        expect(rowsAdded).toBe(1)
        expect(p.metrics.get("caa.alreadyCommitted")).toBe(1)
        expect(p.metrics.get("caa.indeterminate")).toBe(1)
        // The cache caught up with the version the indeterminate attempt wrote.
        expect(h.machine.seqno).toBe(cur.seqno)
        expect(h.machine.applier.upper).toEqual([5])
      })
    )
  )

  it.scoped("compareAndAppend - an Indeterminate CaS that did not commit is retried and commits once", () =>
    seeded(
      Effect.gen(function* () {
        const { p, res, cur, rowsAdded } = yield* appendThrough("IndeterminateNotApplied")
        expect(res._tag).toBe("Success")
        expect(batchesWithUpper(cur, 5)).toBe(1)
        expect(rowsAdded).toBe(1)
        expect(p.metrics.get("caa.alreadyCommitted")).toBe(0)
        expect(p.metrics.get("caa.indeterminate")).toBe(1)
      })
    )
  )

  it.scoped("compareAndAppend - repeated Indeterminate errors back off under the clock and still commit exactly once", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, h, w } = yield* setup
        p.script.failNext("compareAndSet", "IndeterminateNotApplied", 3).failNext("compareAndSet", "IndeterminateApplied")
        const fiber = yield* Effect.fork(writeAndAppend(p, h, w, 3, 5))
        // Sleeps of 0, ~4, ~8, ~16 ms: the call cannot finish until the clock moves.
        yield* TestClock.adjust(100)
        const res = yield* fiber.await
        expect(Exit.isSuccess(res) && res.value._tag).toBe("Success")
        expect(batchesWithUpper(yield* durableState(stores), 5)).toBe(1)
        expect(p.metrics.get("caa.indeterminate")).toBe(4)
        expect(p.metrics.get("caa.alreadyCommitted")).toBe(1)
      })
    )
  )

  it.scoped("compareAndAppend - an upper mismatch without any Indeterminate returns UpperMismatch with the shard upper", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, h, w } = yield* setup
        const rowsBefore = rowSeqnos(stores)
        const res = yield* writeAndAppend(p, h, w, 5, 7)
        expect(res).toMatchObject({ _tag: "UpperMismatch", currentUpper: [3] })
        expect(rowSeqnos(stores)).toEqual(rowsBefore)
      })
    )
  )

  it.scoped("compareAndAppend - a batch whose lower another writer already passed, after an Indeterminate that did not commit, is UpperMismatch and not a panic", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, h, w } = yield* setup
        const q = yield* startProcess(stores, "q1")
        const hq = yield* open(q)
        p.script.failNext("compareAndSet", "IndeterminateNotApplied")
        p.script.beforeNext("compareAndSet", () => Effect.asVoid(appendOk(q, hq, testWriter(2), 3, 4)))
        const res = yield* writeAndAppend(p, h, w, 3, 5)
        expect(res).toMatchObject({ _tag: "UpperMismatch", currentUpper: [4] })
        const cur = yield* durableState(stores)
        expect(batchesWithUpper(cur, 5)).toBe(0)
      })
    )
  )

  it.scoped("compareAndAppend - a stale cache that computes UpperMismatch is refetched and the append retried", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, h } = yield* setup
        const q = yield* startProcess(stores, "q1")
        const hq = yield* open(q)
        yield* appendOk(q, hq, testWriter(2), 3, 4)
        // P learned of upper 4 out of band; its cache still says 3.
        expect(h.machine.applier.upper).toEqual([3])
        const res = yield* writeAndAppend(p, h, testWriter(1), 4, 6)
        expect(res._tag).toBe("Success")
        expect(h.machine.applier.upper).toEqual([6])
        expect(p.metrics.get(Counter.stateFetchFastPath)).toBe(1)
      })
    )
  )

  it.scoped("compareAndAppend - RACE-14: an Indeterminate commit overtaken by the same writer's next batch cannot be told apart and panics", () =>
    seeded(
      Effect.gen(function* () {
        const { p, h, w } = yield* setup
        // [3,5) commits but reports Indeterminate; before its retry the same writer appends [5,7).
        p.script.failNext("compareAndSet", "IndeterminateApplied")
        let next: unknown
        p.script.beforeNext("compareAndSet", () => Effect.map(writeAndAppend(p, h, w, 5, 7), (r) => void (next = r)))
        const exit = yield* Effect.exit(writeAndAppend(p, h, w, 3, 5))
        expect(next).toMatchObject({ _tag: "Success" })
        const panicked = panicOf(exit)
        expect(Option.isSome(panicked)).toBe(true)
        expect(Option.getOrThrow(panicked).message).toContain("cannot distinguish compare_and_append success or failure")
      })
    )
  )

  it.scoped("compareAndAppend - a non-empty batch over an empty interval is InvalidUsage and writes nothing", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, h, w } = yield* setup
        const rowsBefore = rowSeqnos(stores)
        const batch = yield* p.client.writeBatch(testShard, w, Antichain.from(3), Antichain.from(3), 1, 1)
        const res = yield* h.machine.compareAndAppend(batch, w, p.client.debug("writer"))
        expect(res).toEqual({ _tag: "InvalidUsage", reason: "InvalidEmptyTimeInterval" })
        expect(rowSeqnos(stores)).toEqual(rowsBefore)
      })
    )
  )
})

describe("Applier cached state (ALG-FETCH, INV-4)", () => {
  const cfg = { rollupThreshold: 3, rollupUseActiveRollup: false } as const

  it.scoped("fetchAndUpdateState - fast path: applies the diffs after our seqno", () =>
    seeded(
      Effect.gen(function* () {
        const stores = newStores()
        const p = yield* startProcess(stores, "p1", cfg)
        const q = yield* startProcess(stores, "q1", cfg)
        const hp = yield* open(p)
        const hq = yield* open(q)
        yield* tickTo(hq, 5)
        expect(hp.machine.seqno).toBe(1)
        yield* hp.machine.applier.fetchAndUpdateState(null)
        expect(hp.machine.seqno).toBe(5)
        expect(hp.machine.state.state).toEqual(hq.machine.state.state)
        expect(p.metrics.get(Counter.stateFetchFastPath)).toBe(1)
        expect(p.metrics.get(Counter.stateFetchSlowPath)).toBe(0)
      })
    )
  )

  it.scoped("fetchAndUpdateState - slow path: our next diff was truncated, so the state is rebuilt from a rollup", () =>
    seeded(
      Effect.gen(function* () {
        const stores = newStores()
        const p = yield* startProcess(stores, "p1", cfg)
        const q = yield* startProcess(stores, "q1", cfg)
        const hp = yield* open(p)
        const hq = yield* open(q)
        // Q advances, rolls up, and GCs Consensus past P's seqno + 1.
        for (const [, m] of yield* tickTo(hq, 12)) {
          if (m.writeRollup !== null) yield* hq.machine.addRollupForCurrentSeqno()
        }
        yield* gcAndTruncate(hq.machine, { shardId: testShard, newSeqnoSince: seqnoSince(hq.machine.state.state) })
        expect(rowSeqnos(stores)[0]).toBeGreaterThan(2)
        expect(hp.machine.seqno).toBe(1)
        yield* hp.machine.applier.fetchAndUpdateState(null)
        expect(p.metrics.get(Counter.stateFetchSlowPath)).toBe(1)
        expect(p.metrics.get(Counter.stateFetchFastPath)).toBe(0)
        expect(hp.machine.state.state).toEqual(hq.machine.state.state)
        expect(hp.machine.state.state).toEqual(yield* durableState(stores))
      })
    )
  )

  it.scoped("applyUnbatchedCmd - a commit whose state another fiber of the process has already overtaken does not regress the cached state (INV-4)", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, h } = yield* openedProcess(cfg)
        yield* tickTo(h, 3)
        // Our CaS 3 -> 4 commits; before we see the answer, another fiber of this process
        // (sharing the Applier) commits 5 on top of it.
        let other: number | undefined
        p.after.afterNext("compareAndSet", () => Effect.map(tick(h), ([s]) => void (other = s)))
        const [mine] = yield* tick(h)
        expect([mine, other]).toEqual([4, 5])
        expect(h.machine.seqno).toBe(5)
        expect(h.machine.state.state).toEqual(yield* durableState(stores))
      })
    )
  )

  it.scoped("fetchAndUpdateState - a hint below the cached seqno does no I/O; the cached seqno never regresses", () =>
    seeded(
      Effect.gen(function* () {
        const stores = newStores()
        const p = yield* startProcess(stores, "p1", cfg)
        const q = yield* startProcess(stores, "q1", cfg)
        const hp = yield* open(p)
        yield* tickTo(hp, 4)
        const calls = p.script.calls.length
        yield* hp.machine.applier.fetchAndUpdateState(2 as SeqNo)
        expect(p.script.calls.length).toBe(calls)
        expect(hp.machine.seqno).toBe(4)

        // A slow-path fetch whose (older) result lands after another fiber of this process has
        // installed a newer state must leave the newer one in place (INV-4).
        const hq = yield* open(q)
        for (const [, m] of yield* tickTo(hq, 12)) {
          if (m.writeRollup !== null) yield* hq.machine.addRollupForCurrentSeqno()
        }
        yield* gcAndTruncate(hq.machine, { shardId: testShard, newSeqnoSince: seqnoSince(hq.machine.state.state) })
        const head = hq.machine.seqno
        p.script.beforeNext("get", () => Effect.asVoid(tick(hp)))
        const seen: Array<number> = []
        yield* hp.machine.applier.fetchAndUpdateState(null).pipe(Effect.tap(() => seen.push(hp.machine.seqno)))
        expect(p.metrics.get(Counter.stateFetchSlowPath)).toBeGreaterThanOrEqual(2)
        expect(seen).toEqual([head + 1])
        expect(hp.machine.state.state).toEqual(yield* durableState(stores))
      })
    )
  )
})
