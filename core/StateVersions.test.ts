import { Effect, Exit, Option } from "effect"
import { describe, expect, it } from "vitest"
import { addRollup, heartbeatLeasedReader, registerLeasedReader, removeRollups } from "./Commands.ts"
import { ShardId, RollupId, LeasedReaderId } from "./Ids.ts"
import { Counter } from "./Metrics.ts"
import { panicOf, PersistPanic } from "./Panic.ts"
import { PartialRollupKey } from "./Paths.ts"
import { SeqNo } from "./SeqNo.ts"
import { latestRollup, type TypedState } from "./State.ts"
import { commitCmd, newStores, TestProcess, type TestStores } from "./testing/Harness.ts"
import { decodeStateDiff } from "./Encoding.ts"
import { Either } from "effect"

const shard = ShardId.make("00000000-0000-4000-8000-000000000001")
const rollupId = (n: number) => RollupId.make(`00000000-0000-4000-8000-${String(n).padStart(12, "0")}`)
const readerId = LeasedReaderId.make("00000000-0000-4000-8000-00000000000a")

const init = (p: TestProcess): TypedState => p.run(p.sv.maybeInitShard(shard))
const rollupBlobs = (s: TestStores) => s.blob.unsafeList(`${shard}/v`).map((m) => m.key)

/** Commits `n` heartbeat-style versions (a registered reader heartbeating). */
const advance = (p: TestProcess, s: TypedState, n: number): TypedState => {
  for (let i = 0; i < n; i++) s = commitCmd(p, s, heartbeatLeasedReader(readerId, p.clock.nowMs))
  return s
}

/** Writes a rollup of `s` and links it, like ALG-R, returning the new current state. */
const rollUp = (p: TestProcess, s: TypedState, id: number): TypedState => {
  const encoded = p.run(p.sv.writeRollupForState(s, rollupId(id)))
  if (Option.isNone(encoded)) throw new Error("expected a rollup to be written")
  return commitCmd(p, s, addRollup(s.state.seqno, encoded.value.toHollow()))
}

