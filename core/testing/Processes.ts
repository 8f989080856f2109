/**
 * Test-only: whole processes (a PersistClient each, with its own scripted stores, metrics and
 * scope) over shared in-memory stores, for the machine-layer tests. Run them under
 * `@effect/vitest`'s `it.scoped` (TestClock) inside `seeded(...)` (a seeded Random), so ids,
 * jitter and time are the same on every run and nothing sleeps in wall time.
 */
import { Cause, Deferred, Effect, Either, Exit, FiberId, Layer, Random, Scope } from "effect"
import { Antichain } from "../Antichain.ts"
import { Blob, fromStore as blobFromStore } from "../Blob.ts"
import { ProcessObserver, type ProcessObserverShape, unobserved } from "../ProcessObserver.ts"
import { PersistClient, type ShardHandle } from "../Client.ts"
import { type CompareAndAppendRes } from "../Machine.ts"
import { Consensus, type ConsensusShape, fromStore as consensusFromStore } from "../Consensus.ts"
import { decodeStateDiff } from "../Encoding.ts"
import { ShardId, WriterId } from "../Ids.ts"
import { Metrics, MetricsRegistry } from "../Metrics.ts"
import { defaultPersistConfig, PersistConfig, type PersistConfigShape } from "../PersistConfig.ts"
import { referencedBlobKeys, type State } from "../State.ts"
import type { StateDiff } from "../StateDiff.ts"
import { StateVersions } from "../StateVersions.ts"
import { shard, uuid, writerId } from "./Fixtures.ts"
import { newStores, type TestStores } from "./Harness.ts"
import { scriptedBlob, scriptedConsensus, StoreScript } from "./ScriptedStores.ts"

export { newStores, type TestStores }

export { uuid }
export const testShard = shard
export const testWriter = (n = 1) => writerId(n)

/** Runs `effect` with a seeded Random (ids, retry jitter): the same on every run. */
export const seeded = <A, E, R>(effect: Effect.Effect<A, E, R>, seed = 42): Effect.Effect<A, E, R> => Effect.withRandom(effect, Random.make(seed))

/** Lets forked fibers (GC workers, background maintenance) run until they block. */
export const settle = (rounds = 50): Effect.Effect<void> => Effect.repeatN(Effect.yieldNow(), rounds)

/**
 * Actions run just AFTER the next matching Consensus call of a process has taken effect and
 * before its caller sees the answer (ScriptedStores only has hooks before a call).
 */
export class AfterScript {
  private rules: Array<{ op: "compareAndSet" | "scan" | "truncate" | "head"; action: () => Effect.Effect<void> }> = []
  afterNext(op: "compareAndSet" | "scan" | "truncate" | "head", action: () => Effect.Effect<void>): this {
    this.rules.push({ op, action })
    return this
  }
  /** @internal */
  run(op: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      const i = this.rules.findIndex((r) => r.op === op)
      if (i < 0) return Effect.void
      const [rule] = this.rules.splice(i, 1)
      return rule!.action()
    })
  }
}

const withAfter = (c: ConsensusShape, after: AfterScript): ConsensusShape => ({
  head: (key) => Effect.tap(c.head(key), () => after.run("head")),
  compareAndSet: (key, expected, next) => Effect.tap(c.compareAndSet(key, expected, next), () => after.run("compareAndSet")),
  scan: (key, from, limit) => Effect.tap(c.scan(key, from, limit), () => after.run("scan")),
  truncate: (key, seqno) => Effect.tap(c.truncate(key, seqno), () => after.run("truncate"))
})

