/**
 * Virtual time for the simulation, in milliseconds, plus the timer queue that
 * Effect's `sleep` (and everything built on it: `timeout`, `Schedule`, retry
 * backoff...) registers into. Time moves only when the driver calls
 * `advanceToNextTimer`/`advanceTo`; nothing here touches real timers.
 *
 * Timers are ordered by (due time, registration sequence) in a binary heap,
 * so timers due at the same instant fire in registration order, never in an
 * order that depends on iteration of a hash structure.
 */
import { Clock, Duration, Effect } from "effect"

/** A registered timer; an opaque handle for `cancel`. */
export interface Timer {
  readonly due: number
  readonly seq: number
}

class TimerEntry implements Timer {
  constructor(
    readonly due: number,
    readonly seq: number,
    readonly fire: () => void,
    // Position in the heap, kept up to date so that cancel is O(log n);
    // -1 once fired or cancelled.
    public index: number
  ) {}
}

const before = (a: TimerEntry, b: TimerEntry): boolean => a.due < b.due || (a.due === b.due && a.seq < b.seq)

export class VirtualClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  private nowMs: number
  private readonly heap: Array<TimerEntry> = []
  private nextSeq = 0

  constructor(epochMs: number = 0) {
    this.nowMs = epochMs
  }

  get now(): number {
    return this.nowMs
  }

  get hasTimers(): boolean {
    return this.heap.length > 0
  }

  get timerCount(): number {
    return this.heap.length
  }

  /** Due time of the earliest timer, or undefined when there is none. */
  get nextDue(): number | undefined {
    return this.heap[0]?.due
  }

  /**
   * Registers `fire` to run `delayMs` from now (a negative delay counts as 0).
   * A timer due "now" still waits for the next advance: time only moves, and
   * timers only fire, when the driver decides.
   */
  schedule(delayMs: number, fire: () => void): Timer {
    if (!(delayMs < Infinity)) {
      throw new RangeError(`VirtualClock.schedule: delay must be finite, got ${delayMs}`)
    }
    const entry = new TimerEntry(this.nowMs + Math.max(0, delayMs), this.nextSeq++, fire, this.heap.length)
    this.heap.push(entry)
    this.siftUp(entry.index)
    return entry
  }

  /** Removes a timer that has not fired yet; false if it already fired or was cancelled. */
  cancel(timer: Timer): boolean {
    const entry = timer as TimerEntry
    const i = entry.index
    if (i < 0 || this.heap[i] !== entry) return false
    this.removeAt(i)
    return true
  }

  /**
   * Moves time to the earliest timer and fires every timer due at that time,
   * in (due, registration) order. Timers registered by the callbacks fire on
   * a later advance, even if due at the same time, so one call is bounded.
   * Returns false when there is no timer.
   */
  advanceToNextTimer(): boolean {
    const first = this.heap[0]
    if (first === undefined) return false
    this.fireUpTo(first.due)
    return true
  }

  /** Moves time forward to `time` (never backwards), firing every timer due by then in order; returns how many fired. */
  advanceTo(time: number): number {
    return this.fireUpTo(Math.max(time, this.nowMs))
  }

  private fireUpTo(time: number): number {
    this.nowMs = Math.max(this.nowMs, time)
    const due: Array<TimerEntry> = []
    while (this.heap.length > 0 && this.heap[0]!.due <= time) {
      due.push(this.removeAt(0))
    }
    // Collected first, then fired: callbacks that register timers due by
    // `time` must not fire in this same call (that could loop forever).
    // Callbacks only enqueue fibers, so all of them see the clock at `time`;
    // use advanceToNextTimer to step instant by instant when that matters.
    for (let i = 0; i < due.length; i++) due[i]!.fire()
    return due.length
  }

  // ---- Effect Clock ------------------------------------------------------

  unsafeCurrentTimeMillis(): number {
    return this.nowMs
  }

  unsafeCurrentTimeNanos(): bigint {
    // Split so a large epoch in ms does not lose precision above 2^53 ns.
    const whole = Math.floor(this.nowMs)
    return BigInt(whole) * 1_000_000n + BigInt(Math.round((this.nowMs - whole) * 1_000_000))
  }

  readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.nowMs)

  readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.unsafeCurrentTimeNanos())

  /**
   * Suspends the fiber until the timer fires; on interruption the timer is
   * removed, so an interrupted sleep leaves nothing behind to keep a run
   * "busy". An infinite duration never fires and registers nothing (like
   * Effect's own clock, which treats huge timeouts as infinite).
   */
  sleep(duration: Duration.Duration): Effect.Effect<void> {
    const ms = Duration.toMillis(duration)
    return Effect.async<void>((resume) => {
      if (!(ms < Infinity)) return
      const timer = this.schedule(ms, () => resume(Effect.void))
      return Effect.sync(() => {
        this.cancel(timer)
      })
    })
  }

  // ---- binary heap -------------------------------------------------------

  private removeAt(i: number): TimerEntry {
    const heap = this.heap
    const entry = heap[i]!
    const last = heap.pop()!
    entry.index = -1
    if (last !== entry) {
      heap[i] = last
      last.index = i
      this.siftDown(i)
      this.siftUp(last.index)
    }
    return entry
  }

  private siftUp(i: number): void {
    const heap = this.heap
    const entry = heap[i]!
    while (i > 0) {
      const p = (i - 1) >> 1
      const parent = heap[p]!
      if (!before(entry, parent)) break
      heap[i] = parent
      parent.index = i
      i = p
    }
    heap[i] = entry
    entry.index = i
  }

  private siftDown(i: number): void {
    const heap = this.heap
    const n = heap.length
    const entry = heap[i]!
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && before(heap[r]!, heap[l]!) ? r : l
      const child = heap[c]!
      if (!before(child, entry)) break
      heap[i] = child
      child.index = i
      i = c
    }
    heap[i] = entry
    entry.index = i
  }
}
