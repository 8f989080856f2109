import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, TestClock } from "effect"
import { Antichain } from "./Antichain.ts"
import { LeasedReaderId } from "./Ids.ts"
import { detectLeakedBlobs } from "./LeakedBlobs.ts"
import { RoutineMaintenance } from "./Maintenance.ts"
import { seqnoSince } from "./State.ts"
import {
  appendOk,
  durableState,
  missingBlobs,
  newStores,
  observer,
  open,
  openedProcess,
  rollupBlobKeys,
  rowSeqnos,
  seeded,
  settle,
  startProcess,
  testShard,
  testWriter,
  type TestProc,
  uuid
} from "./testing/Processes.ts"
import type { ShardHandle } from "./Client.ts"
import type { WriterId } from "./Ids.ts"
import { SeqNo } from "./SeqNo.ts"

const classic5 = { rollupThreshold: 5, rollupUseActiveRollup: false } as const

/** Appends `[i, i+1)` and performs its maintenance and compactions in the foreground. */
const appendAndMaintain = (p: TestProc, h: ShardHandle, w: WriterId, i: number) =>
  Effect.gen(function* () {
    const res = yield* appendOk(p, h, w, i, i + 1)
    yield* p.guard(p.client.perform(h, res.maintenance))
    for (const req of res.mergeReqs) yield* p.guard(p.client.compact(h, w, req))
    return res
  })

describe("PersistClient.perform", () => {
  it.scoped("perform - 100 compare-and-appends with rollup threshold 5 keep at most 14 live diffs, every referenced blob and no leak", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, h } = yield* openedProcess(classic5)
        const w = testWriter()
        let maxLive = 0
        for (let i = 0; i < 100; i++) {
          yield* appendAndMaintain(p, h, w, i)
          maxLive = Math.max(maxLive, rowSeqnos(stores).length)
        }
        const rows = rowSeqnos(stores)
        expect(rows.length).toBeLessThanOrEqual(14)
        // Bounded all along, not only at the end: GC keeps up with the rollups.
        expect(maxLive).toBeLessThanOrEqual(14)
        const cur = yield* durableState(stores)
        expect(cur.seqno).toBe(rows[rows.length - 1])
        expect(cur.collections.trace.batches.at(-1)?.desc.upper).toEqual([100])
        // INV-7: a rollup at the earliest live diff; INV-9/INV-17: everything current references exists.
        expect(cur.collections.rollups.has(SeqNo(rows[0]!))).toBe(true)
        expect(missingBlobs(stores, cur)).toEqual([])
        const report = yield* detectLeakedBlobs(observer(stores), testShard)
        expect(report.leaked).toEqual([])
        expect(report.earliest).toBe(rows[0])
        // The run did real maintenance: rollups linked, parts and rollups deleted, steps truncated.
        expect(p.metrics.get("rollup.linked")).toBeGreaterThan(15)
        expect(p.metrics.get("gc.partsDeleted")).toBeGreaterThan(0)
        expect(p.metrics.get("gc.rollupsDeleted")).toBeGreaterThan(0)
        expect(p.failures).toEqual([])
      })
    )
  )

  it.scoped("perform - processes crashing before linking a rollup and before appending a batch leak exactly those two blobs", () =>
    seeded(
      Effect.gen(function* () {
        const stores = newStores()
        const w = testWriter()
        let i = 0
        // P runs normally for a while, then crashes between writing a rollup and linking it.
        const p = yield* startProcess(stores, "p1", classic5)
        const hp = yield* open(p)
        for (; i < 30; i++) yield* appendAndMaintain(p, hp, w, i)
        let rollupSeqno: SeqNo | null = null
        while (rollupSeqno === null) {
          const res = yield* appendOk(p, hp, w, i, i + 1)
          i++
          rollupSeqno = res.maintenance.writeRollup
          if (rollupSeqno === null) {
            yield* p.guard(p.client.perform(hp, res.maintenance))
            for (const req of res.mergeReqs) yield* p.guard(p.client.compact(hp, w, req))
          }
        }
        p.script.beforeNext("compareAndSet", () => Effect.interrupt)
        const linked = yield* Effect.exit(p.client.perform(hp, { garbageCollection: null, writeRollup: rollupSeqno }))
        expect(Exit.isInterrupted(linked)).toBe(true)
        yield* p.crash
        const orphanRollup = p.script.calls.filter((c) => c.startsWith(`set ${testShard}/v${rollupSeqno}/`)).map((c) => c.slice(4))
        expect(orphanRollup).toHaveLength(1)
        expect(stores.blob.has(orphanRollup[0]!)).toBe(true)

        // Q restarts with empty memory, appends, then crashes after writing a part, before its CaS.
        const q = yield* startProcess(stores, "q1", classic5)
        const hq = yield* open(q)
        for (const stop = i + 20; i < stop; i++) yield* appendAndMaintain(q, hq, w, i)
        q.script.beforeNext("compareAndSet", () => Effect.interrupt)
        const appended = yield* Effect.exit(appendOk(q, hq, w, i, i + 1))
        expect(Exit.isInterrupted(appended)).toBe(true)
        yield* q.crash
        const orphanPart = q.script.calls.filter((c) => c.startsWith(`set ${testShard}/w`)).map((c) => c.slice(4)).at(-1)!

        // R finishes the 100 appends.
        const r = yield* startProcess(stores, "r1", classic5)
        const hr = yield* open(r)
        for (; i < 100; i++) yield* appendAndMaintain(r, hr, w, i)

        const cur = yield* durableState(stores)
        expect(missingBlobs(stores, cur)).toEqual([])
        expect(rowSeqnos(stores).length).toBeLessThanOrEqual(14)
        const report = yield* detectLeakedBlobs(observer(stores), testShard)
        expect(report.leaked.map((l) => [l.key, l.kind, l.belowEarliest])).toEqual(
          [
            [orphanRollup[0]!, "rollup", true],
            [orphanPart, "part", false]
          ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1))
        )
        expect([...p.failures, ...q.failures, ...r.failures]).toEqual([])
      })
    )
  )

  it.scoped("performInBackground - the rollup and GC it forks complete without the caller waiting", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, h } = yield* openedProcess(classic5)
        const w = testWriter()
        let withRollup: RoutineMaintenance | null = null
        for (let i = 0; withRollup === null; i++) {
          const res = yield* appendOk(p, h, w, i, i + 1)
          if (res.maintenance.writeRollup !== null && res.maintenance.garbageCollection !== null) withRollup = res.maintenance
        }
        const before = h.machine.seqno
        yield* p.client.performInBackground(h, withRollup)
        // Nothing happened yet in this fiber...
        expect(h.machine.seqno).toBe(before)
        yield* settle()
        // ...but the background rollup was linked and GC ran.
        const cur = yield* durableState(stores)
        expect(cur.collections.rollups.has(withRollup.writeRollup!)).toBe(true)
        expect(p.metrics.get("gc.finished")).toBeGreaterThan(0)
        expect(missingBlobs(stores, cur)).toEqual([])
        expect(p.failures).toEqual([])
      })
    )
  )
})

