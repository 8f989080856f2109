/**
 * Leaked-blob detection: lists a shard's blobs and compares them with every blob some live
 * state references. What no live state references is leaked: a rollup or batch part written
 * by a process that crashed before linking it, a rollup that lost an Indeterminate race
 * (RACE-6), or a rollup below the earliest live diff (INV-16).
 *
 * It never deletes anything: a blob written but not yet linked by a process that is still
 * running looks exactly like a leak, so the report is a finding to be read at quiescence.
 */
import { BugSwitches } from "./BugSwitches.ts"
import { Effect, Either, Option } from "effect"
import type { ShardId } from "./Ids.ts"
import { BlobKey } from "./Paths.ts"
import { retryExternal } from "./Retry.ts"
import { withOp } from "./Attribution.ts"
import { SeqNo } from "./SeqNo.ts"
import { referencedBlobKeys } from "./State.ts"
import type { StateVersions } from "./StateVersions.ts"

export interface LeakedBlob {
  readonly key: string
  readonly kind: "rollup" | "part" | "unparseable"
  readonly sizeInBytes: number
  /** For rollups: the seqno in the key, and whether it is below the earliest live diff. */
  readonly seqno: SeqNo | null
  readonly belowEarliest: boolean
}

export interface LeakReport {
  readonly listed: number
  readonly referenced: number
  readonly earliest: SeqNo | null
  readonly leaked: ReadonlyArray<LeakedBlob>
}

export const detectLeakedBlobs = (sv: StateVersions, shardId: ShardId): Effect.Effect<LeakReport> =>
  Effect.gen(function* () {
    const bugs = yield* BugSwitches
    const listed = yield* withOp("detect_leaked_blobs")(retryExternal({ cfg: sv.cfg, metrics: sv.metrics }, "listKeys", sv.blob.listKeysAndMetadata(BlobKey.shardPrefix(shardId))))
    const referenced = new Set<string>()
    const iter = yield* sv.fetchAllLiveStates(shardId)
    let earliest: SeqNo | null = null
    if (Option.isSome(iter)) {
      for (let s = iter.value.next(); s !== undefined; s = iter.value.next()) {
        const isEarliest = earliest === null
        if (earliest === null) earliest = s.seqno
        if (isEarliest && bugs.leakDetectorSkipsEarliest) continue
        for (const k of referencedBlobKeys(s)) referenced.add(k)
      }
    }
    const leaked: Array<LeakedBlob> = []
    for (const m of listed) {
      if (referenced.has(m.key)) continue
      const parsed = BlobKey.parseIds(m.key)
      if (Either.isLeft(parsed)) {
        leaked.push({ key: m.key, kind: "unparseable", sizeInBytes: m.sizeInBytes, seqno: null, belowEarliest: false })
        continue
      }
      const partial = parsed.right[1]
      if (partial._tag === "Rollup") {
        leaked.push({ key: m.key, kind: "rollup", sizeInBytes: m.sizeInBytes, seqno: partial.seqno, belowEarliest: earliest === null || partial.seqno < earliest })
      } else leaked.push({ key: m.key, kind: "part", sizeInBytes: m.sizeInBytes, seqno: null, belowEarliest: false })
    }
    return { listed: listed.length, referenced: referenced.size, earliest, leaked }
  })
