import { describe, expect, it } from "vitest"
import { MemBlob } from "../../core/Blob.ts"
import { MemConsensus } from "../../core/Consensus.ts"
import { encodeRollup, encodeStateDiff } from "../../core/Encoding.ts"
import { PartialBatchKey, PartialRollupKey } from "../../core/Paths.ts"
import { defaultPersistConfig } from "../../core/PersistConfig.ts"
import { SeqNo } from "../../core/SeqNo.ts"
import type { State } from "../../core/State.ts"
import { fromDiff } from "../../core/StateDiff.ts"
import { batch, hollowPart, leased, makeState, partId, readerId, rollupKey, shard, writerId } from "../../core/testing/Fixtures.ts"
import { Checker } from "./Checker.ts"

const buildVersion = defaultPersistConfig.buildVersion
const part = hollowPart(1, 7)
const compacted = hollowPart(1, 8)
const partKey = PartialBatchKey.complete(PartialBatchKey.new(writerId(1), partId(7)), shard)
const rollupBlob = (seqno: number) => PartialRollupKey.complete(rollupKey(seqno), shard)

/**
 * A hand-built history, fed to the checker as the world would: rows committed to Consensus,
 * blobs written before they are linked.
 *   v1 rollup 1 | v2 + batch with `part` | v3 + rollup 2 | truncate < 2 | v4 - rollup 1, - batch
 * A leased reader holds `hold` from v2 on.
 */
const history = (hold: number) => {
  const consensus = new MemConsensus()
  const blob = new MemBlob()
  const checker = new Checker(shard, consensus, blob, buildVersion)
  const reader = (seqno: number) => [[readerId(1), leased(seqno, 0, 0, 1_000_000)] as const]
  const states: Array<State> = [
    makeState({ seqno: 1, rollups: [1], walltimeMs: 1 }),
    makeState({ seqno: 2, rollups: [1], walltimeMs: 2, leasedReaders: reader(2), batches: [batch(0, 1, { parts: [part] })] }),
    makeState({ seqno: 3, rollups: [1, 2], walltimeMs: 3, leasedReaders: reader(2), batches: [batch(0, 1, { parts: [part] })] }),
    // Compaction replaced the batch: same range, a new part.
    makeState({ seqno: 4, rollups: [2], walltimeMs: 4, leasedReaders: reader(hold), batches: [batch(0, 1, { parts: [compacted] })] })
  ]
  blob.unsafeSet(rollupBlob(1), encodeRollup({ state: states[0]!, codecs: defaultPersistConfig.codecs, diffs: null }))
  blob.unsafeSet(partKey, new Uint8Array(1))
  blob.unsafeSet(PartialBatchKey.complete(PartialBatchKey.new(writerId(1), partId(8)), shard), new Uint8Array(1))
  // The checker decodes every linked rollup and compares it with its replayed state.
  blob.unsafeSet(rollupBlob(2), encodeRollup({ state: states[1]!, codecs: defaultPersistConfig.codecs, diffs: null }))
  let prev = makeState({ seqno: 0, rollups: [], walltimeMs: 0 })
  for (const next of states) {
    const row = { seqno: next.seqno, data: encodeStateDiff(fromDiff(prev, next)) }
    consensus.unsafeCompareAndSet(shard, prev.seqno === 0 ? null : prev.seqno, row)
    checker.onCommit(row)
    if (next.seqno === 3) {
      consensus.unsafeTruncate(shard, SeqNo(2))
      checker.onTruncate()
    }
    checker.afterStep()
    prev = next
  }
  const del = (key: string) => {
    blob.unsafeDelete(key)
    checker.onBlobDelete(key)
    checker.afterStep()
    return checker.violations.map((v) => v.invariant)
  }
  return { checker, del }
}

describe("Checker: blob deletions", () => {
  it("a well-formed history holds every invariant", () => {
    expect(history(2).checker.violations).toEqual([])
    expect(history(4).checker.violations).toEqual([])
  })

  it("deleting a rollup the current state no longer lists is fine, even if an older live state does (INV-15)", () => {
    // maybe_init_shard's cleanup can do this after a long stall (sweep seeds 4883, 5727, 6637).
    expect(history(2).del(rollupBlob(1))).toEqual([])
  })

  it("deleting a rollup the current state lists is INV-9", () => {
    expect(history(2).del(rollupBlob(2))).toContain("INV-9")
  })

  it("deleting a part that a state >= seqno_since still references is INV-17", () => {
    // The reader holds v2; v3 still references the part, which v4 dropped.
    expect(history(2).del(partKey)).toEqual(["INV-17"])
  })

  it("deleting a part only states below seqno_since referenced is fine", () => {
    expect(history(4).del(partKey)).toEqual([])
  })

  it("linking a blob that is not in Blob is INV-9 / INV-17 at commit", () => {
    const consensus = new MemConsensus()
    const blob = new MemBlob()
    const checker = new Checker(shard, consensus, blob, buildVersion)
    const s1 = makeState({ seqno: 1, rollups: [1], walltimeMs: 1 })
    blob.unsafeSet(rollupBlob(1), encodeRollup({ state: s1, codecs: defaultPersistConfig.codecs, diffs: null }))
    const s2 = makeState({ seqno: 2, rollups: [1], walltimeMs: 2, batches: [batch(0, 1, { parts: [part] })] })
    const rows = [
      { seqno: SeqNo(1), data: encodeStateDiff(fromDiff(makeState({ seqno: 0, rollups: [], walltimeMs: 0 }), s1)) },
      { seqno: SeqNo(2), data: encodeStateDiff(fromDiff(s1, s2)) }
    ]
    for (const row of rows) {
      consensus.unsafeCompareAndSet(shard, row.seqno === 1 ? null : SeqNo(row.seqno - 1), row)
      checker.onCommit(row)
    }
    expect(checker.violations.map((v) => v.invariant)).toEqual(["INV-17"])
  })
})

