/**
 * Persist's retry helpers (spec CT-4, CFG-12) as Effect `Schedule`s on Effect's Clock and Random.
 *
 * `Retry::persist_defaults`: the first retry is immediate (fixed sleep 0), then the backoff
 * starts at 4 ms, doubles, is clamped at 16 s, and each sleep is jittered by ±10 %. The jitter
 * draws from Effect's `Random`, so a seeded run sleeps the same every time.
 */
import { Duration, Effect, Random, Schedule } from "effect"
import { withAttempt } from "./Attribution.ts"
import type { ExternalError, Indeterminate } from "./Errors.ts"
import type { MetricsRegistry } from "./Metrics.ts"
import type { PersistConfigShape } from "./PersistConfig.ts"

/** The n-th sleep (n = 0 is the first retry), before jitter. */
export const backoffMs = (cfg: PersistConfigShape, n: number): number =>
  n === 0 ? 0 : Math.min(cfg.retryClampBackoffMs, cfg.retryInitialBackoffMs * Math.pow(cfg.retryMultiplier, n - 1))

/** What the retry helpers read: the backoff knobs and where to count retries. */
export interface RetryContext {
  readonly cfg: PersistConfigShape
  readonly metrics: MetricsRegistry
}

/** Retry::persist_defaults as a Schedule that recurs forever. */
export const persistDefaults = (cfg: PersistConfigShape): Schedule.Schedule<number> =>
  Schedule.forever.pipe(
    Schedule.addDelay((n) => Duration.millis(backoffMs(cfg, n))),
    Schedule.jitteredWith({ min: 0.9, max: 1.1 })
  )

/**
 * `op` retried by `retry`, each run of it attributed as the next attempt at `site` (see
 * Attribution.ts); the count starts afresh each time the whole effect runs.
 */
const withNumberedAttempts = <A, E, R, A2, E2, R2>(
  site: string,
  op: Effect.Effect<A, E, R>,
  retry: (attempts: Effect.Effect<A, E, R>) => Effect.Effect<A2, E2, R2>
): Effect.Effect<A2, E2, R2> =>
  Effect.suspend(() => {
    let attempt = 0
    return retry(Effect.suspend(() => withAttempt(site, ++attempt, op)))
  })

/**
 * `retry_external`: retries every error, forever. Only for idempotent operations (every Blob
 * call, Consensus scans/heads/truncates, and the init CaS).
 */
export const retryExternal = <A, R>(
  { cfg, metrics }: RetryContext,
  site: string,
  op: Effect.Effect<A, ExternalError, R>
): Effect.Effect<A, never, R> =>
  withNumberedAttempts(site, op, (attempts) =>
    attempts.pipe(
      Effect.tapError(() => Effect.sync(() => metrics.inc(`retries.external.${site}`))),
      Effect.retry(persistDefaults(cfg)),
      Effect.catchAll((e) => Effect.die(e)) // unreachable: the schedule never ends
    ))

/**
 * `retry_determinate`: retries Determinate errors (the operation certainly did not happen) and
 * hands an Indeterminate straight back to the caller, who must decide what it means.
 */
export const retryDeterminate = <A, R>(
  { cfg, metrics }: RetryContext,
  site: string,
  op: Effect.Effect<A, ExternalError, R>
): Effect.Effect<A, Indeterminate, R> =>
  withNumberedAttempts(site, op, (attempts) =>
    attempts.pipe(
      Effect.tapError((e) => Effect.sync(() => e._tag === "Determinate" && metrics.inc(`retries.determinate.${site}`))),
      Effect.retry({ schedule: persistDefaults(cfg), while: (e) => e._tag === "Determinate" }),
      Effect.catchTag("Determinate", (e) => Effect.die(e)) // unreachable: retried forever
    ))

/**
 * A manual retry stream (persist's `RetryStream`), for loops that sleep between attempts
 * themselves (idempotent commands, compare_and_append) or only count retries.
 */
export class RetryStream {
  private attempt = 0
  constructor(
    private readonly cfg: PersistConfigShape,
    private readonly metrics: { inc(name: string): void },
    private readonly counter: string
  ) {}
  /** Counts a retry without sleeping ("intentionally don't sleep on retry"). */
  countRetry(): void {
    this.attempt++
    this.metrics.inc(this.counter)
  }
  /** Counts a retry and sleeps for the next jittered backoff. */
  get sleep(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const base = backoffMs(this.cfg, this.attempt)
      this.countRetry()
      if (base === 0) return Effect.void
      return Effect.flatMap(Random.nextRange(0.9, 1.1), (j) => Effect.sleep(Duration.millis(base * j)))
    })
  }
}

