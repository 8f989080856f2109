import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit } from "effect"
import type { ShardHandle } from "./Client.ts"
import type { FueledMergeReq } from "./Commands.ts"
import { gcAndTruncate } from "./Gc.ts"
import type { WriterId } from "./Ids.ts"
import { detectLeakedBlobs } from "./LeakedBlobs.ts"
import { Counter } from "./Metrics.ts"
import { SeqNo } from "./SeqNo.ts"
import { type GcReq, type HollowBatch, seqnoSince, sortedRollups } from "./State.ts"
import {
  appendOk,
  blobKeys,
  durableState,
  missingBlobs,
  newStores,
  observer,
  open,
  rowSeqnos,
  seeded,
  startProcess,
  testShard,
  testWriter,
  type TestProc,
  type TestStores
} from "./testing/Processes.ts"

const cfg = { rollupThreshold: 5, rollupUseActiveRollup: false } as const
const req = (newSeqnoSince: number): GcReq => ({ shardId: testShard, newSeqnoSince: SeqNo(newSeqnoSince) })

/** Compacts like `client.compact` but drops the maintenance (this history has no GC in it). */
const compactNoMaintenance = (p: TestProc, h: ShardHandle, w: WriterId, mr: FueledMergeReq) =>
  Effect.gen(function* () {
    const first = mr.inputs[0]!
    const last = mr.inputs[mr.inputs.length - 1]!
    const written = yield* p.client.writeBatch(testShard, w, first.desc.lower, last.desc.upper, 1, 1)
    const output: HollowBatch = { ...written, desc: { ...written.desc, since: h.machine.state.state.collections.trace.since } }
    const { result } = yield* h.machine.mergeRes(mr.inputs, output)
    expect(result).toBe("AppliedExact")
  })

/**
 * Appends `[from, to)` one unit at a time, links every assigned rollup and compacts, but never
 * runs GC: a history with many rollups and many parts removed by compaction.
 */
const history = (p: TestProc, h: ShardHandle, w: WriterId, from: number, to: number) =>
  Effect.gen(function* () {
    for (let i = from; i < to; i++) {
      const res = yield* appendOk(p, h, w, i, i + 1)
      if (res.maintenance.writeRollup !== null) yield* h.machine.addRollupForCurrentSeqno()
      for (const mr of res.mergeReqs) yield* compactNoMaintenance(p, h, w, mr)
    }
  })

/** A fresh world with a 40-append history; the same seed gives byte-identical worlds. */
const world = Effect.gen(function* () {
  const stores = newStores()
  const p = yield* seeded(startProcess(stores, "p1", cfg), 7)
  const h = yield* seeded(open(p), 7)
  yield* seeded(history(p, h, testWriter(), 0, 40), 7)
  return { stores, p, h, rollups: sortedRollups(h.machine.state.state.collections).map(([s]) => s as number), head: h.machine.seqno as number }
})

/** The latest rollup <= `since`. */
const latestLte = (rollups: ReadonlyArray<number>, since: number): number => Math.max(...rollups.filter((r) => r <= since))

/** Rows, blob keys and state of a quiescent world, for comparing two of them. */
const snapshot = (stores: TestStores, upTo: number) =>
  Effect.gen(function* () {
    const cur = yield* durableState(stores)
    return {
      seqnos: rowSeqnos(stores),
      rowsUpTo: stores.consensus.rows(testShard).filter((r) => r.seqno <= upTo).map((r) => [r.seqno, Buffer.from(r.data).toString("base64")]),
      blobs: blobKeys(stores),
      collections: cur.collections,
      missing: missingBlobs(stores, cur),
      leaked: (yield* detectLeakedBlobs(observer(stores), testShard)).leaked.map((l) => l.key)
    }
  })

