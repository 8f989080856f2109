/**
 * Machine (spec ALG-IDEM, ALG-CAA, ALG-R, CMD-MERGE): a handle's view of a shard. Commands
 * go through the process's shared Applier; idempotent ones retry Indeterminate errors
 * forever, compare_and_append relies on its idempotency token instead.
 */
import { Clock, Effect, Either } from "effect"
import { Antichain } from "./Antichain.ts"
import { withCmd } from "./Attribution.ts"
import { BugSwitches } from "./BugSwitches.ts"
import * as Cmd from "./Commands.ts"
import type { CompareAndAppendBreak, FueledMergeReq } from "./Commands.ts"
import type { Indeterminate } from "./Errors.ts"
import { type CriticalReaderId, IdempotencyToken, type LeasedReaderId, RollupId, type WriterId } from "./Ids.ts"
import { type Applier, ADD_ROLLUP_CMD, COMPARE_AND_APPEND_CMD } from "./Applier.ts"
import { RoutineMaintenance } from "./Maintenance.ts"
import { Counter } from "./Metrics.ts"
import { assert, panic } from "./Panic.ts"
import type { PartialRollupKey } from "./Paths.ts"
import { RetryStream } from "./Retry.ts"
import type { SeqNo } from "./SeqNo.ts"
import type { CriticalReaderState, HandleDebugState, HollowBatch, HollowRollup, LeasedReaderState, WorkFn } from "./State.ts"

export type CompareAndAppendRes =
  | { readonly _tag: "Success"; readonly seqno: SeqNo; readonly maintenance: RoutineMaintenance; readonly mergeReqs: ReadonlyArray<FueledMergeReq> }
  | { readonly _tag: "UpperMismatch"; readonly seqno: SeqNo; readonly currentUpper: Antichain }
  | { readonly _tag: "InvalidUsage"; readonly reason: string }

export class Machine {
  constructor(readonly applier: Applier) {}

  get shardId() {
    return this.applier.shardId
  }
  get seqno(): SeqNo {
    return this.applier.seqno
  }
  get seqnoSince(): SeqNo {
    return this.applier.seqnoSince
  }
  get state() {
    return this.applier.state
  }

  private get metrics() {
    return this.applier.metrics
  }

  /**
   * ALG-IDEM. SUBTLE: an Indeterminate CaS cannot in general be retried, but an idempotent
   * command can be: re-running it on the (possibly already updated) newer state gives an
   * acceptable answer either way.
   */
  applyUnbatchedIdempotentCmd<R>(cmdName: string, work: WorkFn<R>): Effect.Effect<readonly [SeqNo, R, RoutineMaintenance]> {
    const self = this
    return Effect.gen(function* () {
      const retry = new RetryStream(self.applier.cfg, self.metrics, `retries.idempotentCmd.${cmdName}`)
      for (let attempt = 1; ; attempt++) {
        const res = yield* Effect.either(withCmd(cmdName, attempt)(self.applier.applyUnbatchedCmd(cmdName, work)))
        if (Either.isRight(res)) {
          const [seqno, ret, maintenance] = res.right
          return [seqno, Either.isRight(ret) ? ret.right : ret.left.noop, maintenance] as const
        }
        yield* retry.sleep
      }
    })
  }

