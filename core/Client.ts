/**
 * A process's persist client (spec ALG-INIT, ALG-M, ALG-HB): the per-process StateCache that
 * opens each shard once (maybe_init_shard) and shares its Applier between handles, the GC
 * worker per shard, and the background work — maintenance, heartbeats, compaction — forked in
 * the process's scope, so a crash (closing the scope) stops all of it at once.
 */
import { Cause, Deferred, Duration, Effect, Exit, FiberId, Scope } from "effect"
import { Antichain } from "./Antichain.ts"
import { Applier } from "./Applier.ts"
import { Blob } from "./Blob.ts"
import type { FueledMergeReq } from "./Commands.ts"
import { Consensus } from "./Consensus.ts"
import type { CodecMismatch } from "./Errors.ts"
import { GarbageCollector } from "./Gc.ts"
import { type LeasedReaderId, PartId, type ShardId, type WriterId } from "./Ids.ts"
import { Machine } from "./Machine.ts"
import { RoutineMaintenance } from "./Maintenance.ts"
import { Metrics, type MetricsRegistry } from "./Metrics.ts"
import { assert } from "./Panic.ts"
import { PersistConfig, type PersistConfigShape } from "./PersistConfig.ts"
import { PartialBatchKey } from "./Paths.ts"
import { retryExternal } from "./Retry.ts"
import type { HandleDebugState, HollowBatch } from "./State.ts"
import { StateVersions } from "./StateVersions.ts"

export interface ShardHandle {
  readonly machine: Machine
  readonly gc: GarbageCollector
}

export class PersistClient {
  private readonly shards = new Map<ShardId, Deferred.Deferred<ShardHandle, CodecMismatch>>()
  /** Shards whose open finished (for observers: the simulator checks their cached seqnos). */
  readonly opened = new Map<ShardId, ShardHandle>()

  constructor(
    readonly cfg: PersistConfigShape,
    readonly metrics: MetricsRegistry,
    readonly stateVersions: StateVersions,
    /** Background fibers live here; closing it is a crash of the process. */
    readonly scope: Scope.Scope
  ) {}

  static make = Effect.gen(function* () {
    const cfg = yield* PersistConfig
    const metrics = yield* Metrics
    const consensus = yield* Consensus
    const blob = yield* Blob
    const scope = yield* Effect.scope
    return new PersistClient(cfg, metrics, new StateVersions(cfg, consensus, blob, metrics), scope)
  })

  /**
   * ALG-INIT: the first open of a shard in this process loads or creates it; concurrent opens
   * wait for that one and share the result.
   */
  openMachine(shardId: ShardId): Effect.Effect<ShardHandle, CodecMismatch> {
    const self = this
    return Effect.suspend(() => {
      // Look up and claim the slot in one synchronous step: a fiber yielding between the two
      // (Effect yields every maxOpsBeforeYield ops) would let a concurrent open of the same
      // shard initialize it a second time, with a second Applier and GC worker.
      const existing = self.shards.get(shardId)
      if (existing !== undefined) {
        // If the open we waited for was interrupted part-way, take over (persist's cache
        // retries an init whose future was dropped); its failure is ours too.
        return Effect.catchAllCause(Deferred.await(existing), (cause) =>
          Cause.isInterruptedOnly(cause) ? self.openMachine(shardId) : Effect.failCause(cause))
      }
      const done = Deferred.unsafeMake<ShardHandle, CodecMismatch>(FiberId.none)
      self.shards.set(shardId, done)
      // An interrupted open must free the slot and wake its waiters, or every later open of
      // this shard in the process waits forever.
      return Effect.onInterrupt(self.initShard(shardId, done), () =>
        Effect.suspend(() => {
          if (self.shards.get(shardId) === done) self.shards.delete(shardId)
          return Deferred.interrupt(done)
        }))
    })
  }

  private initShard(shardId: ShardId, done: Deferred.Deferred<ShardHandle, CodecMismatch>): Effect.Effect<ShardHandle, CodecMismatch> {
    const self = this
    return Effect.gen(function* () {
      const opened = yield* Effect.exit(
        Effect.gen(function* () {
          const state = yield* self.stateVersions.maybeInitShard(shardId)
          const machine = new Machine(new Applier(self.cfg, self.metrics, self.stateVersions, shardId, state))
          const gc = yield* GarbageCollector.start(machine, (e) => self.reportFailures(e)).pipe(Scope.extend(self.scope))
          return { machine, gc }
        })
      )
      if (Exit.isFailure(opened)) self.shards.delete(shardId)
      else self.opened.set(shardId, opened.value)
      yield* Deferred.done(done, opened)
      return yield* opened
    })
  }

  /**
   * Called when a background task fails (a persist panic in GC, a rollup, a heartbeat). Such a
   * task dies alone, as a spawned task does in persist; an observer (the simulator) hears of it.
   */
  onBackgroundFailure: ((cause: Cause.Cause<unknown>) => void) | undefined = undefined

  /** Forks `effect` into the process scope (persist: a spawned task). */
  spawn<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<void> {
    return Effect.asVoid(Effect.forkIn(this.reportFailures(effect), this.scope))
  }

