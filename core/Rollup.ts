/**
 * Rollup (spec DM-6): a full copy of a State written to Blob, with the Consensus rows
 * `(latest rollup, state]` inlined so a reader can rebuild the state without the diffs that GC
 * may already have truncated. The model type only; Encoding.ts holds its Schema and proves the
 * two agree.
 */
import type { VersionedData } from "./Consensus.ts"
import type { Codecs } from "./PersistConfig.ts"
import type { SeqNo } from "./SeqNo.ts"
import type { State } from "./State.ts"

/** The raw Consensus rows `(lower, upper]` a rollup carries with it. */
export interface InlinedDiffs {
  readonly lower: SeqNo
  readonly upper: SeqNo
  readonly diffs: ReadonlyArray<VersionedData>
}

export interface Rollup {
  readonly state: State
  readonly codecs: Codecs
  readonly diffs: InlinedDiffs | null
}
