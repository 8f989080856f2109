/**
 * Incremental garbage collection (spec ALG-GC): delete the blobs of versions no reader can
 * need any more, truncate Consensus step by step at each rollup <= seqno_since, and only at the
 * end remove the old rollups from state.
 *
 * Requests are processed concurrently by many processes and in any order; a later request may
 * already have done this one's work ("it's also possible that this is the future request").
 * The only guarantee is that the head is >= the request's seqno_since (RACE-10).
 */
import { Deferred, Effect, Either, Option, Queue } from "effect"
import { BugSwitches } from "./BugSwitches.ts"
import type { Machine } from "./Machine.ts"
import { RoutineMaintenance } from "./Maintenance.ts"
import { Counter } from "./Metrics.ts"
import { assert, assertEq, panic } from "./Panic.ts"
import { type GcObserver, ProcessObserver } from "./ProcessObserver.ts"
import { BlobKey, PartialBatchKey, PartialRollupKey } from "./Paths.ts"
import { retryExternal } from "./Retry.ts"
import { withOp, withTask } from "./Attribution.ts"
import type { SeqNo } from "./SeqNo.ts"
import { blobs, type GcReq, type HollowRollup } from "./State.ts"
import { mapBlobDeletes } from "./StateDiff.ts"
import type { StateVersionsIter } from "./StateVersionsIter.ts"

export interface GcResults {
  batchPartsDeletedFromBlob: number
  rollupsDeletedFromBlob: number
  truncatedConsensusTo: Array<SeqNo>
  rollupsRemovedFromState: ReadonlyArray<SeqNo>
}

/** The rollups <= seqno_since a GC run works from (persist's `GcRollups`). */
export class GcRollups {
  private readonly seqnos: Set<SeqNo>
  constructor(
    readonly rollupsLteSeqnoSince: ReadonlyArray<readonly [SeqNo, HollowRollup]>,
    req: GcReq
  ) {
    // Stryker disable next-line ConditionalExpression,MethodExpression: assertion only (an assert! that holds on every correct run: GcRollups is built from rollupsLteSeqno(seqno_since), never empty since the rollup at earliest is <= seqno_since); the `false` variant panics at once
    assert(rollupsLteSeqnoSince.every(([s]) => s <= req.newSeqnoSince), "gc rollups must be <= seqno_since")
    this.seqnos = new Set(rollupsLteSeqnoSince.map(([s]) => s))
  }
  containsSeqno(seqno: SeqNo): boolean {
    return this.seqnos.has(seqno)
  }
  /** Every seqno we may truncate to: each rollup <= seqno_since, ascending. */
  truncateSeqnos(): Array<SeqNo> {
    return this.rollupsLteSeqnoSince.map(([s]) => s)
  }
  /** All but the latest rollup <= seqno_since, which must stay (INV-7). */
  rollupsToRemoveFromState(): Array<readonly [SeqNo, PartialRollupKey]> {
    return this.rollupsLteSeqnoSince.slice(0, -1).map(([s, r]) => [s, r.key] as const)
  }
}

/**
 * ALG-GC for one (merged) request. Side effects per truncation step: delete batch parts, then
 * rollups, then truncate; only after every step, remove the rollups from state.
 */
