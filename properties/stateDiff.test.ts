import * as fc from "fast-check"
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { deepEqual } from "../core/DeepEqual.ts"
import { decodeStateDiff, encodeStateDiff } from "../core/Encoding.ts"
import { SeqNo } from "../core/SeqNo.ts"
import type { State } from "../core/State.ts"
import { applyDiff, batchIdentity, fromDiff, mapBlobDeletes, mapBlobInserts, type StateDiff } from "../core/StateDiff.ts"
import { BUILD_VERSION, mutatedStateArb, nextStateArb, stateArb, statePairArb } from "./arbitraries.ts"

const RUNS = { numRuns: 200, seed: 4242 }

const applied = (a: State, d: StateDiff): State => {
  const r = applyDiff(a, d)
  if (Either.isLeft(r)) throw new Error(`diff did not apply: ${r.left}`)
  return r.right
}

/** Every blob a state references, by identity: batches by content, rollups by key. */
const blobSet = (s: State): Set<string> =>
  new Set([...s.collections.trace.batches.map((b) => `batch ${batchIdentity(b)}`), ...[...s.collections.rollups.values()].map((r) => `rollup ${r.key}`)])

const refName = (ref: Parameters<Parameters<typeof mapBlobInserts>[1]>[0]): string =>
  ref._tag === "Batch" ? `batch ${batchIdentity(ref.batch)}` : `rollup ${ref.rollup.key}`

describe("StateDiff properties", () => {
  it("applyDiff - applying fromDiff(a, b) to a gives b", () => {
    fc.assert(
      fc.property(statePairArb, ([a, b]) => {
        const s = applied(a, fromDiff(a, b))
        return deepEqual(s, b) && s.seqno === SeqNo.next(a.seqno)
      }),
      RUNS
    )
  })

  it("applyDiff - the diff applies the same after an encode/decode round trip", () => {
    fc.assert(
      fc.property(statePairArb, ([a, b]) => {
        const decoded = decodeStateDiff(BUILD_VERSION, encodeStateDiff(fromDiff(a, b)))
        return Either.isRight(decoded) && deepEqual(applied(a, decoded.right), b)
      }),
      RUNS
    )
  })

  it("applyDiff - a diff already applied is a no-op; one for another seqno is an error", () => {
    fc.assert(
      fc.property(statePairArb, ([a, b]) => {
        const d = fromDiff(a, b)
        const again = applyDiff(b, d)
        const stale = applyDiff({ ...a, seqno: SeqNo(a.seqno + 2) }, d)
        return Either.isRight(again) && again.right === b && Either.isLeft(stale)
      }),
      RUNS
    )
  })

  it("applyDiff - chains of mutated versions reconstruct every version", () => {
    const chainArb = stateArb().chain((a) =>
      mutatedStateArb(a).chain((b) => mutatedStateArb(b).chain((c) => nextStateArb(c).map((d) => [a, b, c, d] as const)))
    )
    fc.assert(
      fc.property(chainArb, (versions) => {
        let s = versions[0]
        for (let i = 1; i < versions.length; i++) {
          s = applied(s, fromDiff(versions[i - 1]!, versions[i]!))
          if (!deepEqual(s, versions[i])) return false
        }
        return true
      }),
      { numRuns: 100, seed: 99 }
    )
  })

  it("fromDiff - a version that changes nothing but its seqno has empty field diffs", () => {
    fc.assert(
      fc.property(stateArb(), (a) => {
        const d = fromDiff(a, { ...a, seqno: SeqNo.next(a.seqno) })
        const fields = [d.rollups, d.activeRollup, d.activeGc, d.hostname, d.lastGcReq, d.leasedReaders, d.criticalReaders, d.writers, d.since, d.spine]
        return fields.every((f) => f.length === 0)
      }),
      RUNS
    )
  })

  it("mapBlobInserts/mapBlobDeletes - blobs(b) = blobs(a) - deletes + inserts", () => {
    fc.assert(
      fc.property(statePairArb, ([a, b]) => {
        const d = fromDiff(a, b)
        const set = blobSet(a)
        mapBlobDeletes(d, (ref) => {
          if (!set.delete(refName(ref))) throw new Error(`deleted a blob a does not reference: ${refName(ref)}`)
        })
        mapBlobInserts(d, (ref) => set.add(refName(ref)))
        expect([...set].sort()).toEqual([...blobSet(b)].sort())
      }),
      RUNS
    )
  })

  it("arbitraries - generated pairs exercise every kind of field change", () => {
    const pairs = fc.sample(statePairArb, { numRuns: 300, seed: 1 })
    const count = (f: (d: StateDiff) => boolean) => pairs.filter(([a, b]) => f(fromDiff(a, b))).length
    const has = (tag: string) => (xs: ReadonlyArray<{ val: { _tag: string } }>) => xs.some((x) => x.val._tag === tag)
    for (const [name, n] of [
      ["spine insert", count((d) => has("Insert")(d.spine))],
      ["spine delete", count((d) => has("Delete")(d.spine))],
      ["rollup insert", count((d) => has("Insert")(d.rollups))],
      ["rollup update", count((d) => has("Update")(d.rollups))],
      ["rollup delete", count((d) => has("Delete")(d.rollups))],
      ["reader update", count((d) => has("Update")(d.leasedReaders))],
      ["reader insert", count((d) => has("Insert")(d.leasedReaders))],
      ["writer delete", count((d) => has("Delete")(d.writers))],
      ["since", count((d) => d.since.length > 0)],
      ["no spine change", count((d) => d.spine.length === 0)]
    ] as const) {
      expect(n, name).toBeGreaterThan(10)
    }
    // Both inline and hollow parts appear.
    const parts = pairs.flatMap(([a]) => a.collections.trace.batches.flatMap((b) => b.parts.map((p) => p._tag)))
    expect(new Set(parts)).toEqual(new Set(["Hollow", "Inline"]))
  })
})
