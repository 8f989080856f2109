/**
 * ALG-HB: the tasks that keep a reader's or writer's lease alive, each performing the
 * maintenance its heartbeats are assigned, until the handle is gone (expired by someone else,
 * or by itself).
 */
import { Duration, Effect } from "effect"
import { withTask } from "./Attribution.ts"
import type { BackgroundTasks, ShardHandle } from "./BackgroundTasks.ts"
import type { LeasedReaderId, WriterId } from "./Ids.ts"
import type { MetricsRegistry } from "./Metrics.ts"

/** Heartbeats a reader every lease/2 and performs maintenance, until it is gone. */
export const readerHeartbeatTask = (
  background: BackgroundTasks,
  metrics: MetricsRegistry,
  handle: ShardHandle,
  readerId: LeasedReaderId,
  leaseDurationMs: number
): Effect.Effect<void> =>
  withTask("heartbeat")(
    Effect.gen(function* () {
      for (;;) {
        yield* Effect.sleep(Duration.millis(leaseDurationMs / 2))
        const { ok, maintenance } = yield* handle.machine.heartbeatLeasedReader(readerId)
        if (!ok) {
          metrics.warn("readerHeartbeatStopped", `reader ${readerId} no longer exists; stopping its heartbeat`)
          return
        }
        yield* background.perform(handle, maintenance)
      }
    })
  )

/** Heartbeats a writer every lease/4 and performs maintenance, until it is gone. */
export const writerHeartbeatTask = (
  background: BackgroundTasks,
  handle: ShardHandle,
  writerId: WriterId,
  writerLeaseDurationMs: number
): Effect.Effect<void> =>
  withTask("heartbeat")(
    Effect.gen(function* () {
      for (;;) {
        yield* Effect.sleep(Duration.millis(writerLeaseDurationMs / 4))
        const { ok, maintenance } = yield* handle.machine.heartbeatWriter(writerId)
        if (!ok) return
        yield* background.perform(handle, maintenance)
      }
    })
  )
