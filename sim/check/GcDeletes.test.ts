import { describe, expect, it } from "vitest"
import { MemBlob } from "../../core/Blob.ts"
import { MemConsensus } from "../../core/Consensus.ts"
import { encodeRollup, encodeStateDiff } from "../../core/Encoding.ts"
import { PartialBatchKey, PartialRollupKey } from "../../core/Paths.ts"
import { defaultPersistConfig } from "../../core/PersistConfig.ts"
import { SeqNo } from "../../core/SeqNo.ts"
import { fromDiff } from "../../core/StateDiff.ts"
import { batch, hollowPart, makeState, partId, rollupKey, shard, writerId } from "../../core/testing/Fixtures.ts"
import { Checker } from "./Checker.ts"
import { GC_DELETE_OP, gcDeleteProblem } from "./GcDeletes.ts"
import type { RequestBy } from "./Violations.ts"

const gc: RequestBy = { process: "p1", task: "gc-worker", cmd: "", op: GC_DELETE_OP }
const writer: RequestBy = { process: "p1", task: "writer", cmd: "", op: "batch_delete" }
const linked = PartialBatchKey.complete(PartialBatchKey.new(writerId(1), partId(7)), shard)
const unlinked = PartialBatchKey.complete(PartialBatchKey.new(writerId(1), partId(9)), shard)

/** v1 (rollup 1) and v2 linking one part; `unlinked` was written and never linked. */
const checker = () => {
  const consensus = new MemConsensus()
  const blob = new MemBlob()
  const c = new Checker(shard, consensus, blob, defaultPersistConfig.buildVersion)
  const s1 = makeState({ seqno: 1, rollups: [1], walltimeMs: 1 })
  const s2 = makeState({ seqno: 2, rollups: [1], walltimeMs: 2, batches: [batch(0, 1, { parts: [hollowPart(1, 7)] })] })
  blob.unsafeSet(PartialRollupKey.complete(rollupKey(1), shard), encodeRollup({ state: s1, codecs: defaultPersistConfig.codecs, diffs: null }))
  blob.unsafeSet(linked, new Uint8Array(1))
  blob.unsafeSet(unlinked, new Uint8Array(1))
  let prev = makeState({ seqno: 0, rollups: [], walltimeMs: 0 })
  for (const next of [s1, s2]) {
    const row = { seqno: SeqNo(next.seqno), data: encodeStateDiff(fromDiff(prev, next)) }
    consensus.unsafeCompareAndSet(shard, prev.seqno === 0 ? null : SeqNo(prev.seqno), row)
    c.onCommit(row)
    c.afterStep()
    prev = next
  }
  return c
}

const tags = (key: string, by: RequestBy): Array<string> => {
  const c = checker()
  c.onBlobDelete(key, by)
  c.afterStep()
  return c.violations.map((v) => v._tag)
}

describe("GcDeletes: GC deletes only blobs some committed version referenced", () => {
  it("gcDeleteProblem - only GC's deletes of keys no version referenced", () => {
    const referenced = (k: string) => k === linked
    expect(gcDeleteProblem(unlinked, gc, referenced)).toEqual({ key: unlinked, by: gc })
    expect(gcDeleteProblem(linked, gc, referenced)).toBeUndefined()
    expect(gcDeleteProblem(unlinked, writer, referenced)).toBeUndefined()
  })

  it("Checker - GC deleting a written but never linked part (or a made-up key) is GcDeletedUnreferenced", () => {
    expect(tags(unlinked, gc)).toEqual(["GcDeletedUnreferenced"])
    expect(tags(`${shard}/undefined`, gc)).toEqual(["GcDeletedUnreferenced"])
  })

  it("Checker - a writer deleting its never-linked part is fine; GC deleting a linked part is judged by INV-17 only", () => {
    expect(tags(unlinked, writer)).toEqual([])
    expect(tags(linked, gc)).not.toContain("GcDeletedUnreferenced")
  })
})
