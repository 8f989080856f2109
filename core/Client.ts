/**
 * A process's persist client: one StateVersions over the process's Consensus and Blob, the
 * StateCache that opens each shard once, and the background work (maintenance, heartbeats,
 * compaction) forked in the process's scope, so a crash (closing the scope) stops all of it.
 * The pieces live in their own modules; this is the facade a process (and the simulator's
 * workload) holds.
 */
import { Effect, Scope } from "effect"
import type { Antichain } from "./Antichain.ts"
import { BackgroundTasks, type ShardHandle } from "./BackgroundTasks.ts"
import { deleteBatch, writeBatch } from "./BatchIO.ts"
import { Blob } from "./Blob.ts"
import type { FueledMergeReq } from "./Commands.ts"
import { compact } from "./Compaction.ts"
import { Consensus } from "./Consensus.ts"
import type { CodecMismatch } from "./Errors.ts"
import { readerHeartbeatTask, writerHeartbeatTask } from "./Heartbeats.ts"
import type { LeasedReaderId, ShardId, WriterId } from "./Ids.ts"
import type { RoutineMaintenance } from "./Maintenance.ts"
import { Metrics, type MetricsRegistry } from "./Metrics.ts"
import { PersistConfig, type PersistConfigShape } from "./PersistConfig.ts"
import { ProcessObserver } from "./ProcessObserver.ts"
import type { RetryContext } from "./Retry.ts"
import type { HandleDebugState, HollowBatch } from "./State.ts"
import { StateCache } from "./StateCache.ts"
import { StateVersions } from "./StateVersions.ts"

export type { ShardHandle } from "./BackgroundTasks.ts"

export class PersistClient {
  private readonly cache: StateCache
  private readonly retry: RetryContext

  constructor(
    readonly cfg: PersistConfigShape,
    readonly metrics: MetricsRegistry,
    readonly stateVersions: StateVersions,
    readonly background: BackgroundTasks,
    observer: ProcessObserver["Type"]
  ) {
    this.cache = new StateCache(cfg, metrics, stateVersions, background, observer)
    this.retry = { cfg, metrics }
  }

  static make = Effect.gen(function* () {
    const cfg = yield* PersistConfig
    const metrics = yield* Metrics
    const consensus = yield* Consensus
    const blob = yield* Blob
    const observer = yield* ProcessObserver
    const scope = yield* Effect.scope
    return new PersistClient(cfg, metrics, new StateVersions(cfg, consensus, blob, metrics), new BackgroundTasks(scope, observer), observer)
  })

  /** The process scope: background fibers live here; closing it is a crash of the process. */
  get scope(): Scope.Scope {
    return this.background.scope
  }

  openMachine(shardId: ShardId): Effect.Effect<ShardHandle, CodecMismatch> {
    return this.cache.openMachine(shardId)
  }
  /** The handle of a shard whose open finished, if any. */
  opened(shardId: ShardId): ShardHandle | undefined {
    return this.cache.opened(shardId)
  }

  spawn<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<void> {
    return this.background.spawn(effect)
  }
  performInBackground(handle: ShardHandle, m: RoutineMaintenance): Effect.Effect<void> {
    return this.background.performInBackground(handle, m)
  }
  perform(handle: ShardHandle, m: RoutineMaintenance): Effect.Effect<void> {
    return this.background.perform(handle, m)
  }

  readerHeartbeatTask(handle: ShardHandle, readerId: LeasedReaderId, leaseDurationMs: number): Effect.Effect<void> {
    return readerHeartbeatTask(this.background, this.metrics, handle, readerId, leaseDurationMs)
  }
  writerHeartbeatTask(handle: ShardHandle, writerId: WriterId): Effect.Effect<void> {
    return writerHeartbeatTask(this.background, handle, writerId, this.cfg.writerLeaseDurationMs)
  }

  writeBatch(shardId: ShardId, writerId: WriterId, lower: Antichain, upper: Antichain, partCount: number, len: number): Effect.Effect<HollowBatch> {
    return writeBatch(this.stateVersions, this.retry, shardId, writerId, lower, upper, partCount, len, this.cfg.inlineWritesSingleMaxBytes)
  }
  deleteBatch(shardId: ShardId, batch: HollowBatch): Effect.Effect<void> {
    return deleteBatch(this.stateVersions, this.retry, shardId, batch)
  }
  compact(handle: ShardHandle, writerId: WriterId, req: FueledMergeReq): Effect.Effect<void> {
    return compact(this.background, this.retry, handle, writerId, req)
  }

  /** The writer's debug info persist records alongside its state. */
  debug(purpose: string): HandleDebugState {
    return { hostname: this.cfg.hostname, purpose }
  }
}