describe("StateVersions.maybeInitShard", () => {
  it("maybeInitShard - initializes an empty shard at seqno 1 with a self-referential rollup", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    const s = init(p)
    expect(s.state.seqno).toBe(1)
    const [rseq, r] = latestRollup(s.state)
    expect(rseq).toBe(1)
    expect(r.key.startsWith("v1/r")).toBe(true)
    expect(rollupBlobs(stores)).toEqual([`${shard}/${r.key}`])
    const rows = stores.consensus.rows(shard)
    expect(rows.map((x) => x.seqno)).toEqual([1])
    const diff = Either.getOrThrow(decodeStateDiff(p.cfg.buildVersion, rows[0]!.data))
    expect([diff.seqnoFrom, diff.seqnoTo, diff.latestRollupKey]).toEqual([0, 1, r.key])
  })

  it("maybeInitShard - loads an initialized shard without writing anything", () => {
    const stores = newStores()
    const a = new TestProcess(stores, {}, 1)
    const first = init(a)
    const b = new TestProcess(stores, {}, 2)
    const loaded = init(b)
    expect(loaded.state).toEqual(first.state)
    expect(b.script.calls.filter((c) => c.startsWith("set") || c.startsWith("compareAndSet"))).toEqual([])
    expect(rollupBlobs(stores)).toHaveLength(1)
  })

  it("maybeInitShard - init race: the CaS loser deletes its own rollup (RACE-1)", () => {
    const stores = newStores()
    const p = new TestProcess(stores, {}, 1)
    const q = new TestProcess(stores, {}, 2)
    // Q initializes completely between P's rollup write and P's CaS.
    p.script.beforeNext("compareAndSet", () => q.provide(Effect.orDie(Effect.asVoid(q.sv.maybeInitShard(shard)))))
    const ps = init(p)
    const qs = latestRollup(stores.consensus.rows(shard).length === 1 ? init(new TestProcess(stores, {}, 3)).state : ps.state)
    expect(ps.state.seqno).toBe(1)
    expect(latestRollup(ps.state)[1].key).toBe(qs[1].key)
    // Exactly one rollup blob survives: Q's.
    expect(rollupBlobs(stores)).toEqual([`${shard}/${qs[1].key}`])
    expect(p.script.calls.some((c) => c.startsWith("delete"))).toBe(true)
  })

  it("maybeInitShard - an Indeterminate init CaS that committed keeps its rollup (RACE-2)", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    p.script.failNext("compareAndSet", "IndeterminateApplied")
    const s = init(p)
    expect(s.state.seqno).toBe(1)
    // Retried, mismatched against itself, found its own key: no delete.
    expect(p.script.calls.filter((c) => c.startsWith("compareAndSet"))).toHaveLength(2)
    expect(p.script.calls.some((c) => c.startsWith("delete"))).toBe(false)
    expect(rollupBlobs(stores)).toEqual([`${shard}/${latestRollup(s.state)[1].key}`])
    expect(p.metrics.get("retries.external.maybeInitCas")).toBe(1)
  })

  it("maybeInitShard - an Indeterminate init CaS that did not commit, while another initialized, deletes its rollup", () => {
    const stores = newStores()
    const p = new TestProcess(stores, {}, 1)
    const q = new TestProcess(stores, {}, 2)
    p.script.failNext("compareAndSet", "IndeterminateNotApplied")
    // Before P's retry, Q initializes.
    let qState: TypedState | undefined
    p.script.beforeNext("compareAndSet", () => q.provide(Effect.orDie(Effect.map(q.sv.maybeInitShard(shard), (s) => void (qState = s)))))
    const s = init(p)
    expect(qState).toBeDefined()
    expect(latestRollup(s.state)[1].key).toBe(latestRollup(qState!.state)[1].key)
    expect(rollupBlobs(stores)).toEqual([`${shard}/${latestRollup(qState!.state)[1].key}`])
  })

  it("maybeInitShard - a codec mismatch deletes our rollup and returns the CodecMismatch", () => {
    const stores = newStores()
    const other = new TestProcess(stores, { codecs: { key: "Bytes", val: "Bytes", ts: "u64", diff: "i64" } }, 2)
    const p = new TestProcess(stores, {}, 1)
    p.script.beforeNext("compareAndSet", () => other.provide(Effect.asVoid(Effect.either(other.sv.maybeInitShard(shard)))))
    const exit = p.runExit(p.sv.maybeInitShard(shard))
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toContain("CodecMismatch")
    expect(rollupBlobs(stores)).toHaveLength(1)
    expect(p.script.calls.some((c) => c.startsWith("delete"))).toBe(true)
  })

  it("maybeInitShard - the planted initDeletesRollupOnMismatch bug deletes a rollup the state references", async () => {
    const { BugSwitches, noBugs } = await import("./BugSwitches.ts")
    const stores = newStores()
    const p = new TestProcess(stores)
    p.script.failNext("compareAndSet", "IndeterminateApplied")
    const s = p.run(p.sv.maybeInitShard(shard).pipe(Effect.provideService(BugSwitches, { ...noBugs, initDeletesRollupOnMismatch: true })))
    expect(rollupBlobs(stores)).toEqual([])
    expect(s.state.collections.rollups.size).toBe(1)
  })
})