  /** Hands a background task's failure (not its interruption) to `onBackgroundFailure`. */
  reportFailures<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<void> {
    return Effect.catchAllCause(Effect.asVoid(effect), (cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : Effect.sync(() => this.onBackgroundFailure?.(cause))
    )
  }

  /**
   * `perform_in_background`: GC goes to the shard's worker, the rollup to its own task;
   * whatever maintenance those produce is performed in turn.
   */
  performInBackground(handle: ShardHandle, m: RoutineMaintenance): Effect.Effect<void> {
    if (RoutineMaintenance.isEmpty(m)) return Effect.void
    return this.spawn(this.perform(handle, m))
  }

  /** Performs maintenance and any follow-up it produces, in this fiber. */
  perform(handle: ShardHandle, m: RoutineMaintenance): Effect.Effect<void> {
    return Effect.gen(function* () {
      let next = m
      while (!RoutineMaintenance.isEmpty(next)) {
        let followUp = RoutineMaintenance.none
        const gc = next.garbageCollection
        const gcDone = gc === null ? null : yield* handle.gc.gcAndTruncateBackground(gc)
        if (next.writeRollup !== null) {
          const rollupSeqno = next.writeRollup
          const machine = handle.machine
          // Any recent state will do; we only need one at least as new as the assignment.
          if (machine.seqno < rollupSeqno) yield* machine.applier.fetchAndUpdateState(rollupSeqno)
          assert(machine.seqno >= rollupSeqno, () => `rollup seqno ${rollupSeqno} is ahead of our state ${machine.seqno}`)
          followUp = RoutineMaintenance.merge(followUp, yield* machine.addRollupForCurrentSeqno())
        }
        if (gcDone !== null) followUp = RoutineMaintenance.merge(followUp, yield* Deferred.await(gcDone))
        next = followUp
      }
    })
  }

  /** ALG-HB: heartbeat a reader every lease/2 and perform maintenance, until it is gone. */
  readerHeartbeatTask(handle: ShardHandle, readerId: LeasedReaderId, leaseDurationMs: number): Effect.Effect<void> {
    const self = this
    return Effect.gen(function* () {
      for (;;) {
        yield* Effect.sleep(Duration.millis(leaseDurationMs / 2))
        const { ok, maintenance } = yield* handle.machine.heartbeatLeasedReader(readerId)
        if (!ok) {
          self.metrics.warn("readerHeartbeatStopped", `reader ${readerId} no longer exists; stopping its heartbeat`)
          return
        }
        yield* self.perform(handle, maintenance)
      }
    })
  }

  /** ALG-HB: heartbeat a writer every lease/4 and perform maintenance, until it is gone. */
  writerHeartbeatTask(handle: ShardHandle, writerId: WriterId): Effect.Effect<void> {
    const self = this
    return Effect.gen(function* () {
      for (;;) {
        yield* Effect.sleep(Duration.millis(self.cfg.writerLeaseDurationMs / 4))
        const { ok, maintenance } = yield* handle.machine.heartbeatWriter(writerId)
        if (!ok) return
        yield* self.perform(handle, maintenance)
      }
    })
  }

  /** Writes each part of a new batch to Blob (before the batch is appended). */
  writeBatch(shardId: ShardId, writerId: WriterId, lower: Antichain, upper: Antichain, partCount: number, len: number): Effect.Effect<HollowBatch> {
    const self = this
    return Effect.gen(function* () {
      const parts: Array<HollowBatch["parts"][number]> = []
      for (let i = 0; i < partCount; i++) {
        const key = PartialBatchKey.new(writerId, yield* PartId.random)
        const bytes = new TextEncoder().encode(`part ${key} [${Antichain.render(lower)}, ${Antichain.render(upper)})`)
        yield* retryExternal(self.retryContext, "batchSet", self.stateVersions.blob.set(PartialBatchKey.complete(key, shardId), bytes))
        parts.push({ _tag: "Hollow", key, encodedSizeBytes: bytes.byteLength })
      }
      return { desc: { lower, upper, since: Antichain.minimum }, len, parts }
    })
  }

  /** Deletes the parts of a batch that never made it into state. */
  deleteBatch(shardId: ShardId, batch: HollowBatch): Effect.Effect<void> {
    const self = this
    return Effect.forEach(
      batch.parts,
      (p) => (p._tag === "Hollow" ? Effect.asVoid(retryExternal(self.retryContext, "batchDelete", self.stateVersions.blob.delete(PartialBatchKey.complete(p.key, shardId)))) : Effect.void),
      { discard: true }
    )
  }

  /**
   * A minimal compactor for a FueledMergeReq: writes one new part holding the inputs, links
   * it with merge_res, and deletes the output if no attempt applied it (RACE-13).
   */
  compact(handle: ShardHandle, writerId: WriterId, req: FueledMergeReq): Effect.Effect<void> {
    const self = this
    return Effect.gen(function* () {
      const first = req.inputs[0]
      const last = req.inputs[req.inputs.length - 1]
      if (first === undefined || last === undefined) return
      const len = req.inputs.reduce((n, b) => n + b.len, 0)
      const since = handle.machine.state.state.collections.trace.since
      const written = yield* self.writeBatch(handle.machine.shardId, writerId, first.desc.lower, last.desc.upper, 1, len)
      const output: HollowBatch = { ...written, desc: { ...written.desc, since } }
      const { result, maintenance } = yield* handle.machine.mergeRes(req.inputs, output)
      if (result !== "AppliedExact") {
        self.metrics.inc("compaction.notApplied")
        yield* self.deleteBatch(handle.machine.shardId, output)
      } else self.metrics.inc("compaction.applied")
      yield* self.perform(handle, maintenance)
    })
  }

  private get retryContext() {
    return { cfg: this.cfg, metrics: this.metrics }
  }

  /** The writer's debug info persist records alongside its state. */
  debug(purpose: string): HandleDebugState {
    return { hostname: this.cfg.hostname, purpose }
  }

}

