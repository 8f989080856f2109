/**
 * PersistConfig (spec §9): the knobs of the state layer, provided as a Layer.
 *
 * Defaults are persist's production values; simulations override them (small rollup
 * thresholds, tiny scan limits, short leases) to reach the interesting paths quickly.
 */
import { Context, Layer } from "effect"

export interface Codecs {
  readonly key: string
  readonly val: string
  readonly ts: string
  readonly diff: string
}

export interface PersistConfigShape {
  /** The code's version, written into every state and checked against data (DM-7). */
  readonly buildVersion: string
  readonly hostname: string
  /** The K/V/T/D codec names this process opens shards with. */
  readonly codecs: Codecs
  /** CFG-1 `persist_rollup_threshold`. */
  readonly rollupThreshold: number
  /** CFG-2: classic mode rolls up on every seqno past threshold × this. */
  readonly rollupFallbackThresholdMultiplier: number
  /** CFG-4 `persist_rollup_use_active_rollup`: active (true) or classic (false) rollup mode. */
  readonly rollupUseActiveRollup: boolean
  /** CFG-5. */
  readonly rollupFallbackThresholdMs: number
  /** CFG-6 `persist_gc_use_active_gc`. */
  readonly gcUseActiveGc: boolean
  /** CFG-7. */
  readonly gcFallbackThresholdMs: number
  /** CFG-8. */
  readonly gcMinVersions: number
  /** CFG-9: the most versions one GC request may cover. */
  readonly gcMaxVersions: number
  /** CFG-11. */
  readonly gcBlobDeleteConcurrencyLimit: number
  /**
   * `persist_inline_writes_single_max_bytes`: a batch at most this big is carried in state as
   * one inline part instead of being written to Blob. Persist's default is 4096; here 0 (never
   * inline) so that worlds and tests that count blobs are unchanged unless they opt in (the
   * swarm turns it on in some seeds: sim/world/SwarmConfig.ts `inlineWritesFor`).
   */
  readonly inlineWritesSingleMaxBytes: number
  /** CFG-3 `persist_state_versions_recent_live_diffs_limit`. */
  readonly stateVersionsRecentLiveDiffsLimit: number
  /** CFG-14. */
  readonly readerLeaseDurationMs: number
  /** CFG-15. */
  readonly writerLeaseDurationMs: number
  /** CFG-12 Retry::persist_defaults. */
  readonly retryInitialBackoffMs: number
  readonly retryMultiplier: number
  readonly retryClampBackoffMs: number
  /** Rust's `cfg(debug_assertions)`: runs the ReferencedBlobValidator and debug asserts. */
  readonly debugAssertions: boolean
}

export const defaultPersistConfig: PersistConfigShape = {
  buildVersion: "0.130.0",
  hostname: "localhost",
  codecs: { key: "String", val: "String", ts: "u64", diff: "i64" },
  rollupThreshold: 128,
  rollupFallbackThresholdMultiplier: 3,
  rollupUseActiveRollup: true,
  rollupFallbackThresholdMs: 5_000,
  gcUseActiveGc: false,
  gcFallbackThresholdMs: 900_000,
  gcMinVersions: 32,
  gcMaxVersions: 128_000,
  gcBlobDeleteConcurrencyLimit: 32,
  inlineWritesSingleMaxBytes: 0,
  stateVersionsRecentLiveDiffsLimit: 30 * 128,
  readerLeaseDurationMs: 900_000,
  writerLeaseDurationMs: 900_000,
  retryInitialBackoffMs: 4,
  retryMultiplier: 2,
  retryClampBackoffMs: 16_000,
  debugAssertions: true
}

export class PersistConfig extends Context.Tag("persist/PersistConfig")<PersistConfig, PersistConfigShape>() {
  static readonly layer = (overrides: Partial<PersistConfigShape>): Layer.Layer<PersistConfig> =>
    Layer.succeed(PersistConfig, { ...defaultPersistConfig, ...overrides })
}