describe("StateVersions.tryCompareAndSetCurrent", () => {
  it("tryCompareAndSetCurrent - retries Determinate errors and commits", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    const s = init(p)
    p.script.failNext("compareAndSet", "Determinate", 3)
    const s2 = commitCmd(p, s, registerLeasedReader("h", readerId, "test", 1000, p.clock.nowMs, false))
    expect(s2.state.seqno).toBe(2)
    expect(p.metrics.get("retries.determinate.applyUnbatchedCmdCas")).toBe(3)
    // Backoff: 0, then 4 ms and 8 ms, each within ±10 %.
    expect(p.clock.slept).toBeGreaterThanOrEqual(0.9 * 12)
    expect(p.clock.slept).toBeLessThanOrEqual(1.1 * 12)
  })

  it("tryCompareAndSetCurrent - surfaces Indeterminate to the caller", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    const s = init(p)
    p.script.failNext("compareAndSet", "IndeterminateApplied")
    expect(() => commitCmd(p, s, registerLeasedReader("h", readerId, "test", 1000, 0, false))).toThrow(/scripted compareAndSet \(applied\)/)
    // It did apply: the head moved.
    expect(stores.consensus.unsafeHead(shard)?.seqno).toBe(2)
  })

  it("tryCompareAndSetCurrent - returns ExpectationMismatch when the head moved", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    const s = init(p)
    commitCmd(p, s, registerLeasedReader("h", readerId, "test", 1000, 0, false))
    expect(() => commitCmd(p, s, registerLeasedReader("h", readerId, "test", 1000, 0, false))).toThrow(/ExpectationMismatch/)
  })
})

describe("StateVersions.fetchCurrentState / fetchRecentLiveDiffs", () => {
  it("fetchRecentLiveDiffs - fast path returns every live diff", () => {
    const stores = newStores()
    const p = new TestProcess(stores, { stateVersionsRecentLiveDiffsLimit: 100 })
    let s = init(p)
    s = commitCmd(p, s, registerLeasedReader("h", readerId, "t", 1e9, 0, false))
    s = advance(p, s, 5)
    const before = p.metrics.get(Counter.fetchRecentLiveDiffsFastPath)
    const diffs = p.run(p.sv.fetchRecentLiveDiffs(shard))
    expect(diffs.map((d) => d.seqno)).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(p.metrics.get(Counter.fetchRecentLiveDiffsFastPath)).toBe(before + 1)
    expect(p.run(p.sv.fetchCurrentState(shard, diffs)).state).toEqual(s.state)
  })

  it("fetchRecentLiveDiffs - slow path scans from the latest rollup when the limit is reached", () => {
    const stores = newStores()
    const p = new TestProcess(stores, { stateVersionsRecentLiveDiffsLimit: 3 })
    let s = init(p)
    s = commitCmd(p, s, registerLeasedReader("h", readerId, "t", 1e9, 0, false))
    s = advance(p, s, 3) // seqno 5
    s = rollUp(p, s, 7) // rollup at 5, linked at 6
    s = advance(p, s, 2) // seqno 8
    const diffs = p.run(p.sv.fetchRecentLiveDiffs(shard))
    expect(diffs.map((d) => d.seqno)).toEqual([5, 6, 7, 8])
    expect(p.metrics.get(Counter.fetchRecentLiveDiffsSlowPath)).toBe(1)
    // Rows at or below the rollup are skipped when applying (DM-6c), the rest applied.
    expect(p.run(p.sv.fetchCurrentState(shard, diffs)).state).toEqual(s.state)
  })

  it("fetchCurrentState - refetches when the hinted rollup is gone (RACE-3)", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    let s = init(p)
    s = commitCmd(p, s, registerLeasedReader("h", readerId, "t", 1e9, 0, false))
    s = advance(p, s, 2) // 4
    const staleHint = p.run(p.sv.fetchRecentLiveDiffs(shard)) // names rollup v1
    s = rollUp(p, s, 9) // rollup at 4, linked at 5
    // GC: truncate to 4, drop rollup 1 from Blob and state.
    const v1 = latestRollup({ ...s.state, collections: { ...s.state.collections, rollups: new Map([[SeqNo(1), s.state.collections.rollups.get(SeqNo(1))!]]) } })[1]
    p.run(p.sv.truncateDiffs(shard, SeqNo(4)))
    p.run(p.sv.deleteRollup(shard, v1.key))
    s = commitCmd(p, s, removeRollups([[SeqNo(1), v1.key]]))
    const fetched = p.run(p.sv.fetchCurrentState(shard, staleHint))
    expect(fetched.state).toEqual(s.state)
    expect(p.metrics.get(Counter.fetchLatestStateRetries)).toBe(1)
    expect(p.metrics.warnings).toEqual([])
  })

  it("fetchCurrentState - warns when the refetch does not advance the earliest diff (RACE-19, blob wiped)", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    const s = init(p)
    const hint = p.run(p.sv.fetchRecentLiveDiffs(shard))
    // Wipe the rollup, then restore it right after the refetch so the loop can end.
    const key = `${shard}/${latestRollup(s.state)[1].key}`
    const bytes = stores.blob.unsafeGet(key)!
    stores.blob.unsafeDelete(key)
    p.script.beforeNext("scan", () => Effect.sync(() => stores.blob.unsafeSet(key, bytes)))
    const fetched = p.run(p.sv.fetchCurrentState(shard, hint))
    expect(fetched.state.seqno).toBe(1)
    expect(p.metrics.warnings.map((w) => w.kind)).toEqual(["fetchCurrentStateEarliestDidNotAdvance"])
  })

  it("fetchCurrentState - panics on an uninitialized shard", () => {
    const p = new TestProcess(newStores())
    const exit = p.runExit(p.sv.fetchCurrentState(shard, []))
    expect(Option.map(panicOf(exit), (x) => x.message)).toEqual(Option.some("initialized shard should have at least one diff"))
  })

  it("fetchRollupAtKey - corrupt rollup bytes are a PersistPanic naming the key, not a crash", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    const s = init(p)
    const key = latestRollup(s.state)[1].key
    stores.blob.unsafeSet(`${shard}/${key}`, new TextEncoder().encode("{not json"))
    const exit = p.runExit(p.sv.fetchRollupAtKey(shard, key))
    const message = Option.getOrThrow(panicOf(exit)).message
    expect(message).toContain(`unable to decode rollup ${key}`)
  })
})