export const gcAndTruncate = (machine: Machine, req: GcReq): Effect.Effect<readonly [RoutineMaintenance, GcResults]> =>
  Effect.gen(function* () {
    const applier = machine.applier
    const metrics = applier.metrics
    const bugs = yield* BugSwitches
    assertEq(req.shardId, machine.shardId, "gc request for another shard")
    // seqno_since never regresses, so a request past our cached seqno_since means our cache
    // is stale, not that the request is wrong.
    // Stryker disable next-line ConditionalExpression,EqualityOperator: `true` refreshes on every request, which at most brings the cache up to date as any command does (extra reads, the race.gcCacheOlderThanRequest metric, an assertion that holds since seqno_since never regresses; GC plans from whatever recent state it has either way), and `>=` does so on a tie only; the `false` and `<=` variants (no refresh when the cache is stale: GC plans from rollups it has not seen and stops short: GcPassShort, or GcPassSkippedWork when another worker truncated meanwhile) are killed and hidden with them
    if (req.newSeqnoSince > applier.seqnoSince) {
      metrics.inc(Counter.raceGcCacheStale)
      yield* applier.fetchAndUpdateState(req.newSeqnoSince)
      // Stryker disable next-line ConditionalExpression,ArrowFunction: assertion only (assert! after the refresh; holds because seqno_since never regresses) and its message; the `false` variant panics on the first stale-cache GC
      assert(req.newSeqnoSince <= applier.seqnoSince, () => `invalid gc req: ${req.newSeqnoSince} vs machine seqno_since ${applier.seqnoSince}`)
    }
    const gcRollups = new GcRollups(applier.rollupsLteSeqno(req.newSeqnoSince), req)
    let rollupsToRemove = gcRollups.rollupsToRemoveFromState()
    // Stryker disable next-line ConditionalExpression,ArrowFunction: planted-bug switch gcRemovesLatestRollup, off on the correct system (the `true` variant is the planted bug, caught by its own scenario)
    if (bugs.gcRemovesLatestRollup) rollupsToRemove = gcRollups.rollupsLteSeqnoSince.map(([s, r]) => [s, r.key] as const)
    // Stryker disable next-line ArrayDeclaration: `rollupsRemovedFromState` starting non-empty is seen only on the no-op path, where nobody reads it (GcResultWrong quotes its length only when another count is wrong); the same mutator on `truncatedConsensusTo` is killed (GcResultWrong) and hidden with it
    const results: GcResults = { batchPartsDeletedFromBlob: 0, rollupsDeletedFromBlob: 0, truncatedConsensusTo: [], rollupsRemovedFromState: [] }
    // Stryker disable next-line ConditionalExpression,BlockStatement: without the early return a no-op GC only scans the live diffs and truncates nowhere new (at most one rollup <= seqno_since), and removeRollups of nothing is a NoOp command (no CaS): extra store reads, same outcome; the `true` variant (GC never works) is killed and hidden with it
    if (rollupsToRemove.length === 0) {
      // Either the work is done already or there are not two rollups <= seqno_since yet.
      metrics.inc(Counter.gcNoop)
      return [RoutineMaintenance.none, results] as const
    }
    const fetched = yield* applier.stateVersions.fetchAllLiveStates(req.shardId)
    // Stryker disable next-line ConditionalExpression: panic guard that never fires on a correct run (GC runs only on a shard its process opened, so state exists); `false` only turns that impossible panic into a TypeError; `true` panics at once (killed, hidden with it)
    if (Option.isNone(fetched)) return yield* panic("state is initialized")
    const checked = fetched.value.checkTsCodec()
    // Stryker disable next-line ConditionalExpression: panic guard that never fires on a correct run (every process uses the same ts codec); `false` only turns that impossible panic into a TypeError; `true` panics at once (killed, hidden with it)
    if (Either.isLeft(checked)) return yield* panic("ts codec has not changed")
    const states = checked.right
    const initialSeqno = states.current.seqno

    yield* incrementallyDeleteAndTruncate(states, gcRollups, machine, results, req)

    // Removing the rollups from state last keeps "current has a rollup at earliest" true, and
    // a GC that crashes part-way still references the rollups so their deletion can resume.
    // The repeated work is small because Consensus was truncated incrementally.
    const { removed, maintenance } = yield* machine.removeRollups(rollupsToRemove)
    results.rollupsRemovedFromState = removed

    // Not needed for GC itself: with every live state in hand, count seqno-held parts and
    // check that the earliest fetched state had a rollup in the then-current state.
    let seqnoHeldParts = 0
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArrowFunction,LogicalOperator,AssignmentOperator: metric only (gc.seqnoHeldParts), and the drain that moves `states` to the newest fetched state for the gcEarliestWithoutRollup check, which holds on every correct run either way
    while (states.next((d) => d._tag === "Diff" && mapBlobDeletes(d.diff, (b) => void (b._tag === "Batch" && (seqnoHeldParts += b.batch.parts.length)))) !== undefined) {
      // drain
    }
    metrics.set("gc.seqnoHeldParts", seqnoHeldParts)
    const validPreGcState = states.current.collections.rollups.has(initialSeqno)
    // Stryker disable next-line ConditionalExpression,BlockStatement: the gcEarliestWithoutRollup warning never fires on a correct run (it is an INV-7 violation when it does); `true` warns at once
    if (!validPreGcState) {
      metrics.warn("gcEarliestWithoutRollup", `earliest state fetched during GC did not have corresponding rollup: state seqno = ${initialSeqno}`)
      // Stryker disable next-line ConditionalExpression: debug assertion inside the warning branch that never runs on a correct system
      if (applier.cfg.debugAssertions) return yield* panic(`earliest state fetched during GC did not have corresponding rollup: state seqno = ${initialSeqno}`)
    }
    return [maintenance, results] as const
  })

