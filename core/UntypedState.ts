/**
 * Applying encoded diffs to a state and checking codecs (persist's `UntypedState`).
 */
import { Either } from "effect"
import type { VersionedData } from "./Consensus.ts"
import { decodeStateDiff } from "./Encoding.ts"
import { CodecMismatch } from "./Errors.ts"
import type { ShardId } from "./Ids.ts"
import type { Codecs } from "./PersistConfig.ts"
import { assertEq, unsafePanic } from "./Panic.ts"
import type { TypedState, UntypedState } from "./State.ts"
import { applyDiff, type StateDiff } from "./StateDiff.ts"

/** Decodes a Consensus row; undecodable bytes are a panic, as in persist. */
export const decodeDiffOrPanic = (buildVersion: string, row: VersionedData): StateDiff => {
  const d = decodeStateDiff(buildVersion, row.data)
  if (Either.isLeft(d)) {
    const e = d.left
    return unsafePanic(
      e._tag === "IncompatibleVersion"
        ? `code at version ${e.codeVersion} cannot read data with version ${e.dataVersion}`
        : `unable to decode state diff at seqno ${row.seqno}: ${e.message}`
    )
  }
  return d.right
}

/**
 * DM-6c: walks the rows in order, applying a row iff its seqno is the running seqno + 1.
 * Rows at or below the state's seqno are skipped, and after a gap so is everything else (the
 * state simply stays behind; callers notice and refetch). A diff that does not apply cleanly
 * is a panic. If the timestamp codec differs, nothing is applied (persist calls this "far too
 * subtle", but it is what the code does).
 */
export const applyEncodedDiffs = (
  untyped: UntypedState,
  buildVersion: string,
  tsCodec: string,
  diffs: ReadonlyArray<VersionedData>,
  /** Planted bug diffAppliedAfterGap (read by the caller): skip only rows at or below the state. */
  applyAfterGap = false
): UntypedState => {
  if (untyped.codecs.ts !== tsCodec) return untyped
  let state = untyped.state
  for (const row of diffs) {
    if (applyAfterGap ? row.seqno <= state.seqno : row.seqno !== state.seqno + 1) continue
    const diff = decodeDiffOrPanic(buildVersion, row)
    assertEq(diff.seqnoFrom, state.seqno, "diff seqno_from")
    const next = applyDiff(state, diff)
    if (Either.isLeft(next)) return unsafePanic(`state diff should apply cleanly: ${next.left} (diff ${diff.seqnoFrom}->${diff.seqnoTo})`)
    state = next.right
  }
  return state === untyped.state ? untyped : { state, codecs: untyped.codecs }
}

const codecList = (c: Codecs): Array<string> => [c.key, c.val, c.ts, c.diff]

/** `check_codecs`: all four codecs must match; the shard id must be the one asked for. */
export const checkCodecs = (shardId: ShardId, untyped: UntypedState, expected: Codecs): Either.Either<TypedState, CodecMismatch> => {
  assertEq(untyped.state.shardId, shardId, "decoded state is for another shard")
  const requested = codecList(expected)
  const actual = codecList(untyped.codecs)
  if (requested.some((c, i) => c !== actual[i])) return Either.left(new CodecMismatch({ requested, actual }))
  return Either.right(untyped)
}
