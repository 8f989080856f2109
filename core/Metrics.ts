/**
 * Metrics: persist's counters under the seed's names, plus named coverage marks and logged
 * warnings. The simulator reads the same registry to tell which paths a run took, so a
 * counter here doubles as proof that a scenario reached its branch.
 */
import { Context } from "effect"

/** Counter names used by the state layer (the seed's names in camelCase). */
export const Counter = {
  fetchRecentLiveDiffsFastPath: "state.fetchRecentLiveDiffsFastPath",
  fetchRecentLiveDiffsSlowPath: "state.fetchRecentLiveDiffsSlowPath",
  rollupAtSeqnoMigration: "state.rollupAtSeqnoMigration",
  rollupWriteNoopLatest: "state.rollupWriteNoopLatest",
  rollupWriteNoopTruncated: "state.rollupWriteNoopTruncated",
  rollupWriteSuccess: "state.rollupWriteSuccess",
  fetchLatestStateRetries: "retries.fetchLatestState",
  fetchLiveStatesRetries: "retries.fetchLiveStates",
  gcNoop: "gc.noop",
  gcStarted: "gc.started",
  gcFinished: "gc.finished",
  gcStepSkippedAlreadyTruncated: "gc.stepSkippedAlreadyTruncated",
  gcStepTruncated: "gc.stepTruncated",
  gcPartsDeleted: "gc.partsDeleted",
  gcRollupsDeleted: "gc.rollupsDeleted",
  cmdSucceeded: "cmd.succeeded",
  cmdCasMismatch: "cmd.casMismatch",
  cmdIndeterminate: "cmd.indeterminate",
  cmdNoop: "cmd.noop",
  stateFetchSlowPath: "applier.fetchAndUpdateStateSlowPath",
  stateFetchFastPath: "applier.fetchAndUpdateStateFastPath",
  // Coverage marks for the RACE-* scenarios (scenarios/Catalogue.ts): counted where the race's
  // branch is taken, nothing else.
  initRollupDeletedAfterMismatch: "race.initRollupDeletedAfterMismatch",
  initOwnRollupFoundAfterMismatch: "race.initOwnRollupFoundAfterMismatch",
  rollupAppliedEverNotLast: "race.rollupAppliedEverNotLast",
  mergeAppliedEverNotLast: "race.mergeAppliedEverNotLast",
  gcAssignmentTakenByWinner: "race.gcAssignmentTakenByWinner",
  readerExpiredAtRegistration: "race.readerExpiredAtRegistration",
  readerDowngradeAfterExpiry: "race.readerDowngradeAfterExpiry",
  fetchSkippedCacheNewer: "race.fetchSkippedCacheNewer",
  rollupLinkedOutOfOrder: "race.rollupLinkedOutOfOrder",
  /** RACE-P1 family: a GC request past the GC's cached seqno_since (its cache is stale). */
  raceGcCacheStale: "race.gcCacheOlderThanRequest",
  /** RACE-9/RACE-P1: GC found Consensus truncated past its own fetched earliest by another GC. */
  raceGcTruncatedUnderneath: "race.gcEarliestMovedUnderneath"
} as const

export interface Warning {
  readonly kind: string
  readonly message: string
}

/** How many warnings a registry keeps word for word; past that it only counts them by kind. */
export const KEPT_WARNINGS = 100

export class MetricsRegistry {
  readonly counters = new Map<string, number>()
  readonly gauges = new Map<string, number>()
  /** The first KEPT_WARNINGS warnings (a fetch loop that retries forever warns forever). */
  readonly warnings: Array<Warning> = []
  /** Every warning, counted by kind. */
  readonly warningCounts = new Map<string, number>()
  private warned = 0

  /** `onWarn` hears of every warning as it is logged (the simulator turns some into findings). */
  constructor(private readonly onWarn: (w: Warning) => void = () => {}) {}

  /** How many warnings were logged, kept or not. */
  get warningCount(): number {
    return this.warned
  }

  inc(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by)
  }
  set(name: string, value: number): void {
    this.gauges.set(name, value)
  }
  get(name: string): number {
    return this.counters.get(name) ?? 0
  }
  warn(kind: string, message: string): void {
    const w = { kind, message }
    this.warned++
    this.warningCounts.set(kind, (this.warningCounts.get(kind) ?? 0) + 1)
    if (this.warnings.length < KEPT_WARNINGS) this.warnings.push(w)
    this.onWarn(w)
  }
  /** Counters in name order (deterministic iteration for reports). */
  snapshot(): ReadonlyArray<readonly [string, number]> {
    return [...this.counters.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  }
}

export class Metrics extends Context.Tag("persist/Metrics")<Metrics, MetricsRegistry>() {}
