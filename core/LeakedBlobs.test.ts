import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Antichain } from "./Antichain.ts"
import { gcAndTruncate } from "./Gc.ts"
import { RollupId, ShardId } from "./Ids.ts"
import { detectLeakedBlobs } from "./LeakedBlobs.ts"
import { seqnoSince } from "./State.ts"
import { appendOk, blobKeys, newStores, observer, open, openedProcess, rowSeqnos, seeded, startProcess, testShard, testWriter, uuid } from "./testing/Processes.ts"

const cfg = { rollupThreshold: 3, rollupUseActiveRollup: false } as const

describe("detectLeakedBlobs", () => {
  it.scoped("detectLeakedBlobs - a fresh shard has exactly its initial rollup and no leak", () =>
    seeded(
      Effect.gen(function* () {
        const stores = newStores()
        const p = yield* startProcess(stores, "p1")
        yield* open(p)
        const report = yield* detectLeakedBlobs(observer(stores), testShard)
        expect(report).toMatchObject({ listed: 1, referenced: 1, earliest: 1, leaked: [] })
      })
    )
  )

  it.scoped("detectLeakedBlobs - a written but never appended part and a written but never linked rollup are leaks", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, h } = yield* openedProcess(cfg)
        const w = testWriter()
        yield* appendOk(p, h, w, 0, 1)
        const orphan = yield* p.client.writeBatch(testShard, w, Antichain.from(1), Antichain.from(2), 2, 1)
        const rollup = Option.getOrThrow(yield* h.machine.applier.writeRollupForState(RollupId.make(uuid(700))))
        const report = yield* detectLeakedBlobs(observer(stores), testShard)
        const partKeys = orphan.parts.map((x) => (x._tag === "Hollow" ? `${testShard}/${x.key}` : "")).sort()
        expect(report.leaked.filter((l) => l.kind === "part").map((l) => l.key)).toEqual(partKeys)
        expect(report.leaked.filter((l) => l.kind === "rollup")).toEqual([
          { key: `${testShard}/${rollup.key}`, kind: "rollup", sizeInBytes: rollup.buf.byteLength, seqno: 2, belowEarliest: false }
        ])
        expect(report.listed).toBe(blobKeys(stores).length)
        expect(report.leaked).toHaveLength(3)
      })
    )
  )

  it.scoped("detectLeakedBlobs - blobs referenced only by older live states are not leaks; once truncated away and deleted they are gone", () =>
    seeded(
      Effect.gen(function* () {
        const { stores, p, h } = yield* openedProcess(cfg)
        const w = testWriter()
        for (let i = 0; i < 12; i++) {
          const res = yield* appendOk(p, h, w, i, i + 1)
          if (res.maintenance.writeRollup !== null) yield* h.machine.addRollupForCurrentSeqno()
          for (const mr of res.mergeReqs) yield* p.client.compact(h, w, mr)
        }
        // Compaction replaced parts the current state no longer lists; live states still do.
        const before = yield* detectLeakedBlobs(observer(stores), testShard)
        expect(before.leaked).toEqual([])
        expect(before.referenced).toBe(before.listed)
        yield* gcAndTruncate(h.machine, { shardId: testShard, newSeqnoSince: seqnoSince(h.machine.state.state) })
        const after = yield* detectLeakedBlobs(observer(stores), testShard)
        expect(after.leaked).toEqual([])
        expect(after.earliest).toBe(rowSeqnos(stores)[0])
        expect(after.listed).toBeLessThan(before.listed)
      })
    )
  )

  it.scoped("detectLeakedBlobs - unparseable keys are reported as such; an uninitialized shard leaks every blob", () =>
    seeded(
      Effect.gen(function* () {
        const stores = newStores()
        stores.blob.unsafeSet(`${testShard}/junk`, new Uint8Array(3))
        stores.blob.unsafeSet(`${testShard}/v4/r${uuid(5)}`, new Uint8Array(2))
        stores.blob.unsafeSet(`${ShardId.make(uuid(2))}/v1/r${uuid(6)}`, new Uint8Array(1))
        const report = yield* detectLeakedBlobs(observer(stores), testShard)
        expect(report.earliest).toBeNull()
        expect(report.leaked).toEqual([
          { key: `${testShard}/junk`, kind: "unparseable", sizeInBytes: 3, seqno: null, belowEarliest: false },
          { key: `${testShard}/v4/r${uuid(5)}`, kind: "rollup", sizeInBytes: 2, seqno: 4, belowEarliest: true }
        ])
        // Another shard's blobs are not listed.
        expect(report.listed).toBe(2)
      })
    )
  )
})