describe("StateVersions.writeRollupForState", () => {
  it("writeRollupForState - no-op for the initial state (noop latest)", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    const s = init(p)
    expect(Option.isNone(p.run(p.sv.writeRollupForState(s, rollupId(5))))).toBe(true)
    expect(p.metrics.get(Counter.rollupWriteNoopLatest)).toBe(1)
  })

  it("writeRollupForState - no-op when the diffs after the latest rollup were truncated (RACE-8)", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    let s = init(p)
    s = commitCmd(p, s, registerLeasedReader("h", readerId, "t", 1e9, 0, false))
    s = advance(p, s, 3) // 5
    const behind = s // latest rollup 1
    s = rollUp(p, s, 2) // rollup at 5 linked at 6
    p.run(p.sv.truncateDiffs(shard, SeqNo(5)))
    expect(Option.isNone(p.run(p.sv.writeRollupForState(behind, rollupId(3))))).toBe(true)
    expect(p.metrics.get("state.rollupWriteNoopTruncatedReal")).toBe(1)
    expect(rollupBlobs(stores)).not.toContain(`${shard}/${PartialRollupKey.new(SeqNo(5), rollupId(3))}`)
  })

  it("writeRollupForState - writes a rollup with the diffs since the latest rollup inlined", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    let s = init(p)
    s = commitCmd(p, s, registerLeasedReader("h", readerId, "t", 1e9, 0, false))
    s = advance(p, s, 2) // 4
    const encoded = Option.getOrThrow(p.run(p.sv.writeRollupForState(s, rollupId(4))))
    expect(encoded.key).toBe(`v4/${rollupId(4)}`)
    expect(encoded.desc).toEqual({ lower: 2, upper: 5 })
    expect(stores.blob.unsafeGet(`${shard}/${encoded.key}`)).toEqual(encoded.buf)
    expect(p.metrics.get(Counter.rollupWriteSuccess)).toBe(1)
    const back = Option.getOrThrow(p.run(p.sv.fetchRollupAtKey(shard, encoded.key)))
    expect(back.state).toEqual(s.state)
  })

  it("writeRollupForState - trims diffs newer than the state", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    let s = init(p)
    s = commitCmd(p, s, registerLeasedReader("h", readerId, "t", 1e9, 0, false))
    const older = advance(p, s, 1) // 3
    advance(p, older, 3) // head 6
    const encoded = Option.getOrThrow(p.run(p.sv.writeRollupForState(older, rollupId(8))))
    expect(encoded.desc).toEqual({ lower: 2, upper: 4 })
  })
})

