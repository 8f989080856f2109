/**
 * Blob key formats (spec DM-3): partial keys live in state, full keys in Blob.
 *
 * - batch part: `<writer_key>/<part_id>`, e.g. `w<uuid>/p<uuid>`; full `<shard>/<writer>/<part>`
 * - rollup: `v<seqno>/r<uuid>`; full `<shard>/v<seqno>/r<uuid>`
 *
 * Rollup keys compare as strings ("v10/…" < "v9/…"), so nothing may use key order as seqno
 * order: rollups are keyed by numeric SeqNo everywhere.
 */
import { Either, Schema } from "effect"
import { type PartId, type RollupId, type ShardId, type WriterId, PartId as PartIdM, RollupId as RollupIdM, ShardId as ShardIdM, WriterId as WriterIdM } from "./Ids.ts"
import { SeqNo } from "./SeqNo.ts"

export type PartialRollupKey = `v${number}/r${string}`
export type PartialBatchKey = `${WriterId}/${PartId}`
export type PartialBlobKey =
  | { readonly _tag: "Batch"; readonly writerKey: WriterId; readonly partId: PartId }
  | { readonly _tag: "Rollup"; readonly seqno: SeqNo; readonly rollupId: RollupId }

const UUID_SRC = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
const PARTIAL_ROLLUP_KEY = new RegExp(`^v(0|[1-9][0-9]*)/r${UUID_SRC}$`)
const PARTIAL_BATCH_KEY = new RegExp(`^w${UUID_SRC}/p${UUID_SRC}$`)

export const PartialRollupKey = {
  new: (seqno: SeqNo, rollupId: RollupId): PartialRollupKey => `${SeqNo.render(seqno)}/${rollupId}` as PartialRollupKey,
  /**
   * Whether `s` is a partial rollup key: the same answer as `BlobKey.parseIds` on the full key
   * (tested), in one regex test, since every encode and decode checks every key.
   */
  isValid: (s: string): boolean => PARTIAL_ROLLUP_KEY.test(s) && Number.isSafeInteger(Number(s.slice(1, s.indexOf("/")))),
  complete: (key: PartialRollupKey, shardId: ShardId): string => `${shardId}/${key}`
}

export const PartialBatchKey = {
  new: (writer: WriterId, part: PartId): PartialBatchKey => `${writer}/${part}`,
  /** Whether `s` is a partial batch part key (as `BlobKey.parseIds` decides, in one regex test). */
  isValid: (s: string): boolean => PARTIAL_BATCH_KEY.test(s),
  complete: (key: PartialBatchKey, shardId: ShardId): string => `${shardId}/${key}`
}

export class BlobKeyParseError extends Schema.TaggedError<BlobKeyParseError>()("BlobKeyParseError", {
  key: Schema.String,
  reason: Schema.String
}) {}

export const BlobKey = {
  /**
   * Splits a full key into its shard and partial key: after the shard id, a key starting with
   * `w` is a batch part; otherwise it must be `v<seqno>/r<uuid>`.
   */
  parseIds: (key: string): Either.Either<readonly [ShardId, PartialBlobKey], BlobKeyParseError> => {
    const fail = (reason: string) => Either.left(new BlobKeyParseError({ key, reason }))
    const slash = key.indexOf("/")
    if (slash < 0) return fail("no shard id prefix")
    const shardId = ShardIdM.parse(key.slice(0, slash))
    if (shardId === undefined) return fail("invalid shard id")
    const rest = key.slice(slash + 1).split("/")
    if (rest.length !== 2) return fail("expected exactly two path segments after the shard id")
    const [first, second] = rest as [string, string]
    if (first.startsWith("w")) {
      const writerKey = WriterIdM.parse(first)
      const partId = PartIdM.parse(second)
      if (writerKey === undefined || partId === undefined) return fail("invalid batch part key")
      return Either.right([shardId, { _tag: "Batch", writerKey, partId }] as const)
    }
    const seqno = SeqNo.parse(first)
    const rollupId = RollupIdM.parse(second)
    if (seqno === undefined || rollupId === undefined) return fail("invalid rollup key")
    return Either.right([shardId, { _tag: "Rollup", seqno, rollupId }] as const)
  },
  /** Whether a full key (as listed or stored) names a rollup rather than a batch part. */
  isRollup: (key: string): boolean => key.charCodeAt(key.indexOf("/") + 1) === 118 /* "v" */,
  /** The listing prefix of one shard's blobs. */
  shardPrefix: (shardId: ShardId): string => `${shardId}/`
}