describe("gcAndTruncate (ALG-GC)", () => {
  it.scoped("gcAndTruncate - truncates to the latest rollup <= seqno_since, deletes what the truncated diffs removed, then removes the old rollups", () =>
    seeded(Effect.gen(function* () {
      const { stores, p, h, rollups, head } = yield* world
      expect(rollups.length).toBeGreaterThanOrEqual(6)
      const partsBefore = blobKeys(stores).filter((k) => k.startsWith(`${testShard}/w`)).length
      const since = seqnoSince(h.machine.state.state)
      expect(since).toBe(head)
      const [, results] = yield* gcAndTruncate(h.machine, req(since))
      const target = latestLte(rollups, since)
      expect(results.truncatedConsensusTo).toEqual(rollups.filter((r) => r > 1 && r <= target))
      expect(results.rollupsRemovedFromState).toEqual(rollups.filter((r) => r < target))
      expect(rowSeqnos(stores)[0]).toBe(target)
      expect(results.batchPartsDeletedFromBlob).toBeGreaterThan(0)
      expect(blobKeys(stores).filter((k) => k.startsWith(`${testShard}/w`)).length).toBe(partsBefore - results.batchPartsDeletedFromBlob)
      const cur = yield* durableState(stores)
      expect(sortedRollups(cur.collections).map(([s]) => s)).toEqual(rollups.filter((r) => r >= target))
      expect(missingBlobs(stores, cur)).toEqual([])
      // Rollup blobs lag one GC cycle: those just removed from state are still referenced by live states.
      expect((yield* detectLeakedBlobs(observer(stores), testShard)).leaked).toEqual([])
      expect(p.metrics.get(Counter.gcStepSkippedAlreadyTruncated)).toBe(1) // the initial rollup at 1 = earliest
    }))
  )

  it.scoped("gcAndTruncate - a request behind the live states is a no-op (gc.noop) and touches no store", () =>
    seeded(Effect.gen(function* () {
      const { stores, p, h, rollups } = yield* world
      const since = seqnoSince(h.machine.state.state)
      yield* gcAndTruncate(h.machine, req(since))
      const earliest = rowSeqnos(stores)[0]!
      expect(earliest).toBe(latestLte(rollups, since))
      const calls = p.script.calls.length
      const rows = rowSeqnos(stores)
      // Behind the earliest live diff, and the very request that was already done.
      for (const behind of [earliest - 1, 2, since]) {
        const [m, results] = yield* gcAndTruncate(h.machine, req(behind))
        expect(m).toEqual({ garbageCollection: null, writeRollup: null })
        expect(results.truncatedConsensusTo).toEqual([])
      }
      expect(p.metrics.get(Counter.gcNoop)).toBe(3)
      expect(p.script.calls.length).toBe(calls)
      expect(rowSeqnos(stores)).toEqual(rows)
    }))
  )

  it.scoped("gcAndTruncate - two requests for different seqno_since, in either order, leave the same rows, blobs and state", () =>
    seeded(Effect.gen(function* () {
      const a = yield* world
      const b = yield* world
      expect((yield* snapshot(a.stores, a.head)).rowsUpTo).toEqual((yield* snapshot(b.stores, b.head)).rowsUpTo)
      const s1 = a.rollups[2]! + 1
      const s2 = a.rollups[4]! + 2
      yield* gcAndTruncate(a.h.machine, req(s1))
      yield* gcAndTruncate(a.h.machine, req(s2))
      yield* gcAndTruncate(b.h.machine, req(s2))
      yield* gcAndTruncate(b.h.machine, req(s1))
      // In the second order the older request finds nothing left to do.
      expect(b.p.metrics.get(Counter.gcNoop)).toBe(1)
      const sa = yield* snapshot(a.stores, a.head)
      const sb = yield* snapshot(b.stores, b.head)
      // Same truncation point, same immutable rows below the GC's own versions, same blobs and
      // same state. (The first order commits one remove_rollups version more.)
      expect(sa.seqnos[0]).toBe(latestLte(a.rollups, s2))
      expect(sb.seqnos[0]).toBe(sa.seqnos[0])
      expect(sb.rowsUpTo).toEqual(sa.rowsUpTo)
      expect(sb.blobs).toEqual(sa.blobs)
      expect(sb.collections).toEqual(sa.collections)
      expect(sortedRollups(sa.collections).map(([s]) => s)).toEqual(a.rollups.filter((r) => r >= latestLte(a.rollups, s2)))
      expect([sa.missing, sb.missing, sa.leaked, sb.leaked]).toEqual([[], [], [], []])
    }))
  )

  it.scoped("gcAndTruncate - two processes' GC workers, in either order, leave the same rows, blobs and state", () =>
    seeded(Effect.gen(function* () {
      const runWorkers = (order: "p-then-q" | "q-then-p") =>
        Effect.gen(function* () {
          const w = yield* world
          const q = yield* startProcess(w.stores, "q1", cfg)
          const hq = yield* open(q)
          const s1 = w.rollups[2]! + 1
          const s2 = w.rollups[4]! + 2
          const viaWorker = (proc: TestProc, h: ShardHandle, s: number) => proc.guard(Effect.flatMap(h.gc.gcAndTruncateBackground(req(s)), Deferred.await))
          if (order === "p-then-q") {
            yield* viaWorker(w.p, w.h, s1)
            yield* viaWorker(q, hq, s2)
          } else {
            yield* viaWorker(q, hq, s2)
            // P's cache is stale: it still lists the rollups Q removed, finds Consensus already
            // truncated past each of its targets, and its remove_rollups removes nothing.
            yield* viaWorker(w.p, w.h, s1)
            expect(w.p.metrics.get(Counter.gcStepSkippedAlreadyTruncated)).toBe(3)
          }
          expect([...w.p.failures, ...q.failures]).toEqual([])
          return { ...(yield* snapshot(w.stores, w.head)), target: latestLte(w.rollups, s2) }
        })
      const a = yield* runWorkers("p-then-q")
      const b = yield* runWorkers("q-then-p")
      expect(a.seqnos[0]).toBe(a.target)
      expect(b.seqnos).toEqual(a.seqnos)
      expect(b.rowsUpTo).toEqual(a.rowsUpTo)
      expect(b.blobs).toEqual(a.blobs)
      expect(b.collections).toEqual(a.collections)
      expect([a.missing, b.missing, a.leaked, b.leaked]).toEqual([[], [], [], []])
    }))
  )

  it.scoped("gcAndTruncate - a crash between a step's blob deletes and its truncate is finished by the next run (RACE-9)", () =>
    seeded(Effect.gen(function* () {
      const { stores, p, h } = yield* world
      // A first complete GC, so later steps also have rollup blobs to delete.
      const first = seqnoSince(h.machine.state.state)
      yield* gcAndTruncate(h.machine, req(first))
      yield* seeded(history(p, h, testWriter(), 40, 70), 8)
      const rollups = sortedRollups(h.machine.state.state.collections).map(([s]) => s as number)
      const since = seqnoSince(h.machine.state.state)
      const target = latestLte(rollups, since)
      const steps = rollups.filter((r) => r <= target && r > rowSeqnos(stores)[0]!)
      expect(steps.length).toBeGreaterThanOrEqual(3)

      // The second truncate of this run never happens: P crashes just before it.
      p.script.beforeNext("truncate", () => Effect.void).beforeNext("truncate", () => Effect.interrupt)
      const crashed = yield* Effect.exit(gcAndTruncate(h.machine, req(since)))
      expect(Exit.isInterrupted(crashed)).toBe(true)
      yield* p.crash
      expect(rowSeqnos(stores)[0]).toBe(steps[0])
      // The deletes of the interrupted step happened; the rollups are all still in state.
      const deletes = p.script.calls.filter((c) => c.startsWith("delete"))
      expect(deletes.length).toBeGreaterThan(0)
      let cur = yield* durableState(stores)
      expect(sortedRollups(cur.collections).map(([s]) => s)).toEqual(rollups)
      expect(missingBlobs(stores, cur)).toEqual([])

      // A fresh process runs the same request to the end.
      const q = yield* startProcess(stores, "q1", cfg)
      const hq = yield* open(q)
      const [, results] = yield* gcAndTruncate(hq.machine, req(since))
      expect(results.truncatedConsensusTo).toEqual(steps.slice(1))
      expect(q.metrics.get(Counter.gcStepSkippedAlreadyTruncated)).toBe(rollups.filter((r) => r <= steps[0]!).length)
      expect(rowSeqnos(stores)[0]).toBe(target)
      cur = yield* durableState(stores)
      expect(sortedRollups(cur.collections).map(([s]) => s)).toEqual(rollups.filter((r) => r >= target))
      expect(missingBlobs(stores, cur)).toEqual([])
      expect((yield* detectLeakedBlobs(observer(stores), testShard)).leaked).toEqual([])
      expect(q.failures).toEqual([])
    }))
  )

  it.scoped("gcAndTruncate - a request past the cached seqno_since refreshes the cache first", () =>
    seeded(Effect.gen(function* () {
      const { stores, p, h } = yield* world
      const q = yield* startProcess(stores, "q1", cfg)
      const hq = yield* open(q)
      yield* seeded(history(q, hq, testWriter(2), 40, 50), 9)
      const since = seqnoSince(hq.machine.state.state)
      expect(since).toBeGreaterThan(h.machine.seqnoSince)
      yield* gcAndTruncate(h.machine, req(since))
      expect(p.metrics.get(Counter.stateFetchFastPath)).toBe(1)
      expect(h.machine.seqnoSince).toBeGreaterThanOrEqual(since)
      expect(rowSeqnos(stores)[0]).toBe(latestLte(sortedRollups(hq.machine.state.state.collections).map(([s]) => s), since))
      expect(missingBlobs(stores, yield* durableState(stores))).toEqual([])
    }))
  )
})

describe("GarbageCollector", () => {
  it.scoped("gcAndTruncateBackground - requests queued behind each other are merged into one pass with the largest seqno_since", () =>
    seeded(Effect.gen(function* () {
      const { stores, p, h, rollups } = yield* world
      const since = seqnoSince(h.machine.state.state)
      const done = [
        yield* h.gc.gcAndTruncateBackground(req(rollups[2]!)),
        yield* h.gc.gcAndTruncateBackground(req(since)),
        yield* h.gc.gcAndTruncateBackground(req(rollups[3]!))
      ]
      const maintenance = yield* p.guard(Effect.forEach(done, Deferred.await))
      expect(p.metrics.get("gc.merged")).toBe(2)
      expect(p.metrics.get(Counter.gcStarted)).toBe(1)
      expect(p.metrics.get(Counter.gcFinished)).toBe(1)
      expect(rowSeqnos(stores)[0]).toBe(latestLte(rollups, since))
      // Follow-up maintenance goes to the first caller only.
      expect(maintenance.slice(1)).toEqual([
        { garbageCollection: null, writeRollup: null },
        { garbageCollection: null, writeRollup: null }
      ])
    }))
  )
})
