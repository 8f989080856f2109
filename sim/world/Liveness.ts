/**
 * The liveness phase: faults stop, every process stops, and a janitor — a fresh process with
 * empty memory — waits out every lease, commits a version (expiring dead handles), runs GC to
 * the seqno_since and the leaked-blob detector. It must finish in bounded steps; afterwards
 * Consensus must be truncated to the latest rollup <= seqno_since and the detector must
 * account for exactly the blobs no live state references.
 */
import { Effect, Exit } from "effect"
import { withTask } from "../../core/Attribution.ts"
import { PersistClient } from "../../core/Client.ts"
import { gcAndTruncate, type GcResults } from "../../core/Gc.ts"
import { LeasedReaderId } from "../../core/Ids.ts"
import { detectLeakedBlobs } from "../../core/LeakedBlobs.ts"
import { BlobKey } from "../../core/Paths.ts"
import { seqnoSince } from "../../core/State.ts"
import { gcResultProblems, leakVerdict, unexplainedLeaks } from "../check/LeakAudit.ts"
import * as V from "../check/Violations.ts"
import { layerFor } from "./Processes.ts"
import type { WorldHost } from "./Host.ts"

export const LIVENESS_STEPS = 5_000
/** How many disagreeing keys a LEAKS verdict quotes. */
const QUOTED_KEYS = 2

/** A started liveness phase: the driver ticks until `over()`, then calls `finish()`. */
export interface LivenessPhase {
  readonly over: () => boolean
  readonly finish: () => void
}

/**
 * `cap`: a shrunk run's liveness budget (RunOptions.livenessSteps): the phase stops after that
 * many steps, and a janitor still running then is the cut, not a LIVENESS-TIMEOUT.
 */
export const runLiveness = (world: WorldHost, finishedMain: boolean, cap?: number): void => {
  const phase = beginLiveness(world, finishedMain, cap)
  if (phase === undefined) return
  while (!phase.over()) if (!world.tick()) break
  phase.finish()
}

/**
 * Starts the phase (the janitor is forked, nothing runs yet); undefined when there is nothing
 * to check. Split from its loop so a driver awaiting a real backend shares it (World.runOn).
 */
export const beginLiveness = (world: WorldHost, finishedMain: boolean, cap?: number): LivenessPhase | undefined => {
  world.stopFaultsAndProcesses()
  if (world.consensus.rows(world.shardId).length === 0) {
    // A shard that exists only in Blob: the audit reads the in-memory model only (it lists).
    auditBlobOnlyShard(world, cap)
    return undefined
  }
  world.record("janitor", "phase.liveness", finishedMain ? "main finished" : "main cut at step budget", "none", "start")
  const cfg = world.persistCfg
  const lease = Math.max(cfg.readerLeaseDurationMs, cfg.writerLeaseDurationMs)
  let report: { leaked: ReadonlyArray<{ key: string }> } | undefined
  let gcTarget = -1
  let gc: { results: GcResults; earliestBefore: number } | undefined
  const janitor = Effect.scoped(
    Effect.gen(function* () {
      const client = yield* PersistClient.make
      const handle = yield* Effect.orDie(client.openMachine(world.shardId))
      yield* Effect.sleep(lease + 1)
      // Any committed command runs expire_at: dead readers and writers lose their holds.
      const nobody = LeasedReaderId.make("00000000-0000-4000-8000-00000000dead")
      yield* handle.machine.expireLeasedReader(nobody)
      const since = seqnoSince(handle.machine.state.state)
      gcTarget = since
      const earliestBefore = world.checker.earliestSeqno
      const [, results] = yield* gcAndTruncate(handle.machine, { shardId: world.shardId, newSeqnoSince: since })
      gc = { results, earliestBefore }
      report = yield* detectLeakedBlobs(client.stateVersions, world.shardId)
    })
  ).pipe(withTask("janitor"), Effect.provide(layerFor(world, "janitor")))
  const fiber = world.kernel.fork(janitor)
  let janitorExit: Exit.Exit<void, unknown> | undefined
  fiber.addObserver((e) => (janitorExit = e))
  const budget = world.stepCount + (cap ?? LIVENESS_STEPS)
  return {
    over: () => janitorExit !== undefined || world.stepCount >= budget,
    finish: () => (cap !== undefined && janitorExit === undefined ? undefined : finishLiveness(world, janitorExit, gcTarget, report, gc))
  }
}

