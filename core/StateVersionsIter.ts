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
 * Two sets that only grow, with their equality kept up to date incrementally: `diff` counts the
 * members in exactly one of them.
 */
class PairedSets {
  private readonly membership = new Map<string, number>()
  private diff = 0
  /** Adds `id` to side 1 or 2; returns false if it was already there. */
  add(side: 1 | 2, id: string): boolean {
    const m = this.membership.get(id) ?? 0
    if ((m & side) !== 0) return false
    const next = m | side
    this.membership.set(id, next)
    this.diff += next === 3 ? -1 : 1
    return true
  }
  has(side: 1 | 2, id: string): boolean {
    return ((this.membership.get(id) ?? 0) & side) !== 0
  }
  get equal(): boolean {
    return this.diff === 0
  }
}

const INC = 1
const FULL = 2

/**
 * OP-18. Two views of every batch and rollup any visited state referenced: `inc` from the
 * initial state's blobs plus each diff's inserts, `full` from scanning each full state. A diff
 * must never re-insert a blob seen before, and after every step the views must cover the same
 * time range, the same parts and the same rollups.
 *
 * Persist recomputes the views' parts and bounds from scratch at each step (it is a debug
 * build check); here they are maintained incrementally, which checks the same equalities.
 */
export class ReferencedBlobValidator {
  private readonly batches = new PairedSets()
  private readonly parts = new PairedSets()
  private readonly rollups = new PairedSets()
  private readonly lower: [Antichain | null, Antichain | null] = [null, null]
  private readonly upper: [Antichain, Antichain] = [Antichain.minimum, Antichain.minimum]

  private addBatch(side: 1 | 2, b: HollowBatch): boolean {
    if (!this.batches.add(side, batchIdentity(b))) return false
    const i = side - 1
    const l = this.lower[i] ?? null
    this.lower[i] = l === null ? b.desc.lower : Antichain.meet(l, b.desc.lower)
    this.upper[i] = Antichain.join(this.upper[i]!, b.desc.upper)
    for (const p of b.parts) this.parts.add(side, partUnique(p))
    return true
  }

  addIncBlob(x: HollowBlobRef): void {
    if (x._tag === "Batch") assert(this.addBatch(INC, x.batch), () => `batch re-inserted: ${batchIdentity(x.batch)}`, { site: "validator.batchReinserted" })
    else assert(this.rollups.add(INC, rollupIdentity(x.rollup)), () => `rollup re-inserted: ${x.rollup.key}`, { site: "validator.rollupReinserted", key: x.rollup.key })
  }

  /** Objects already in the full view: consecutive states share most of them. */
  private readonly seenFull = new WeakSet<object>()

  validateAgainstState(x: State): void {
    // x.blobs(), without the generator and the sort: set membership ignores order.
    for (const batch of x.collections.trace.batches) {
      if (this.seenFull.has(batch)) continue
      this.seenFull.add(batch)
      this.addBatch(FULL, batch)
    }
    for (const rollup of x.collections.rollups.values()) {
      if (this.seenFull.has(rollup)) continue
      this.seenFull.add(rollup)
      this.rollups.add(FULL, rollupIdentity(rollup))
    }
    const [incLower, fullLower] = this.lower
    assert(incLower === null || fullLower === null ? incLower === fullLower : Antichain.equals(incLower, fullLower), () => `inc lower ${JSON.stringify(incLower)} != full lower ${JSON.stringify(fullLower)}`)
    assert(Antichain.equals(this.upper[0], this.upper[1]), () => `inc upper ${Antichain.render(this.upper[0])} != full upper ${Antichain.render(this.upper[1])}`)
    assert(this.parts.equal, "inc parts != full parts")
    assert(this.rollups.equal, "inc rollups != full rollups")
  }
}
