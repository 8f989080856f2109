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

/**
 * Writes each part of a new batch to Blob (before the batch is appended), or, when the whole
 * batch is at most `inlineMaxBytes`, none: the batch is one inline part carried in state
 * (persist's `inline_writes_single_max_bytes`; 0 never inlines). Compaction passes 0: persist
 * writes compaction outputs to Blob.
 */
export const writeBatch = (
  sv: StateVersions,
  retry: RetryContext,
  shardId: ShardId,
  writerId: WriterId,
  lower: Antichain,
  upper: Antichain,
  partCount: number,
  len: number,
  inlineMaxBytes = 0
): Effect.Effect<HollowBatch> =>
  withOp("batch_write_part")(
    Effect.gen(function* () {
      const desc = { lower, upper, since: Antichain.minimum }
      const text = (key: PartialBatchKey) => `part ${key} [${Antichain.render(lower)}, ${Antichain.render(upper)})`
      const encoder = new TextEncoder()
      if (inlineMaxBytes > 0 && partCount > 0) {
        // Every part's key is drawn first (the size decides); off, the draws interleave with
        // the writes exactly as before, so worlds without inline writes keep their digests.
        const keys: Array<PartialBatchKey> = []
        for (let i = 0; i < partCount; i++) keys.push(PartialBatchKey.new(writerId, yield* PartId.random))
        const updates = keys.map(text).join("\n")
        if (encoder.encode(updates).byteLength <= inlineMaxBytes) return { desc, len, parts: [{ _tag: "Inline", updates, tsRewrite: null }] }
        const parts: Array<HollowBatch["parts"][number]> = []
        for (const key of keys) parts.push(yield* writePart(sv, retry, shardId, key, encoder.encode(text(key))))
        return { desc, len, parts }
      }
      const parts: Array<HollowBatch["parts"][number]> = []
      for (let i = 0; i < partCount; i++) {
        const key = PartialBatchKey.new(writerId, yield* PartId.random)
        parts.push(yield* writePart(sv, retry, shardId, key, encoder.encode(text(key))))
      }
      return { desc, len, parts }
    })
  )

const writePart = (sv: StateVersions, retry: RetryContext, shardId: ShardId, key: PartialBatchKey, bytes: Uint8Array) =>
  Effect.as(retryExternal(retry, "batchSet", sv.blob.set(PartialBatchKey.complete(key, shardId), bytes)), {
    _tag: "Hollow" as const,
    key,
    encodedSizeBytes: bytes.byteLength
  })

/** Deletes the parts of a batch that never made it into state. */
export const deleteBatch = (sv: StateVersions, retry: RetryContext, shardId: ShardId, batch: HollowBatch): Effect.Effect<void> =>
  withOp("batch_delete")(
    Effect.forEach(
      batch.parts,
      (p) => (p._tag === "Hollow" ? Effect.asVoid(retryExternal(retry, "batchDelete", sv.blob.delete(PartialBatchKey.complete(p.key, shardId)))) : Effect.void),
      { discard: true }
    )
  )