const incrementallyDeleteAndTruncate = (
  states: StateVersionsIter,
  gcRollups: GcRollups,
  machine: Machine,
  results: GcResults,
  req: GcReq
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const bugs = yield* BugSwitches
    const shardId = machine.shardId
    assertEq(states.current.shardId, shardId, "gc states for another shard")
    const metrics = machine.applier.metrics
    for (const truncateLt of gcRollups.truncateSeqnos()) {
      // Our state is already past this truncation point: some process already truncated here.
      if (states.current.seqno >= truncateLt) {
        metrics.inc(Counter.gcStepSkippedAlreadyTruncated)
        // Stryker disable next-line ConditionalExpression,EqualityOperator: metric only (race.gcTruncatedUnderneath)
        if (states.current.seqno > truncateLt) metrics.inc(Counter.raceGcTruncatedUnderneath)
        continue
      }
      // Stryker disable next-line ArrowFunction: assertion message only
      assert(gcRollups.containsSeqno(states.current.seqno), () => `states should always begin on a rollup: state seqno = ${states.current.seqno}`)
      const batchPartsToDelete = new Set<PartialBatchKey>()
      const rollupsToDelete = new Set<PartialRollupKey>()
      findRemovableBlobs(states, truncateLt, batchPartsToDelete, rollupsToDelete)
      // Reaching exactly truncate_lt is guaranteed: the request was made after seqno_since was
      // written, so if we started below truncate_lt our scan saw diffs through seqno_since.
      assertEq(states.current.seqno, truncateLt, "gc iterator should reach the truncation point")
      assert(gcRollups.containsSeqno(states.current.seqno), "we truncate only to a rollup seqno")
      // Paranoia: nothing we are about to delete is live at the truncation point.
      // Stryker disable next-line BlockStatement: paranoia loop: assertions that hold on every correct run and a planted-bug branch only
      for (const blob of blobs(states.current)) {
        if (blob._tag === "Batch") {
          // Stryker disable next-line BlockStatement: paranoia loop (see above)
          for (const p of blob.batch.parts) {
            // Stryker disable next-line ConditionalExpression,EqualityOperator: paranoia loop (see above): skipping every part, or checking the inline ones too (no key: `has(undefined)` is false, and the planted branch is off), changes nothing on a correct run
            if (p._tag !== "Hollow") continue
            // Stryker disable next-line ConditionalExpression,BlockStatement: planted-bug switch gcDeletesLiveParts, off on the correct system (`true` is the planted bug and is caught)
            if (bugs.gcDeletesLiveParts) {
              batchPartsToDelete.add(p.key)
              continue
            }
            // Stryker disable next-line ArrowFunction: assertion message only
            assert(!batchPartsToDelete.has(p.key), () => `gc would delete live part ${p.key}`)
          }
          continue
        }
        // Stryker disable next-line ArrowFunction,ObjectLiteral: assertion message and site only (the site names this assertion for the findings table, as the message does for a reader: the system does exactly the same without it; a RACE-P2 panic here would read as a new verdict instead of the known finding, never as a clean run)
        assert(!rollupsToDelete.has(blob.rollup.key), () => `gc would delete live rollup ${blob.rollup.key}`, { site: "gc.deleteLiveRollup", key: blob.rollup.key })
        const parsed = BlobKey.parseIds(PartialRollupKey.complete(blob.rollup.key, shardId))
        // Stryker disable next-line ConditionalExpression,LogicalOperator: panic guard that never fires on a correct run (every linked rollup key parses as a rollup); `true` panics at once
        if (Either.isLeft(parsed) || parsed.right[1]._tag !== "Rollup") return yield* panic(`invalid rollup during deletion: ${blob.rollup.key}`)
        // Stryker disable next-line ConditionalExpression,EqualityOperator,ArrowFunction: assertion only (holds on every correct run; `<=` is weaker and holds whenever `<` does) and its message; `false` and `>=` panic at once (killed, hidden with it)
        assert(parsed.right[1].seqno < truncateLt, () => `live rollup ${blob.rollup.key} is not below truncation point ${truncateLt}`)
      }
      // Stryker disable next-line ConditionalExpression,BlockStatement: planted-bug switch gcDeletesRollupsBelowSeqnoSince, off on the correct system (`true` is the planted bug and is caught)
      if (bugs.gcDeletesRollupsBelowSeqnoSince) {
        // The historical bug: deletable rollups based on seqno_since, not the earliest live diff.
        for (const [, key] of gcRollups.rollupsToRemoveFromState()) rollupsToDelete.add(key)
      }
      results.truncatedConsensusTo.push(truncateLt)
      results.batchPartsDeletedFromBlob += batchPartsToDelete.size
      results.rollupsDeletedFromBlob += rollupsToDelete.size
      const target = bugs.gcTruncatesPastRollup ? (Math.max(truncateLt, Math.min(req.newSeqnoSince, machine.applier.seqno)) as SeqNo) : truncateLt
      yield* deleteAndTruncate(machine, target, batchPartsToDelete, rollupsToDelete)
    }
  })

