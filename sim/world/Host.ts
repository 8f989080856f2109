/**
 * What the world's parts (processes, the liveness phase) need of the world: its stores and
 * services, the kernel and choices, and the driver's step and report hooks. World implements
 * it; the parts depend on this, not on World, so the world's modules import one way.
 */
import type { Cause } from "effect"
import type { FieldsOf } from "../check/Checker.ts"
import type { BugSwitchesShape } from "../../core/BugSwitches.ts"
import type { ShardId } from "../../core/Ids.ts"
import type { MetricsRegistry } from "../../core/Metrics.ts"
import type { PersistConfigShape } from "../../core/PersistConfig.ts"
import type { Violation } from "../check/Violations.ts"
import type { Choices } from "../kernel/Choices.ts"
import type { SimStoreHost } from "./SimStores.ts"
import type { SwarmConfig } from "./SwarmConfig.ts"


export type { FieldsOf } from "../check/Checker.ts"

export interface WorldHost extends SimStoreHost {
  readonly choices: Choices
  readonly config: SwarmConfig
  readonly shardId: ShardId
  readonly persistCfg: PersistConfigShape
  readonly metrics: MetricsRegistry
  readonly bugs: BugSwitchesShape
  readonly stepCount: number
  /**
   * Whose decision the next draw is: a process's name while it draws, the sender of the request
   * being delivered while its fault is drawn, else "world". Read by a shrinker that replays each
   * one's draws as its own stream (sim/trace/Shrink.ts); it never changes a draw.
   */
  drawer: string
  /** One driver iteration; false when nothing can happen any more. */
  tick(): boolean
  /** Ends the main phase: no more faults or restarts, every process stopped. */
  stopFaultsAndProcesses(): void
  violation<S extends { make: (props: any) => Violation }>(kind: S, fields: FieldsOf<S>): void
  onProcessFailure(process: string, cause: Cause.Cause<unknown>, where: string): void
  record(p: string, call: string, arg: string, fault: string, result: string): void
}