describe("PersistClient.openMachine", () => {
  it.scoped("openMachine - concurrent opens from two fibers of one process initialize the shard once", () =>
    seeded(
      Effect.gen(function* () {
        // Effect yields a fiber every maxOpsBeforeYield ops; sweeping the budget interleaves the
        // two opens at every point of the first one.
        for (let ops = 12; ops <= 40; ops++) {
          const stores = newStores()
          const p = yield* startProcess(stores, `p${ops}`)
          const [a, b] = yield* Effect.all([p.client.openMachine(testShard), p.client.openMachine(testShard)], { concurrency: 2 }).pipe(
            Effect.withMaxOpsBeforeYield(ops)
          )
          expect(a, `ops ${ops}`).toBe(b)
          expect(rowSeqnos(stores), `ops ${ops}`).toEqual([1])
          expect(rollupBlobKeys(stores), `ops ${ops}`).toHaveLength(1)
          expect(p.script.calls.filter((c) => c.startsWith("set") || c.startsWith("compareAndSet")), `ops ${ops}`).toHaveLength(2)
          yield* p.crash
        }
      })
    )
  )

  it.scoped("openMachine - an open interrupted part-way does not wedge the shard: an open waiting on it takes over", () =>
    seeded(
      Effect.gen(function* () {
        const stores = newStores()
        const p = yield* startProcess(stores, "p1")
        // The first open hangs in its first Consensus call until it is interrupted.
        p.script.beforeNext("scan", () => Effect.never)
        const first = yield* Effect.fork(p.client.openMachine(testShard))
        yield* settle()
        const second = yield* Effect.fork(p.client.openMachine(testShard))
        yield* settle()
        yield* Fiber.interrupt(first)
        yield* settle()
        const opened = yield* Fiber.poll(second)
        expect(Option.isSome(opened) && Exit.isSuccess(opened.value)).toBe(true)
        expect(rowSeqnos(stores)).toEqual([1])
        expect(rollupBlobKeys(stores)).toHaveLength(1)
        // Later opens get the same handle.
        const again = yield* open(p)
        expect(Option.isSome(opened) && Exit.isSuccess(opened.value) && opened.value.value).toBe(again)
      })
    )
  )

  it.scoped("openMachine - a second process loads the shard the first initialized", () =>
    seeded(
      Effect.gen(function* () {
        const stores = newStores()
        const p = yield* startProcess(stores, "p1")
        const q = yield* startProcess(stores, "q1")
        const hp = yield* open(p)
        const hq = yield* open(q)
        expect(hq.machine.state.state).toEqual(hp.machine.state.state)
        expect(q.script.calls.filter((c) => !c.startsWith("scan") && !c.startsWith("get"))).toEqual([])
        expect(p.client.opened(testShard)).toBe(hp)
      })
    )
  )
})