/** Walks the iterator to `truncateLt`, collecting every blob a diff on the way removed. */
const findRemovableBlobs = (
  states: StateVersionsIter,
  truncateLt: SeqNo,
  batchParts: Set<PartialBatchKey>,
  rollups: Set<PartialRollupKey>
): void => {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: assertion only (holds on every correct run: the caller skips steps at or past the truncation point); `false` and `>=` panic at once
  assert(states.current.seqno < truncateLt, "find_removable_blobs must start below the truncation point")
  for (;;) {
    const state = states.next((inspect) => {
      if (inspect._tag !== "Diff") return
      mapBlobDeletes(inspect.diff, (blob) => {
        if (blob._tag === "Batch") {
          for (const part of blob.batch.parts) {
            if (part._tag !== "Hollow") continue
            // A repeat would mean a logic error or incorrect diffs.
            // Stryker disable next-line ArrowFunction: assertion message only
            assert(!batchParts.has(part.key), () => `we should never see repeat blob insertions within a single GC run: ${part.key}`)
            batchParts.add(part.key)
          }
        } else {
          // Stryker disable next-line ArrowFunction,ObjectLiteral: assertion message and site only (see the paranoia loop's rollup assertion)
          assert(!rollups.has(blob.rollup.key), () => `we should never see repeat rollup deletions within a single GC run: ${blob.rollup.key}`, {
            site: "gc.repeatRollupDeletion",
            key: blob.rollup.key
          })
          rollups.add(blob.rollup.key)
        }
      })
    })
    // Stryker disable next-line ConditionalExpression: the `state === undefined` half never decides on a correct run (the scan reaches truncate_lt before the live diffs run out; the assertEq after the call says so), so `false` there is equivalent; the whole-condition `true`/`false` variants are killed (panic, hang) and hidden with it
    if (state === undefined || state.seqno === truncateLt) return
  }
}