describe("StateVersions.fetchAllLiveStates", () => {
  it("fetchAllLiveStates - returns none on an uninitialized shard (#17752 regression)", () => {
    const p = new TestProcess(newStores())
    expect(Option.isNone(p.run(p.sv.fetchAllLiveStates(ShardId.make("00000000-0000-4000-8000-0000000000ff"))))).toBe(true)
  })

  it("fetchAllLiveStates - iterates every live state from the earliest rollup", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    let s = init(p)
    s = commitCmd(p, s, registerLeasedReader("h", readerId, "t", 1e9, 0, false))
    s = advance(p, s, 2)
    s = rollUp(p, s, 3) // rollup at 4, linked at 5
    const iter = Option.getOrThrow(p.run(p.sv.fetchAllLiveStates(shard)))
    expect(iter.len).toBe(5)
    const seen: Array<number> = []
    const kinds: Array<string> = []
    for (let st = iter.next((d) => kinds.push(d._tag)); st !== undefined; st = iter.next((d) => kinds.push(d._tag))) seen.push(st.seqno)
    expect(seen).toEqual([1, 2, 3, 4, 5])
    expect(kinds).toEqual(["FromInitial", "Diff", "Diff", "Diff", "Diff"])
    expect(iter.current).toEqual(s.state)
  })

  it("fetchAllLiveStates - refetches when GC deleted the earliest rollup in between (RACE-4)", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    let s = init(p)
    s = commitCmd(p, s, registerLeasedReader("h", readerId, "t", 1e9, 0, false))
    s = advance(p, s, 2) // 4
    s = rollUp(p, s, 3) // 5
    const v1 = s.state.collections.rollups.get(SeqNo(1))!
    // Between P's scan and its rollup read, GC truncates to 4 and deletes rollup 1.
    p.script.beforeNext("get", () =>
      Effect.sync(() => {
        stores.blob.unsafeDelete(`${shard}/${v1.key}`)
        stores.consensus.unsafeTruncate(shard, SeqNo(4))
      })
    )
    const iter = Option.getOrThrow(p.run(p.sv.fetchAllLiveStates(shard)))
    expect(iter.current.seqno).toBe(4)
    expect(p.metrics.get(Counter.fetchLiveStatesRetries)).toBe(1)
  })

  it("fetchRollupAtSeqno - falls back to a key sniffed from the diffs when current lacks the rollup (migration, RACE-11)", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    let s = init(p)
    s = commitCmd(p, s, registerLeasedReader("h", readerId, "t", 1e9, 0, false))
    s = rollUp(p, s, 3) // rollup at 2, linked at 3
    // The buggy GC removed the rollup for the earliest live diff from state without truncating.
    const v1 = s.state.collections.rollups.get(SeqNo(1))!
    s = commitCmd(p, s, removeRollups([[SeqNo(1), v1.key]]))
    const iter = Option.getOrThrow(p.run(p.sv.fetchAllLiveStates(shard)))
    expect(iter.current.seqno).toBe(1)
    expect(p.metrics.get(Counter.rollupAtSeqnoMigration)).toBe(1)
  })

  it("fetchRollupAtSeqno - panics when no diff names the rollup", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    init(p)
    const hint = p.run(p.sv.fetchAllLiveDiffs(shard))
    const exit = p.runExit(p.sv.fetchRollupAtSeqno(shard, hint, SeqNo(7)))
    expect(Option.getOrThrow(panicOf(exit)).message).toBe("someone should have a key for this rollup")
  })
})

