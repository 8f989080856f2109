/**
 * A minimal compactor for a FueledMergeReq (spec CMD-MERGE): writes one new part holding the
 * inputs, links it with merge_res, and deletes the output if no attempt applied it (RACE-13).
 */
import { Effect } from "effect"
import { BugSwitches } from "./BugSwitches.ts"
import { withTask } from "./Attribution.ts"
import type { BackgroundTasks, ShardHandle } from "./BackgroundTasks.ts"
import { deleteBatch, writeBatch } from "./BatchIO.ts"
import type { FueledMergeReq } from "./Commands.ts"
import type { WriterId } from "./Ids.ts"
import type { RetryContext } from "./Retry.ts"
import type { HollowBatch } from "./State.ts"

export const compact = (background: BackgroundTasks, retry: RetryContext, handle: ShardHandle, writerId: WriterId, req: FueledMergeReq): Effect.Effect<void> =>
  withTask("compaction")(
    Effect.gen(function* () {
      const first = req.inputs[0]
      const last = req.inputs[req.inputs.length - 1]
      if (first === undefined || last === undefined) return
      const machine = handle.machine
      const sv = machine.applier.stateVersions
      const len = req.inputs.reduce((n, b) => n + b.len, 0)
      const since = machine.state.state.collections.trace.since
      const written = yield* writeBatch(sv, retry, machine.shardId, writerId, first.desc.lower, last.desc.upper, 1, len)
      const output: HollowBatch = { ...written, desc: { ...written.desc, since } }
      const { result, maintenance } = yield* machine.mergeRes(req.inputs, output)
      if (result !== "AppliedExact") {
        retry.metrics.inc("compaction.notApplied")
        yield* deleteBatch(sv, retry, machine.shardId, output)
      } else {
        retry.metrics.inc("compaction.applied")
        const bugs = yield* BugSwitches
        if (bugs.compactionDeletesInputs) for (const input of req.inputs) yield* deleteBatch(sv, retry, machine.shardId, input)
      }
      yield* background.perform(handle, maintenance)
    })
  )