describe("Checker: after a diff that does not apply", () => {
  it("reports INV-8 once, stops checking, and survives later truncations and commits", () => {
    const consensus = new MemConsensus()
    const blob = new MemBlob()
    const checker = new Checker(shard, consensus, blob, buildVersion)
    const s1 = makeState({ seqno: 1, rollups: [1], walltimeMs: 1 })
    blob.unsafeSet(rollupBlob(1), encodeRollup({ state: s1, codecs: defaultPersistConfig.codecs, diffs: null }))
    // Row 2 is a diff from a state 1 that never was (another reader at 1): it cannot apply.
    const other1 = makeState({ seqno: 1, rollups: [1], walltimeMs: 1, leasedReaders: [[readerId(9), leased(1, 0, 0, 1_000)] as const] })
    const states = [1, 2, 3, 4, 5].map((n) => makeState({ seqno: n, rollups: [1], walltimeMs: n }))
    const rows = [
      { seqno: SeqNo(1), data: encodeStateDiff(fromDiff(makeState({ seqno: 0, rollups: [], walltimeMs: 0 }), s1)) },
      { seqno: SeqNo(2), data: encodeStateDiff(fromDiff(other1, states[1]!)) },
      ...[3, 4, 5].map((n) => ({ seqno: SeqNo(n), data: encodeStateDiff(fromDiff(states[n - 2]!, states[n - 1]!)) }))
    ]
    const run = () => {
      for (const row of rows) {
        consensus.unsafeCompareAndSet(shard, row.seqno === 1 ? null : SeqNo(row.seqno - 1), row)
        checker.onCommit(row)
        checker.afterStep()
        if (row.seqno >= 3) {
          // Truncations remove the states the checker stopped at; before issue 14 the next commit threw.
          consensus.unsafeTruncate(shard, SeqNo(row.seqno))
          checker.onTruncate()
          checker.onBlobDelete(rollupBlob(1))
          checker.onCachedSeqno("p0", row.seqno)
          checker.afterStep()
        }
      }
    }
    expect(run).not.toThrow()
    expect(checker.violations.map((v) => `${v.invariant}/${v._tag}`)).toEqual(["INV-8/DiffDoesNotApply", "CHECKER/CheckerFailed"])
  })
})

describe("Checker: its own replay", () => {
  it("a process caching a state the history does not give is INV-4 by content, with the field", () => {
    const { checker } = history(2)
    const lie = makeState({ seqno: 4, rollups: [2], walltimeMs: 4, leasedReaders: [[readerId(1), leased(2, 0, 0, 1_000_000)] as const], batches: [batch(0, 1, { parts: [part] })] })
    checker.onCachedState("p1", lie)
    const v = checker.violations.find((x) => x._tag === "CachedStateWrong")
    expect(v?.invariant).toBe("INV-4")
    expect(v?._tag === "CachedStateWrong" && v.path).toMatch(/trace\.batches\[0\]\.parts\[0\]/)
  })

  it("a writer acknowledged a batch no version held is a lost append", () => {
    const { checker } = history(2)
    checker.onAcked({ _tag: "Append", process: "p0", writerId: writerId(1), seqno: 4, batch: batch(1, 2, { parts: [hollowPart(1, 99)] }) })
    checker.onAcked({ _tag: "Append", process: "p0", writerId: writerId(1), seqno: 4, batch: batch(0, 1, { parts: [part] }) })
    expect(checker.violations.map((v) => `${v.invariant}/${v._tag}`)).toEqual(["HIST-append/AckedBatchNotCommitted"])
  })

  it("a reader acknowledged a since other than the state's is HIST-hold", () => {
    const { checker } = history(2)
    checker.onAcked({ _tag: "Downgrade", process: "p1", readerId: readerId(1), seqno: 4, since: [0] })
    checker.onAcked({ _tag: "Downgrade", process: "p1", readerId: readerId(1), seqno: 4, since: [3] })
    expect(checker.violations.map((v) => `${v.invariant}/${v._tag}`)).toEqual(["HIST-hold/AckedHoldWrong"])
  })
})