  registerLeasedReader(readerId: LeasedReaderId, purpose: string, leaseDurationMs: number, useCriticalSince = false) {
    const self = this
    return Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const [seqno, [reader, seqnoSince], maintenance] = yield* self.applyUnbatchedIdempotentCmd(
        "register_leased_reader",
        Cmd.registerLeasedReader(self.applier.cfg.hostname, readerId, purpose, leaseDurationMs, now, useCriticalSince)
      )
      // RACE-16: registered, then expired in the same or a later transition before we looked.
      if (!self.applier.state.state.collections.leasedReaders.has(readerId)) self.metrics.inc(Counter.readerExpiredAtRegistration)
      // The reader's hold must be at or after what GC may already have truncated to.
      assert(reader.seqno >= seqnoSince, () => `reader seqno ${reader.seqno} < seqno_since ${seqnoSince} (registered at ${seqno})`)
      return { reader: reader as LeasedReaderState, seqnoSince, maintenance }
    })
  }

  registerCriticalReader(readerId: CriticalReaderId, purpose: string) {
    return Effect.map(
      this.applyUnbatchedIdempotentCmd("register_critical_reader", Cmd.registerCriticalReader(this.applier.cfg.hostname, readerId, purpose, "", "u64")),
      ([, state, maintenance]) => ({ state: state as CriticalReaderState, maintenance })
    )
  }

  downgradeSince(readerId: LeasedReaderId, outstandingSeqno: SeqNo | null, newSince: Antichain) {
    const self = this
    return Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const [seqno, since, maintenance] = yield* self.applyUnbatchedIdempotentCmd(
        "downgrade_since",
        Cmd.downgradeSince(readerId, outstandingSeqno, newSince, now)
      )
      // RACE-17: our lease ran out; the empty since tells us so.
      if (Antichain.isEmpty(since) && !Antichain.isEmpty(newSince)) self.metrics.inc(Counter.readerDowngradeAfterExpiry)
      return { seqno, since, maintenance }
    })
  }

  compareAndDowngradeSince(readerId: CriticalReaderId, expectedOpaque: string, newOpaque: string, newSince: Antichain) {
    return Effect.map(
      this.applyUnbatchedIdempotentCmd("compare_and_downgrade_since", Cmd.compareAndDowngradeSince(readerId, expectedOpaque, newOpaque, newSince)),
      ([, res, maintenance]) => ({ res, maintenance })
    )
  }

  heartbeatLeasedReader(readerId: LeasedReaderId) {
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.map(this.applyUnbatchedIdempotentCmd("heartbeat_reader", Cmd.heartbeatLeasedReader(readerId, now)), ([, ok, m]) => ({ ok, maintenance: m }))
    )
  }

  heartbeatWriter(writerId: WriterId) {
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.map(this.applyUnbatchedIdempotentCmd("heartbeat_writer", Cmd.heartbeatWriter(writerId, now)), ([, ok, m]) => ({ ok, maintenance: m }))
    )
  }

  expireLeasedReader(readerId: LeasedReaderId) {
    return Effect.map(this.applyUnbatchedIdempotentCmd("expire_reader", Cmd.expireLeasedReader(readerId)), ([, existed, m]) => ({ existed, maintenance: m }))
  }
  expireCriticalReader(readerId: CriticalReaderId) {
    return Effect.map(this.applyUnbatchedIdempotentCmd("expire_critical_reader", Cmd.expireCriticalReader(readerId)), ([, existed, m]) => ({ existed, maintenance: m }))
  }
  expireWriter(writerId: WriterId) {
    return Effect.map(this.applyUnbatchedIdempotentCmd("expire_writer", Cmd.expireWriter(writerId)), ([, existed, m]) => ({ existed, maintenance: m }))
  }

  /**
   * ALG-R step 4: links a rollup. SUBTLE (RACE-6, see mergeRes): true if ANY attempt applied,
   * because an attempt whose CaS was Indeterminate may have committed, and the caller deletes
   * the blob on false. Leaking a blob beats referencing one that does not exist.
   */
  addRollup(seqno: SeqNo, rollup: HollowRollup) {
    const self = this
    return Effect.gen(function* () {
      const bugs = yield* BugSwitches
      let appliedEverTrue = false
      let appliedLast = false
      let outOfOrder = false
      const work = Cmd.addRollup(seqno, rollup)
      const [, , maintenance] = yield* self.applyUnbatchedIdempotentCmd(ADD_ROLLUP_CMD, (s, c) => {
        let newer = false
        for (const k of c.rollups.keys()) if (k > seqno) newer = true
        const ret = work(s, c)
        if (ret._tag === "Continue") {
          appliedEverTrue = appliedEverTrue || ret.value
          appliedLast = ret.value
          outOfOrder = ret.value && newer
        }
        return ret
      })
      if (appliedEverTrue && !appliedLast) self.metrics.inc(Counter.rollupAppliedEverNotLast)
      if (outOfOrder) self.metrics.inc(Counter.rollupLinkedOutOfOrder)
      return { applied: (bugs.rollupForgetsAppliedEver ? appliedLast : appliedEverTrue) as boolean, maintenance }
    })
  }

  removeRollups(remove: ReadonlyArray<readonly [SeqNo, PartialRollupKey]>) {
    return Effect.map(this.applyUnbatchedIdempotentCmd("remove_rollups", Cmd.removeRollups(remove)), ([, removed, maintenance]) => ({ removed, maintenance }))
  }

  /**
   * ALG-R: roll up the cached state, link it, and delete our blob if someone else's rollup is
   * at that seqno already. An Indeterminate link that may have applied keeps the blob.
   */
  addRollupForCurrentSeqno(): Effect.Effect<RoutineMaintenance> {
    const self = this
    return Effect.gen(function* () {
      const rollupId = yield* RollupId.random
      const rollup = yield* self.applier.writeRollupForState(rollupId)
      if (rollup._tag === "None") return RoutineMaintenance.none
      const bugs = yield* BugSwitches
      const { applied, maintenance } = yield* self.addRollup(bugs.rollupLinkedAtCachedSeqno ? self.applier.seqno : rollup.value.seqno, rollup.value.toHollow())
      if (!applied) {
        // Someone else already linked a rollup at this seqno, so ours was not added.
        self.metrics.inc("rollup.lostRace")
        yield* self.applier.stateVersions.deleteRollup(rollup.value.shardId, rollup.value.key)
      } else self.metrics.inc("rollup.linked")
      return maintenance
    })
  }

  /**
   * CMD-MERGE with the SUBTLE "applied in any attempt" rule (RACE-13): a compaction whose
   * result is reported as not applied has its output deleted, so a match in any attempt
   * (maybe committed behind an Indeterminate) counts as applied.
   */
  mergeRes(inputs: ReadonlyArray<HollowBatch>, output: HollowBatch) {
    const self = this
    return Effect.gen(function* () {
      const bugs = yield* BugSwitches
      let everApplied: Cmd.ApplyMergeResult = "NotAppliedNoMatch"
      let last: Cmd.ApplyMergeResult = "NotAppliedNoMatch"
      const work = Cmd.applyMergeRes(inputs, output)
      const [, , maintenance] = yield* self.applyUnbatchedIdempotentCmd("merge_res", (s, c) => {
        const ret = work(s, c)
        if (ret._tag === "Continue") {
          last = ret.value
          if (ret.value === "AppliedExact") everApplied = ret.value
        }
        return ret
      })
      if ((everApplied as Cmd.ApplyMergeResult) === "AppliedExact" && (last as Cmd.ApplyMergeResult) !== "AppliedExact") self.metrics.inc(Counter.mergeAppliedEverNotLast)
      return { result: (bugs.rollupForgetsAppliedEver ? last : everApplied) as Cmd.ApplyMergeResult, maintenance }
    })
  }

  /** ALG-CAA outer loop: one idempotency token per call; retry only if our cache was stale. */
  compareAndAppend(batch: HollowBatch, writerId: WriterId, debug: HandleDebugState): Effect.Effect<CompareAndAppendRes> {
    const self = this
    return Effect.gen(function* () {
      const token = yield* IdempotencyToken.random
      for (;;) {
        const res = yield* self.compareAndAppendIdempotent(batch, writerId, debug, token)
        if (res._tag !== "UpperMismatch") return res
        // The caller may have learned of a newer upper through a side channel that our cached
        // state missed: refetch, and retry only if the upper really matches now.
        yield* self.applier.fetchAndUpdateState(res.seqno)
        const currentUpper = self.applier.upper
        if (!Antichain.equals(currentUpper, batch.desc.lower)) {
          return { _tag: "UpperMismatch", seqno: self.applier.seqno, currentUpper } as const
        }
      }
    })
  }

  /**
   * ALG-CAA inner loop. Indeterminate errors are retried with the same token: the token of
   * the writer's most recent write tells whether an earlier attempt committed. If the shard
   * moved past our batch and we cannot tell whether we moved it, persist panics by design
   * (RACE-14).
   */
  compareAndAppendIdempotent(
    batch: HollowBatch,
    writerId: WriterId,
    debug: HandleDebugState,
    idempotencyToken: IdempotencyToken
  ): Effect.Effect<CompareAndAppendRes> {
    const self = this
    return Effect.gen(function* () {
      const bugs = yield* BugSwitches
      const cfg = self.applier.cfg
      const retry = new RetryStream(cfg, self.metrics, "retries.compareAndAppend")
      let token = idempotencyToken
      let indeterminate: Indeterminate | null = null
      for (let attempt = 1; ; attempt++) {
        const now = yield* Clock.currentTimeMillis
        const res = yield* Effect.either(
          withCmd(COMPARE_AND_APPEND_CMD, attempt)(
            self.applier.applyUnbatchedCmd<CompareAndAppendBreak, ReadonlyArray<FueledMergeReq>>(
              COMPARE_AND_APPEND_CMD,
              Cmd.compareAndAppend(batch, writerId, now, cfg.writerLeaseDurationMs, token, debug)
            )
          )
        )
        if (Either.isLeft(res)) {
          if (bugs.caaIndeterminateAsNotApplied) return { _tag: "UpperMismatch", seqno: self.applier.seqno, currentUpper: self.applier.upper } as const
          if (indeterminate === null) indeterminate = res.left
          self.metrics.inc("caa.indeterminate")
          yield* retry.sleep
          if (bugs.caaNewTokenOnRetry) token = yield* IdempotencyToken.random
          continue
        }
        const [seqno, ret, maintenance] = res.right
        if (Either.isRight(ret)) {
          return { _tag: "Success", seqno, maintenance, mergeReqs: ret.right } as const
        }
        const brk = ret.left
        switch (brk._tag) {
          case "AlreadyCommitted":
            // Only an earlier attempt of ours could have committed it, and that attempt must
            // have been Indeterminate.
            assert(indeterminate !== null, "AlreadyCommitted should only happen after an indeterminate attempt")
            self.metrics.inc("caa.alreadyCommitted")
            return { _tag: "Success", seqno, maintenance: RoutineMaintenance.none, mergeReqs: [] } as const
          case "InvalidUsage":
            assert(indeterminate === null, "InvalidUsage after an indeterminate attempt")
            return { _tag: "InvalidUsage", reason: brk.reason } as const
          case "Upper": {
            assert(Antichain.lessEqual(brk.writerUpper, brk.shardUpper), "writer upper past shard upper")
            // Our write could not have committed if the writer's upper never reached ours.
            if (Antichain.lessThan(brk.writerUpper, batch.desc.upper)) {
              if (indeterminate !== null && !self.applier.state.state.collections.writers.has(writerId)) {
                // Not in persist, which reasons as above: but a writer that is gone (its lease
                // ran out while we retried, possibly in the very transition that committed
                // our batch) has lost the token that would tell. A coverage mark and a
                // warning, so the simulator can name what follows.
                self.metrics.inc("caa.writerGoneAfterIndeterminate")
                self.metrics.warn(
                  "caaWriterGoneAfterIndeterminate",
                  `compare_and_append [${Antichain.render(batch.desc.lower)}, ${Antichain.render(batch.desc.upper)}) reports UpperMismatch after an Indeterminate attempt, but writer ${writerId} is no longer registered: an earlier attempt may have committed`
                )
              }
              return { _tag: "UpperMismatch", seqno, currentUpper: brk.shardUpper } as const
            }
            if (indeterminate === null) return { _tag: "UpperMismatch", seqno, currentUpper: brk.shardUpper } as const
            return yield* panic(
              `cannot distinguish compare_and_append success or failure: writer upper ${Antichain.render(brk.writerUpper)}, ` +
                `shard upper ${Antichain.render(brk.shardUpper)}, batch [${Antichain.render(batch.desc.lower)}, ${Antichain.render(batch.desc.upper)}) ` +
                `after ${indeterminate.message}`
            )
          }
        }
      }
    })
  }

  /** Drives a tombstoned shard (empty upper and since) to its final shape. */
  becomeTombstone() {
    return this.applyUnbatchedIdempotentCmd("become_tombstone", Cmd.becomeTombstoneAndShrink)
  }
}
