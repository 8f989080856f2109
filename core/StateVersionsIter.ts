/**
 * An iterator over consecutive live states (spec OP-17), with persist's debug-build
 * ReferencedBlobValidator (OP-18) checking after every step that the blobs seen
 * incrementally (initial state's blobs + each diff's inserts) equal those seen by scanning
 * every full state.
 */
import { Either } from "effect"
import { Antichain } from "./Antichain.ts"
import type { VersionedData } from "./Consensus.ts"
import { CodecMismatch } from "./Errors.ts"
import { assert, assertEq, unsafePanic } from "./Panic.ts"
import type { PersistConfigShape } from "./PersistConfig.ts"
import { blobs, type HollowBatch, type HollowBlobRef, type State, type UntypedState } from "./State.ts"
import { applyDiff, batchIdentity, mapBlobInserts, type StateDiff } from "./StateDiff.ts"
import { decodeDiffOrPanic } from "./UntypedState.ts"
import type { Codecs } from "./PersistConfig.ts"

/** A diff as it is applied; the first step is a diff "from the initial state". */
export type InspectDiff = { readonly _tag: "FromInitial"; readonly state: State } | { readonly _tag: "Diff"; readonly diff: StateDiff }

/** Every blob added by this step (removals, and all other changes, are ignored). */
export const referencedBlobFn = (inspect: InspectDiff, f: (ref: HollowBlobRef) => void): void => {
  if (inspect._tag === "FromInitial") for (const b of blobs(inspect.state)) f(b)
  else mapBlobInserts(inspect.diff, f)
}

export class StateVersionsIter {
  private state: State
  /** Stored reversed so the next diff pops off the end. */
  private readonly diffs: Array<VersionedData>
  private readonly validator: ReferencedBlobValidator | undefined
  readonly codecs: Codecs

  constructor(
    private readonly cfg: PersistConfigShape,
    untyped: UntypedState,
    diffs: ReadonlyArray<VersionedData>
  ) {
    this.state = untyped.state
    this.codecs = untyped.codecs
    assert(diffs.length === 0 || diffs[0]!.seqno === untyped.state.seqno, "first diff must be the starting state's own")
    this.diffs = [...diffs].reverse()
    this.validator = cfg.debugAssertions ? new ReferencedBlobValidator() : undefined
  }

  /** `check_ts_codec` of the untyped iterator. */
  checkTsCodec(): Either.Either<StateVersionsIter, CodecMismatch> {
    return this.codecs.ts === this.cfg.codecs.ts
      ? Either.right(this)
      : Either.left(new CodecMismatch({ requested: [this.cfg.codecs.ts], actual: [this.codecs.ts] }))
  }

  /** Remaining diffs, including the no-op first one. */
  get len(): number {
    return this.diffs.length
  }

  /**
   * Advances to the first live state (the first call), then through each next one. The
   * callback sees each diff as it is applied.
   */
  next(inspectDiffFn: (inspect: InspectDiff) => void = () => {}): State | undefined {
    const row = this.diffs.pop()
    if (row === undefined) return undefined
    const diff = decodeDiffOrPanic(this.cfg.buildVersion, row)
    // A bit hacky, as in persist: the first diff is always the no-op one at the start state.
    const inspect: InspectDiff = diff.seqnoTo === this.state.seqno ? { _tag: "FromInitial", state: this.state } : { _tag: "Diff", diff }
    if (this.validator !== undefined) referencedBlobFn(inspect, (x) => this.validator!.addIncBlob(x))
    inspectDiffFn(inspect)
    const next = applyDiff(this.state, diff)
    if (Either.isLeft(next)) return unsafePanic(`state diff should apply cleanly: ${next.left}`)
    this.state = next.right
    assertEq(this.state.seqno, diff.seqnoTo, "iterator seqno after applying a diff")
    this.validator?.validateAgainstState(this.state)
    return this.state
  }

  get current(): State {
    return this.state
  }

  /** `into_rollup_proto_without_diffs`: the current state as a rollup with no inlined diffs. */
  intoRollupWithoutDiffs(): { readonly state: State; readonly codecs: Codecs; readonly diffs: null } {
    return { state: this.state, codecs: this.codecs, diffs: null }
  }
}

const partUnique = (p: HollowBatch["parts"][number]): string =>
  p._tag === "Hollow" ? p.key : `inline:${JSON.stringify([p.updates, p.tsRewrite])}`

const rollupIdentity = (r: { key: string; encodedSizeBytes: number | null }): string => `${r.key}|${r.encodedSizeBytes}`

/**
 * OP-18. Two views of every batch and rollup any visited state referenced: `inc*` from the
 * initial state's blobs plus each diff's inserts, `full*` from scanning each full state. A
 * diff must never re-insert a blob seen before, and the views must agree after every step.
 */
export class ReferencedBlobValidator {
  private readonly fullBatches = new Map<string, HollowBatch>()
  private readonly fullRollups = new Set<string>()
  private readonly incBatches = new Map<string, HollowBatch>()
  private readonly incRollups = new Set<string>()

  addIncBlob(x: HollowBlobRef): void {
    if (x._tag === "Batch") {
      const id = batchIdentity(x.batch)
      assert(!this.incBatches.has(id), () => `batch re-inserted: ${id}`)
      this.incBatches.set(id, x.batch)
    } else {
      const id = rollupIdentity(x.rollup)
      assert(!this.incRollups.has(id), () => `rollup re-inserted: ${x.rollup.key}`)
      this.incRollups.add(id)
    }
  }

  validateAgainstState(x: State): void {
    for (const b of blobs(x)) {
      if (b._tag === "Batch") this.fullBatches.set(batchIdentity(b.batch), b.batch)
      else this.fullRollups.add(rollupIdentity(b.rollup))
    }
    // The batches overall cover the same time range (meet of lowers, join of uppers).
    const overall = (bs: Iterable<HollowBatch>): [Antichain | null, Antichain] => {
      let lower: Antichain | null = null
      let upper: Antichain = Antichain.minimum
      for (const b of bs) {
        lower = lower === null ? b.desc.lower : Antichain.meet(lower, b.desc.lower)
        upper = Antichain.join(upper, b.desc.upper)
      }
      return [lower, upper]
    }
    const [incLower, incUpper] = overall(this.incBatches.values())
    const [fullLower, fullUpper] = overall(this.fullBatches.values())
    assert(JSON.stringify(incLower) === JSON.stringify(fullLower), () => `inc lower ${JSON.stringify(incLower)} != full lower ${JSON.stringify(fullLower)}`)
    assert(Antichain.equals(incUpper, fullUpper), () => `inc upper ${Antichain.render(incUpper)} != full upper ${Antichain.render(fullUpper)}`)
    // The overall set of parts is the same.
    const parts = (bs: Iterable<HollowBatch>) => {
      const s = new Set<string>()
      for (const b of bs) for (const p of b.parts) s.add(partUnique(p))
      return s
    }
    const incParts = parts(this.incBatches.values())
    const fullParts = parts(this.fullBatches.values())
    assert(incParts.size === fullParts.size && [...incParts].every((p) => fullParts.has(p)), "inc parts != full parts")
    // And the same rollups.
    assert(
      this.incRollups.size === this.fullRollups.size && [...this.incRollups].every((r) => this.fullRollups.has(r)),
      "inc rollups != full rollups"
    )
  }
}