describe("PersistClient heartbeats and leases", () => {
  const lease = 1_000
  const readerA = LeasedReaderId.make(uuid(11))
  const readerB = LeasedReaderId.make(uuid(12))

  it.scoped("readerHeartbeatTask - a heartbeating reader keeps its lease; a silent one is expired by a later command and its seqno hold goes", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, h } = yield* openedProcess()
        // B registers first (the older hold), then A; only A heartbeats.
        const b = yield* h.machine.registerLeasedReader(readerB, "silent", lease)
        const a = yield* h.machine.registerLeasedReader(readerA, "heartbeating", lease)
        expect(b.reader.seqno).toBeLessThan(a.reader.seqno)
        expect(h.machine.seqnoSince).toBe(b.reader.seqno)
        yield* p.client.spawn(p.client.readerHeartbeatTask(h, readerA, lease))
        const advance = (ms: number) =>
          Effect.gen(function* () {
            for (let t = 0; t < ms; t += lease / 2) {
              yield* TestClock.adjust(lease / 2)
              yield* settle()
            }
          })
        // At t = lease, B's lease has not run out yet (expiry is strictly after last + lease).
        yield* advance(lease)
        let cur = yield* durableState(stores)
        expect(cur.collections.leasedReaders.has(readerB)).toBe(true)
        expect(seqnoSince(cur)).toBe(b.reader.seqno)
        // At t = 1.5 lease, A's heartbeat is the later command whose expire_at drops B.
        yield* advance(lease / 2)
        cur = yield* durableState(stores)
        expect(cur.collections.leasedReaders.has(readerB)).toBe(false)
        expect(cur.collections.leasedReaders.get(readerA)?.lastHeartbeatTimestampMs).toBe(1.5 * lease)
        expect(seqnoSince(cur)).toBe(a.reader.seqno)
        expect(h.machine.seqnoSince).toBe(a.reader.seqno)
        // A keeps its lease for as long as its task runs.
        yield* advance(5 * lease)
        cur = yield* durableState(stores)
        expect(cur.collections.leasedReaders.get(readerA)?.lastHeartbeatTimestampMs).toBe(6.5 * lease)
        expect(p.metrics.warnings).toEqual([])
        expect(p.failures).toEqual([])
      })
    )
  )

  it.scoped("downgradeSince - an expired reader gets the empty since and nothing is written (RACE-17)", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, h } = yield* openedProcess()
        yield* h.machine.registerLeasedReader(readerB, "sleepy", lease)
        const live = yield* h.machine.downgradeSince(readerB, null, Antichain.from(3))
        expect(live.since).toEqual([3])
        yield* TestClock.adjust(lease + 1)
        // Any later command expires B.
        yield* h.machine.registerLeasedReader(readerA, "other", lease)
        expect(h.machine.state.state.collections.leasedReaders.has(readerB)).toBe(false)
        const rowsBefore = rowSeqnos(stores)
        const expired = yield* h.machine.downgradeSince(readerB, null, Antichain.from(5))
        expect(expired.since).toEqual(Antichain.empty)
        expect(rowSeqnos(stores)).toEqual(rowsBefore)
        expect(p.metrics.get("cmd.noop")).toBe(1)
      })
    )
  )

  it.scoped("readerHeartbeatTask - the task of a reader that was already expired stops with a warning", () =>
    seeded(
      Effect.gen(function* () {
        const { p, h } = yield* openedProcess()
        yield* h.machine.registerLeasedReader(readerB, "sleepy", lease)
        yield* TestClock.adjust(lease + 1)
        yield* h.machine.registerLeasedReader(readerA, "other", lease)
        const task = yield* Effect.fork(p.client.readerHeartbeatTask(h, readerB, lease))
        yield* TestClock.adjust(lease / 2)
        yield* task.await
        expect(p.metrics.warnings.map((w) => w.kind)).toEqual(["readerHeartbeatStopped"])
      })
    )
  )

  it.scoped("writerHeartbeatTask - a heartbeating writer outlives its lease; without the task it is expired", () =>
    seeded(
      Effect.gen(function* () {
        const stores = newStores()
        const cfg = { writerLeaseDurationMs: lease }
        const p = yield* startProcess(stores, "p1", cfg)
        const h = yield* open(p)
        const kept = testWriter(1)
        const lost = testWriter(2)
        yield* appendOk(p, h, kept, 0, 1)
        yield* appendOk(p, h, lost, 1, 2)
        yield* p.client.spawn(p.client.writerHeartbeatTask(h, kept))
        for (let t = 0; t < 3 * lease; t += lease / 4) {
          yield* TestClock.adjust(lease / 4)
          yield* settle()
        }
        const cur = yield* durableState(stores)
        expect(cur.collections.writers.has(kept)).toBe(true)
        expect(cur.collections.writers.has(lost)).toBe(false)
        expect(p.failures).toEqual([])
      })
    )
  )
})
