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
  blob.unsafeSet(rollupBlob(2), new Uint8Array(1))
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