/** Deletes parts, then rollups (at most the concurrency limit at once), then truncates. */
const deleteAndTruncate = (machine: Machine, truncateLt: SeqNo, batchParts: Set<PartialBatchKey>, rollups: Set<PartialRollupKey>): Effect.Effect<void> =>
  Effect.gen(function* () {
    const applier = machine.applier
    const sv = applier.stateVersions
    const retry = { cfg: applier.cfg, metrics: applier.metrics }
    const shardId = machine.shardId
    const concurrency = applier.cfg.gcBlobDeleteConcurrencyLimit
    const del = (key: string, site: string) => withOp("delete_and_truncate")(Effect.asVoid(retryExternal(retry, site, sv.blob.delete(key))))
    // Stryker disable next-line BooleanLiteral,MethodExpression,ObjectLiteral: `discard: false` only collects the deletes' void results, which nobody reads; delete order and concurrency are not correctness properties (persist deletes from a HashSet with for_each_concurrent: any order, up to the limit at once; every delete of the step completes before the truncate, and a crash part-way leaves the diffs, so the next GC deletes the rest); a Set's order is already deterministic, the sort only makes traces easier to read
    yield* Effect.forEach([...batchParts].sort(), (k) => del(PartialBatchKey.complete(k, shardId), "batchDelete"), { concurrency, discard: true })
    applier.metrics.inc(Counter.gcPartsDeleted, batchParts.size)
    // Stryker disable next-line BooleanLiteral,MethodExpression,ObjectLiteral: as above (void results; delete order and concurrency)
    yield* Effect.forEach([...rollups].sort(), (k) => del(PartialRollupKey.complete(k, shardId), "rollupDelete"), { concurrency, discard: true })
    applier.metrics.inc(Counter.gcRollupsDeleted, rollups.size)
    yield* sv.truncateDiffs(shardId, truncateLt)
    applier.metrics.inc(Counter.gcStepTruncated)
  })

/**
 * One GC worker per process and shard: takes a request, merges every request queued behind it
 * (max seqno_since), runs one pass, and hands the follow-up maintenance to the first caller.
 */
export class GarbageCollector {
  private constructor(
    private readonly queue: Queue.Queue<readonly [GcReq, Deferred.Deferred<RoutineMaintenance>]>,
    private readonly observer: GcObserver | undefined
  ) {}

  /** Starts the worker in the current scope. */
  // Stryker disable next-line ArrowFunction: the default supervisor is for unit tests only; every process starts its worker through StateCache, which always passes one
  static start(machine: Machine, supervise: (worker: Effect.Effect<never>) => Effect.Effect<void> = (w) => w) {
    return Effect.gen(function* () {
      const queue = yield* Queue.unbounded<readonly [GcReq, Deferred.Deferred<RoutineMaintenance>]>()
      const metrics = machine.applier.metrics
      const observer = (yield* ProcessObserver).gc
      const worker = Effect.gen(function* () {
        for (;;) {
          const first = yield* Queue.take(queue)
          const rest = yield* Queue.takeAll(queue)
          let merged = first[0]
          const completers = [first[1]]
          for (const [req, done] of rest) {
            assertEq(req.shardId, merged.shardId, "merged gc requests for different shards")
            completers.push(done)
            // Stryker disable next-line EqualityOperator: `>=` only differs on a tie, where both requests are the same (one shard, one seqno_since: GcReq has no other field) and the merge's result is identical; the `<=` variant (keeps the smallest: GcMergeWrong) is killed and hidden with it
            if (req.newSeqnoSince > merged.newSeqnoSince) merged = req
          }
          observer?.passStarted(merged.newSeqnoSince, completers.length)
          // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: metric only (gc.merged)
          if (completers.length > 1) metrics.inc("gc.merged", completers.length - 1)
          metrics.inc(Counter.gcStarted)
          const [maintenance] = yield* gcAndTruncate(machine, merged)
          metrics.inc(Counter.gcFinished)
          // Maintenance goes, somewhat arbitrarily, to the first caller.
          let m = maintenance
          for (const done of completers) {
            yield* Deferred.succeed(done, m)
            m = RoutineMaintenance.none
          }
          observer?.passFinished()
        }
      })
      yield* Effect.forkScoped(supervise(withTask("gc-worker")(worker)))
      return new GarbageCollector(queue, observer)
    })
  }

  /** Enqueues a request; the Deferred completes once GC has run at least that far. */
  gcAndTruncateBackground(req: GcReq): Effect.Effect<Deferred.Deferred<RoutineMaintenance>> {
    const queue = this.queue
    const observer = this.observer
    return Effect.gen(function* () {
      const done = yield* Deferred.make<RoutineMaintenance>()
      // Reported before the offer: the worker may take the request before this fiber resumes.
      observer?.queued(req.newSeqnoSince, done)
      yield* Queue.offer(queue, [req, done] as const)
      return done
    })
  }
}
