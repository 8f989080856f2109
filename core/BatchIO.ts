/**
 * A writer's batch parts in Blob: written before the batch is appended (so state never names
 * a part that is not there, INV-17), and deleted by the writer when the batch never made it
 * into state (persist's `Batch::delete`), or else they leak.
 */
import { Effect } from "effect"
import { Antichain } from "./Antichain.ts"
import { withOp } from "./Attribution.ts"
import { PartId, type ShardId, type WriterId } from "./Ids.ts"
import { PartialBatchKey } from "./Paths.ts"
import { retryExternal, type RetryContext } from "./Retry.ts"
import type { HollowBatch } from "./State.ts"
import type { StateVersions } from "./StateVersions.ts"

/** Writes each part of a new batch to Blob (before the batch is appended). */
export const writeBatch = (
  sv: StateVersions,
  retry: RetryContext,
  shardId: ShardId,
  writerId: WriterId,
  lower: Antichain,
  upper: Antichain,
  partCount: number,
  len: number
): Effect.Effect<HollowBatch> =>
  withOp("batch_write_part")(
    Effect.gen(function* () {
      const parts: Array<HollowBatch["parts"][number]> = []
      for (let i = 0; i < partCount; i++) {
        const key = PartialBatchKey.new(writerId, yield* PartId.random)
        const bytes = new TextEncoder().encode(`part ${key} [${Antichain.render(lower)}, ${Antichain.render(upper)})`)
        yield* retryExternal(retry, "batchSet", sv.blob.set(PartialBatchKey.complete(key, shardId), bytes))
        parts.push({ _tag: "Hollow", key, encodedSizeBytes: bytes.byteLength })
      }
      return { desc: { lower, upper, since: Antichain.minimum }, len, parts }
    })
  )

/** Deletes the parts of a batch that never made it into state. */
export const deleteBatch = (sv: StateVersions, retry: RetryContext, shardId: ShardId, batch: HollowBatch): Effect.Effect<void> =>
  withOp("batch_delete")(
    Effect.forEach(
      batch.parts,
      (p) => (p._tag === "Hollow" ? Effect.asVoid(retryExternal(retry, "batchDelete", sv.blob.delete(PartialBatchKey.complete(p.key, shardId)))) : Effect.void),
      { discard: true }
    )
  )
