/**
 * Test-only: a StateVersions over scripted in-memory stores, run synchronously with an
 * InstantClock and a seeded Random.
 */
import { Effect, Exit, Random } from "effect"
import { MetricsRegistry } from "../Metrics.ts"
import { defaultPersistConfig, type PersistConfigShape } from "../PersistConfig.ts"
import { StateVersions } from "../StateVersions.ts"
import { InstantClock } from "./InstantClock.ts"
import { MemBlob, MemConsensus, scriptedBlob, scriptedConsensus, StoreScript } from "./ScriptedStores.ts"

export interface TestStores {
  readonly consensus: MemConsensus
  readonly blob: MemBlob
}

export const newStores = (): TestStores => ({ consensus: new MemConsensus(), blob: new MemBlob() })

/** One process: its own script, metrics, clock and randomness over shared stores. */
export class TestProcess {
  readonly script = new StoreScript()
  readonly metrics = new MetricsRegistry()
  readonly clock: InstantClock
  readonly sv: StateVersions
  readonly cfg: PersistConfigShape
  private readonly random: Random.Random

  constructor(
    readonly stores: TestStores,
    cfg: Partial<PersistConfigShape> = {},
    seed = 1
  ) {
    this.cfg = { ...defaultPersistConfig, hostname: `host${seed}`, ...cfg }
    this.clock = new InstantClock()
    this.random = Random.make(seed)
    this.sv = new StateVersions(this.cfg, scriptedConsensus(stores.consensus, this.script), scriptedBlob(stores.blob, this.script), this.metrics)
  }

  /** Provides this process's clock and randomness. */
  provide<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return effect.pipe(Effect.withClock(this.clock), Effect.withRandom(this.random))
  }
  run<A, E>(effect: Effect.Effect<A, E>): A {
    return Effect.runSync(this.provide(effect))
  }
  runExit<A, E>(effect: Effect.Effect<A, E>): Exit.Exit<A, E> {
    return Effect.runSyncExit(this.provide(effect))
  }
}

import { cloneApply, type TypedState, type WorkFn } from "../State.ts"
import { fromDiff } from "../StateDiff.ts"

/** Commits one command on top of `typed` (which must be current) and returns the new state. */
export const commitCmd = <R>(proc: TestProcess, typed: TypedState, work: WorkFn<R>): TypedState => {
  const res = cloneApply(typed.state, { hostname: proc.cfg.hostname, nowMs: proc.clock.nowMs }, work)
  if (res._tag === "Break") throw new Error("commitCmd: command was a no-op")
  const next: TypedState = { state: res.value[1], codecs: typed.codecs }
  const [cas] = proc.run(proc.sv.tryCompareAndSetCurrent("test", typed.state.seqno, next, fromDiff(typed.state, next.state)))
  if (cas !== "Committed") throw new Error(`commitCmd: ${cas}`)
  return next
}