const finishLiveness = (
  world: WorldHost,
  janitorExit: Exit.Exit<void, unknown> | undefined,
  gcTarget: number,
  report: { leaked: ReadonlyArray<{ key: string }> } | undefined,
  gc?: { results: GcResults; earliestBefore: number }
): void => {
  if (janitorExit === undefined) return world.violation(V.LivenessTimeout, { budget: LIVENESS_STEPS })
  // A janitor that died is reported, and the store is still judged: whatever stopped GC, the
  // shard must end truncated to the latest rollup <= seqno_since (a failure of GC itself is
  // then LIVENESS-GC, not only the panic of the process that met it).
  const failed = Exit.isFailure(janitorExit)
  if (Exit.isFailure(janitorExit)) world.onProcessFailure("janitor", janitorExit.cause, "liveness phase")
  const checker = world.checker
  const cur = checker.current
  if (cur !== undefined && gcTarget >= 0) {
    let expected = -1
    for (const s of cur.collections.rollups.keys()) if (s <= gcTarget && s > expected) expected = s
    if (expected >= 0 && checker.earliestSeqno < expected) world.violation(V.GcDidNotTruncate, { gcTarget, earliest: checker.earliestSeqno, expected })
  }
  if (failed) return
  if (gc !== undefined && checker.enabled) {
    for (const p of gcResultProblems(gc.results, checker.ledger.deletedBy("janitor"), gc.earliestBefore, checker.earliestSeqno, checker.current)) world.violation(V.GcResultWrong, p)
  }
  const reported = compareLeaks(world, report)
  world.record("janitor", "phase.liveness", `gc to v${gcTarget}`, "none", `leaks ${reported}`)
}

/** The leaked-blob detector must report exactly the blobs no live state references. */
const compareLeaks = (world: WorldHost, report: { leaked: ReadonlyArray<{ key: string }> } | undefined): number => {
  const reported = new Set((report?.leaked ?? []).map((l) => l.key))
  // Without the checker (benchmarks only) there is no ground truth to compare with.
  if (world.checker.enabled) {
    const unreferenced = new Set(world.checker.unreferencedBlobs())
    const missed = [...unreferenced].filter((k) => !reported.has(k))
    const extra = [...reported].filter((k) => !unreferenced.has(k))
    if (missed.length > 0 || extra.length > 0) {
      world.violation(V.LeakDetectorDisagrees, { missed: missed.length, missedKeys: missed.slice(0, QUOTED_KEYS), extra: extra.length, extraKeys: extra.slice(0, QUOTED_KEYS) })
    }
    const leaks = leakVerdict(unexplainedLeaks([...unreferenced], (k) => world.checker.wasReferenced(k), world.checker.ledger))
    if (leaks !== undefined) world.violation(V.LeakUnexplained, leaks)
  }
  return reported.size
}

/**
 * No version was ever committed, but processes may have written initial rollups before
 * crashing ahead of their init CaS (RACE-2's crash variant): a shard that exists only in Blob.
 * A janitor that does not open the shard (opening would initialize it) runs the detector, which
 * must report every one of those blobs as leaked.
 */
const auditBlobOnlyShard = (world: WorldHost, cap: number | undefined): void => {
  if (world.blob.unsafeList(BlobKey.shardPrefix(world.shardId)).length === 0) return
  world.metrics.inc(BLOB_ONLY_MARK)
  world.record("janitor", "phase.liveness", "shard only in Blob", "none", "start")
  let report: { leaked: ReadonlyArray<{ key: string }> } | undefined
  const janitor = Effect.gen(function* () {
    const client = yield* PersistClient.make
    report = yield* detectLeakedBlobs(client.stateVersions, world.shardId)
  }).pipe(Effect.scoped, withTask("janitor"), Effect.provide(layerFor(world, "janitor")))
  const fiber = world.kernel.fork(janitor)
  let exit: Exit.Exit<void, unknown> | undefined
  fiber.addObserver((e) => (exit = e))
  const budget = world.stepCount + (cap ?? LIVENESS_STEPS)
  while (exit === undefined && world.stepCount < budget) if (!world.tick()) break
  if (exit === undefined && cap !== undefined) return
  if (exit === undefined) return world.violation(V.LivenessTimeout, { budget: LIVENESS_STEPS })
  if (Exit.isFailure(exit)) return world.onProcessFailure("janitor", exit.cause, "liveness phase")
  const reported = compareLeaks(world, report)
  world.record("janitor", "phase.liveness", "shard only in Blob", "none", `leaks ${reported}`)
}

/** The coverage mark of a liveness phase that audited a shard existing only in Blob. */
export const BLOB_ONLY_MARK = "liveness.blobOnlyShard"
