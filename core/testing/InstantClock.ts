/**
 * Test-only Clock: time is a counter, and `sleep` advances it and returns at once. Lets unit
 * tests run retry loops with real backoff durations in microseconds of wall time, with no
 * real timer, while still recording how long the code would have slept.
 */
import { Clock, Duration, Effect } from "effect"

export class InstantClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  /** Total virtual milliseconds slept. */
  slept = 0
  constructor(public nowMs = 1_000_000) {}
  unsafeCurrentTimeMillis(): number {
    return this.nowMs
  }
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(Math.floor(this.nowMs * 1_000_000))
  }
  get currentTimeMillis(): Effect.Effect<number> {
    return Effect.sync(() => this.nowMs)
  }
  get currentTimeNanos(): Effect.Effect<bigint> {
    return Effect.sync(() => this.unsafeCurrentTimeNanos())
  }
  sleep(duration: Duration.Duration): Effect.Effect<void> {
    return Effect.sync(() => {
      const ms = Duration.toMillis(duration)
      this.nowMs += ms
      this.slept += ms
    })
  }
}