/** One simulated process: a client, its store script, metrics and scope (closing it = crash). */
export interface TestProc {
  readonly name: string
  readonly cfg: PersistConfigShape
  readonly script: StoreScript
  readonly after: AfterScript
  readonly metrics: MetricsRegistry
  readonly client: PersistClient
  readonly scope: Scope.CloseableScope
  /** Causes of background tasks (GC worker, heartbeats, spawned maintenance) that failed. */
  readonly failures: Array<Cause.Cause<unknown>>
  /** Stops the process and all its background work at once. */
  readonly crash: Effect.Effect<void>
  /**
   * Runs `effect`, but fails at once with the cause of the first background failure (a GC
   * worker that panicked leaves whoever awaits it waiting forever, as in persist).
   */
  readonly guard: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * Starts a process over `stores`. Its scope is closed when the surrounding scope closes (or
 * earlier, by `crash`).
 */
export const startProcess = (
  stores: TestStores,
  name: string,
  cfg: Partial<PersistConfigShape> = {}
): Effect.Effect<TestProc, never, Scope.Scope> =>
  Effect.gen(function* () {
    const script = new StoreScript()
    const after = new AfterScript()
    const metrics = new MetricsRegistry()
    const full: PersistConfigShape = { ...defaultPersistConfig, hostname: name, ...cfg }
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const failures: Array<Cause.Cause<unknown>> = []
    const failed = Deferred.unsafeMake<never>(FiberId.none)
    const observer: ProcessObserverShape = {
      ...unobserved,
      backgroundFailure: (cause) => {
        failures.push(cause)
        Deferred.unsafeDone(failed, Exit.failCause(cause as Cause.Cause<never>))
      }
    }
    const layer = Layer.mergeAll(
      Layer.succeed(Consensus, withAfter(scriptedConsensus(stores.consensus, script), after)),
      Layer.succeed(Blob, scriptedBlob(stores.blob, script)),
      PersistConfig.layer(full),
      Layer.succeed(Metrics, metrics),
      Layer.succeed(ProcessObserver, observer)
    )
    const client = yield* PersistClient.make.pipe(Effect.provide(layer), Scope.extend(scope))
    const guard = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => Effect.raceFirst(effect, Deferred.await(failed))
    return { name, cfg: full, script, after, metrics, client, scope, failures, crash: Scope.close(scope, Exit.void), guard }
  })

/** Opens the shard in `proc`, dying on a codec mismatch (never expected in these tests). */
export const open = (proc: TestProc, shardId: ShardId = testShard): Effect.Effect<ShardHandle> => Effect.orDie(proc.client.openMachine(shardId))

/** The usual start of a test: fresh stores, one process "p1" with `cfg`, the shard opened. */
export const openedProcess = (
  cfg: Partial<PersistConfigShape> = {}
): Effect.Effect<{ readonly stores: TestStores; readonly p: TestProc; readonly h: ShardHandle }, never, Scope.Scope> =>
  Effect.gen(function* () {
    const stores = newStores()
    const p = yield* startProcess(stores, "p1", cfg)
    const h = yield* open(p)
    return { stores, p, h }
  })

/** An unscripted StateVersions over the stores: an observer that is no process. */
export const observer = (stores: TestStores, cfg: Partial<PersistConfigShape> = {}): StateVersions =>
  new StateVersions({ ...defaultPersistConfig, hostname: "observer", ...cfg }, consensusFromStore(stores.consensus), blobFromStore(stores.blob), new MetricsRegistry())

/** The current state as Consensus and Blob say it is right now. */
export const durableState = (stores: TestStores, shardId: ShardId = testShard): Effect.Effect<State> =>
  Effect.gen(function* () {
    const sv = observer(stores)
    const recent = yield* sv.fetchRecentLiveDiffs(shardId)
    return (yield* sv.fetchCurrentState(shardId, recent)).state
  })

/** Every blob `state` references that is missing from Blob (INV-9, INV-17 for the current state). */
export const missingBlobs = (stores: TestStores, state: State): Array<string> => referencedBlobKeys(state).filter((k) => !stores.blob.has(k))

/** The shard's Consensus seqnos, ascending. */
export const rowSeqnos = (stores: TestStores, shardId: ShardId = testShard): Array<number> => stores.consensus.rows(shardId).map((r) => r.seqno)

/** The shard's rollup blob keys (full keys), in key order. */
export const rollupBlobKeys = (stores: TestStores, shardId: ShardId = testShard): Array<string> =>
  stores.blob.unsafeList(`${shardId}/v`).map((m) => m.key)

/** Every blob key of the shard, in key order. */
export const blobKeys = (stores: TestStores, shardId: ShardId = testShard): Array<string> => stores.blob.unsafeList(`${shardId}/`).map((m) => m.key)

/** The decoded live diffs of the shard. */
export const liveDiffs = (stores: TestStores, shardId: ShardId = testShard): Array<StateDiff> =>
  stores.consensus.rows(shardId).map((r) => {
    const d = decodeStateDiff(defaultPersistConfig.buildVersion, r.data)
    if (Either.isLeft(d)) throw new Error(`undecodable diff at ${r.seqno}`)
    return d.right
  })

/** Writes a one-part batch `[lower, upper)` and appends it; the result, not yet performed. */
export const writeAndAppend = (
  proc: TestProc,
  handle: ShardHandle,
  writerId: WriterId,
  lower: number,
  upper: number
): Effect.Effect<CompareAndAppendRes> =>
  Effect.gen(function* () {
    const batch = yield* proc.client.writeBatch(handle.machine.shardId, writerId, Antichain.from(lower), Antichain.from(upper), 1, upper - lower)
    return yield* handle.machine.compareAndAppend(batch, writerId, proc.client.debug("writer"))
  })

/** Like `writeAndAppend`, but the append must succeed; returns its maintenance. */
export const appendOk = (proc: TestProc, handle: ShardHandle, writerId: WriterId, lower: number, upper: number) =>
  Effect.flatMap(writeAndAppend(proc, handle, writerId, lower, upper), (res) =>
    res._tag === "Success" ? Effect.succeed(res) : Effect.dieMessage(`append [${lower}, ${upper}) failed: ${JSON.stringify(res)}`)
  )

