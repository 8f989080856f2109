/**
 * A process's StateCache (spec ALG-INIT): the first open of a shard loads or creates it
 * (maybe_init_shard) and starts its GC worker; concurrent opens wait for that one and share
 * its Applier, so every handle of the process sees one cached state.
 */
import { Cause, Deferred, Effect, Exit, FiberId, Scope } from "effect"
import { Applier } from "./Applier.ts"
import { withTask } from "./Attribution.ts"
import type { BackgroundTasks, ShardHandle } from "./BackgroundTasks.ts"
import type { CodecMismatch } from "./Errors.ts"
import { GarbageCollector } from "./Gc.ts"
import type { ShardId } from "./Ids.ts"
import { Machine } from "./Machine.ts"
import type { MetricsRegistry } from "./Metrics.ts"
import type { PersistConfigShape } from "./PersistConfig.ts"
import type { ProcessObserverShape } from "./ProcessObserver.ts"
import type { StateVersions } from "./StateVersions.ts"

export class StateCache {
  private readonly shards = new Map<ShardId, Deferred.Deferred<ShardHandle, CodecMismatch>>()
  private readonly openedHandles = new Map<ShardId, ShardHandle>()

  constructor(
    private readonly cfg: PersistConfigShape,
    private readonly metrics: MetricsRegistry,
    private readonly stateVersions: StateVersions,
    private readonly background: BackgroundTasks,
    private readonly observer: ProcessObserverShape
  ) {}

  /** The handle of a shard whose open finished, if any. */
  opened(shardId: ShardId): ShardHandle | undefined {
    return this.openedHandles.get(shardId)
  }

  /**
   * The first open of a shard in this process loads or creates it; concurrent opens wait for
   * that one and share the result.
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
          const state = yield* withTask("init")(self.stateVersions.maybeInitShard(shardId))
          const machine = new Machine(new Applier(self.cfg, self.metrics, self.stateVersions, shardId, state))
          const gc = yield* GarbageCollector.start(machine, (e) => self.background.reportFailures(e)).pipe(Scope.extend(self.background.scope))
          return { machine, gc }
        })
      )
      if (Exit.isFailure(opened)) self.shards.delete(shardId)
      else {
        self.openedHandles.set(shardId, opened.value)
        self.observer.shardOpened(shardId, opened.value.machine)
      }
      yield* Deferred.done(done, opened)
      return yield* opened
    })
  }
}