describe("StateVersions misc", () => {
  it("truncateDiffs - truncates below the seqno and is idempotent", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    let s = init(p)
    s = commitCmd(p, s, registerLeasedReader("h", readerId, "t", 1e9, 0, false))
    advance(p, s, 3)
    p.run(p.sv.truncateDiffs(shard, SeqNo(3)))
    p.run(p.sv.truncateDiffs(shard, SeqNo(3)))
    expect(stores.consensus.rows(shard).map((r) => r.seqno)).toEqual([3, 4, 5])
  })

  it("fetchAllLiveDiffsGtSeqno - scans strictly after the seqno", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    let s = init(p)
    s = commitCmd(p, s, registerLeasedReader("h", readerId, "t", 1e9, 0, false))
    advance(p, s, 2)
    expect(p.run(p.sv.fetchAllLiveDiffsGtSeqno(shard, SeqNo(2))).map((d) => d.seqno)).toEqual([3, 4])
  })

  it("deleteRollup - retries through errors and tolerates a missing key", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    const s = init(p)
    const key = latestRollup(s.state)[1].key
    p.script.failNext("delete", "IndeterminateNotApplied", 2)
    p.run(p.sv.deleteRollup(shard, key))
    p.run(p.sv.deleteRollup(shard, key))
    expect(rollupBlobs(stores)).toEqual([])
    expect(p.metrics.get("retries.external.rollupDelete")).toBe(2)
  })

  it("StateVersionsIter - the ReferencedBlobValidator panics when a diff re-inserts a rollup an earlier state referenced", () => {
    const stores = newStores()
    const p = new TestProcess(stores)
    let s = init(p)
    s = commitCmd(p, s, registerLeasedReader("h", readerId, "t", 1e9, 0, false)) // 2
    const encoded = Option.getOrThrow(p.run(p.sv.writeRollupForState(s, rollupId(21))))
    s = commitCmd(p, s, addRollup(SeqNo(2), encoded.toHollow())) // 3: links v2
    s = commitCmd(p, s, removeRollups([[SeqNo(2), encoded.key]])) // 4: removes it
    s = commitCmd(p, s, addRollup(SeqNo(2), encoded.toHollow())) // 5: re-inserts it (RACE-P2's shape)
    const iter = Option.getOrThrow(p.run(p.sv.fetchAllLiveStates(shard)))
    const thrown = (() => {
      try {
        while (iter.next() !== undefined) {
          // walk
        }
        return undefined
      } catch (e) {
        return e
      }
    })()
    expect(thrown).toBeInstanceOf(PersistPanic)
    expect((thrown as PersistPanic).message).toBe(`rollup re-inserted: ${encoded.key}`)
  })

  it("StateVersionsIter - without debug assertions the same history iterates (no validator)", () => {
    const stores = newStores()
    const p = new TestProcess(stores, { debugAssertions: false })
    let s = init(p)
    s = commitCmd(p, s, registerLeasedReader("h", readerId, "t", 1e9, 0, false))
    const encoded = Option.getOrThrow(p.run(p.sv.writeRollupForState(s, rollupId(22))))
    s = commitCmd(p, s, addRollup(SeqNo(2), encoded.toHollow()))
    s = commitCmd(p, s, removeRollups([[SeqNo(2), encoded.key]]))
    s = commitCmd(p, s, addRollup(SeqNo(2), encoded.toHollow()))
    const iter = Option.getOrThrow(p.run(p.sv.fetchAllLiveStates(shard)))
    let n = 0
    while (iter.next() !== undefined) n++
    expect(n).toBe(5)
    expect(iter.intoRollupWithoutDiffs().state).toEqual(s.state)
  })
})
