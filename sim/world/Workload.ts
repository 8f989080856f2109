/**
 * The simulated processes' programs (DESIGN §4 "Processes and workload"): writers appending
 * batches whose parts are blobs, leased readers holding and moving seqnos, inspectors walking
 * every live state. Every decision is a draw from the run's Choices; draw 0 is always the
 * plainest action. Each program runs the real core/ code through a PersistClient.
 */
import { Duration, Effect } from "effect"
import { Antichain } from "../../core/Antichain.ts"
import type { PersistClient, ShardHandle } from "../../core/Client.ts"
import { LeasedReaderId, type ShardId, WriterId } from "../../core/Ids.ts"
import { detectLeakedBlobs } from "../../core/LeakedBlobs.ts"
import type { HollowBatch } from "../../core/State.ts"
import type { Role } from "./SwarmConfig.ts"

export interface WorkloadContext {
  readonly client: PersistClient
  readonly shardId: ShardId
  readonly ops: number
  /** A draw from the run's Choices (0 = simplest). */
  readonly draw: (bound: number, label: string) => Effect.Effect<number>
  /** A writer was told its batch committed at `seqno`. */
  readonly onAppended: (writerId: string, seqno: number, batch: HollowBatch) => void
  /** A reader was told its since is `since` at `seqno`. */
  readonly onDowngraded: (readerId: string, seqno: number, since: Antichain) => void
}

const open = (ctx: WorkloadContext) => Effect.orDie(ctx.client.openMachine(ctx.shardId))

const pause = (ctx: WorkloadContext, label: string) =>
  Effect.flatMap(ctx.draw(4, label), (d) => Effect.sleep(Duration.millis([1, 10, 100, 1_000][d]!)))

export const writer = (ctx: WorkloadContext): Effect.Effect<void> =>
  Effect.gen(function* () {
    const { client } = ctx
    const handle = yield* open(ctx)
    const writerId = yield* WriterId.random
    const debug = client.debug("sim writer")
    let heartbeating = false
    for (let i = 0; i < ctx.ops; i++) {
      const action = yield* ctx.draw(8, "writer.action")
      if (action <= 5) {
        const lower = handle.machine.applier.upper
        if (Antichain.isEmpty(lower)) return
        const width = 1 + (yield* ctx.draw(3, "writer.width"))
        const partCount = yield* ctx.draw(3, "writer.parts")
        const upper = Antichain.from(lower[0]! + width)
        const batch = yield* client.writeBatch(ctx.shardId, writerId, lower, upper, partCount, partCount * 2)
        const res = yield* handle.machine.compareAndAppend(batch, writerId, debug)
        if (res._tag === "Success") {
          ctx.onAppended(writerId, res.seqno, batch)
          yield* client.performInBackground(handle, res.maintenance)
          for (const req of res.mergeReqs) yield* client.spawn(client.compact(handle, writerId, req))
          if (!heartbeating) {
            heartbeating = true
            yield* client.spawn(client.writerHeartbeatTask(handle, writerId))
          }
        } else {
          // Never linked: our parts would leak, so delete them (persist's batch.delete()).
          yield* client.deleteBatch(ctx.shardId, batch)
        }
      } else if (action === 6) {
        const { maintenance } = yield* handle.machine.heartbeatWriter(writerId)
        yield* client.performInBackground(handle, maintenance)
      } else yield* pause(ctx, "writer.pause")
    }
    if ((yield* ctx.draw(2, "writer.expireAtEnd")) === 1) yield* handle.machine.expireWriter(writerId)
  })

export const reader = (ctx: WorkloadContext): Effect.Effect<void> =>
  Effect.gen(function* () {
    const { client } = ctx
    const handle: ShardHandle = yield* open(ctx)
    const readerId = yield* LeasedReaderId.random
    const lease = client.cfg.readerLeaseDurationMs
    const { maintenance } = yield* handle.machine.registerLeasedReader(readerId, "sim reader", lease)
    yield* client.performInBackground(handle, maintenance)
    yield* client.spawn(client.readerHeartbeatTask(handle, readerId, lease))
    for (let i = 0; i < ctx.ops; i++) {
      const action = yield* ctx.draw(5, "reader.action")
      if (action <= 1) {
        const upper = handle.machine.applier.upper
        const target = Antichain.isEmpty(upper) ? Antichain.empty : Antichain.from(Math.max(0, upper[0]! - (yield* ctx.draw(3, "reader.lag"))))
        const res = yield* handle.machine.downgradeSince(readerId, null, target)
        // An empty since: our lease ran out (the process slept past it, RACE-17).
        if (Antichain.isEmpty(res.since)) return
        ctx.onDowngraded(readerId, res.seqno, res.since)
        yield* client.performInBackground(handle, res.maintenance)
      } else if (action === 2) {
        yield* handle.machine.applier.fetchAndUpdateState(null)
      } else if (action === 3) {
        // Hold the seqno for a long while: GC must not pass it.
        yield* Effect.sleep(Duration.millis(lease / 4))
      } else yield* pause(ctx, "reader.pause")
    }
    if ((yield* ctx.draw(2, "reader.expireAtEnd")) === 0) yield* handle.machine.expireLeasedReader(readerId)
  })

export const inspector = (ctx: WorkloadContext): Effect.Effect<void> =>
  Effect.gen(function* () {
    const sv = ctx.client.stateVersions
    for (let i = 0; i < ctx.ops; i++) {
      const action = yield* ctx.draw(3, "inspector.action")
      if (action === 0) {
        const iter = yield* sv.fetchAllLiveStates(ctx.shardId)
        if (iter._tag === "Some") while (iter.value.next() !== undefined) {
          // walk every live state; the validator checks each step
        }
      } else if (action === 1) {
        yield* detectLeakedBlobs(sv, ctx.shardId)
      } else yield* pause(ctx, "inspector.pause")
    }
  })

export const programFor = (role: Role): ((ctx: WorkloadContext) => Effect.Effect<void>) =>
  role === "writer" ? writer : role === "reader" ? reader : inspector
