import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Antichain } from "./Antichain.ts"
import { gcAndTruncate } from "./Gc.ts"
import { detectLeakedBlobs } from "./LeakedBlobs.ts"
import { seqnoSince } from "./State.ts"
import { blobKeys, observer, openedProcess, seeded, testShard, testWriter } from "./testing/Processes.ts"

describe("writeBatch: inline writes (persist's inline_writes_single_max_bytes)", () => {
  it.scoped("writeBatch - off (0, the port's default) every part is a blob; at 4096 a batch is one inline part and writes nothing", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p } = yield* openedProcess()
        const before = blobKeys(stores).length
        const hollow = yield* p.client.writeBatch(testShard, testWriter(), Antichain.from(0), Antichain.from(1), 2, 2)
        expect(hollow.parts.map((x) => x._tag)).toEqual(["Hollow", "Hollow"])
        expect(blobKeys(stores).length).toBe(before + 2)
        const { stores: s2, p: p2 } = yield* openedProcess({ inlineWritesSingleMaxBytes: 4096 })
        const before2 = blobKeys(s2).length
        const inline = yield* p2.client.writeBatch(testShard, testWriter(), Antichain.from(0), Antichain.from(1), 2, 2)
        expect(inline.parts).toHaveLength(1)
        expect(inline.parts[0]!._tag).toBe("Inline")
        expect(blobKeys(s2).length).toBe(before2)
      })
    )
  )

  it.scoped("writeBatch - the threshold is the whole batch's size: at 128 bytes a one-part batch is inline, a two-part one is written", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p } = yield* openedProcess({ inlineWritesSingleMaxBytes: 128 })
        const one = yield* p.client.writeBatch(testShard, testWriter(), Antichain.from(0), Antichain.from(1), 1, 1)
        const two = yield* p.client.writeBatch(testShard, testWriter(), Antichain.from(0), Antichain.from(1), 2, 2)
        const none = yield* p.client.writeBatch(testShard, testWriter(), Antichain.from(0), Antichain.from(1), 0, 0)
        expect(one.parts.map((x) => x._tag)).toEqual(["Inline"])
        expect(two.parts.map((x) => x._tag)).toEqual(["Hollow", "Hollow"])
        expect(none.parts).toEqual([])
        for (const x of two.parts) if (x._tag === "Hollow") expect(blobKeys(stores)).toContain(`${testShard}/${x.key}`)
      })
    )
  )

  it.scoped("writeBatch - compaction never inlines its output, and GC over inline batches counts and deletes only blobs", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, h } = yield* openedProcess({ inlineWritesSingleMaxBytes: 4096, rollupThreshold: 3, rollupUseActiveRollup: false })
        const w = testWriter()
        let compacted = 0
        for (let i = 0; i < 12; i++) {
          const batch = yield* p.client.writeBatch(testShard, w, Antichain.from(i), Antichain.from(i + 1), 1, 1)
          const res = yield* h.machine.compareAndAppend(batch, w, p.client.debug("test"))
          if (res._tag !== "Success") return expect.fail(`append ${i} failed`)
          if (res.maintenance.writeRollup !== null) yield* h.machine.addRollupForCurrentSeqno()
          for (const mr of res.mergeReqs) (yield* p.client.compact(h, w, mr), compacted++)
        }
        expect(compacted).toBeGreaterThan(0)
        const parts = h.machine.state.state.collections.trace.batches.flatMap((b) => b.parts)
        expect(parts.some((x) => x._tag === "Hollow")).toBe(true)
        expect(parts.some((x) => x._tag === "Inline")).toBe(true)
        const before = blobKeys(stores).length
        const [, results] = yield* gcAndTruncate(h.machine, { shardId: testShard, newSeqnoSince: seqnoSince(h.machine.state.state) })
        // Every delete GC counts removed a blob: inline parts have none and are not counted.
        expect(results.batchPartsDeletedFromBlob).toBeGreaterThan(0)
        expect(before - blobKeys(stores).length).toBe(results.batchPartsDeletedFromBlob + results.rollupsDeletedFromBlob)
        const report = yield* detectLeakedBlobs(observer(stores), testShard)
        expect(report.leaked).toEqual([])
      })
    )
  )
})
