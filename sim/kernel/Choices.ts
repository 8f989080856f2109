/**
 * The one source of every decision of a simulated run (DESIGN.md §4 "Choices").
 *
 * Convention, binding on every caller: a draw of 0 is the *simplest outcome*
 * (deliver the oldest request, inject no fault, do not crash, take the first
 * option). A recorded tape that runs out yields 0 forever, so deleting draws
 * from a tape or lowering them makes the run simpler: that is what lets
 * fast-check shrink a failing run by shrinking its tape. Callers should also
 * order options so that *smaller* draws are *simpler* (not just 0), so that
 * lowering a draw never makes the run more complicated.
 *
 * Every draw, whatever its bound, consumes exactly one tape slot; this keeps
 * replay aligned even when a bound is 1.
 */
import seedrandom from "seedrandom"

export interface Choices {
  /** An integer in [0, bound). `bound` must be an integer in [1, 2^32]. */
  draw(bound: number, label: string): number
  /** True with probability `p` (to within 1e-6); a draw of 0 is always false. */
  drawBool(p: number, label: string): boolean
  /**
   * An index into `weights` with probability proportional to its weight.
   * Smaller draws give smaller indices, so index 0 is the simplest option.
   */
  drawWeighted(weights: ReadonlyArray<number>, label: string): number
  /** Every draw so far, in order. A fresh copy: O(drawCount), meant for the end of a run. */
  readonly tape: ReadonlyArray<number>
  readonly drawCount: number
  /** The label of every draw, in order, when created with `{ labels: true }`. */
  readonly labels: ReadonlyArray<string> | undefined
  /** The bound of every draw, in order, with `{ labels: true }` (a shrinker's range to try). */
  readonly bounds: ReadonlyArray<number> | undefined
}

export interface ChoicesOptions {
  /** Keep each draw's label (for traces and debugging). Off by default: costs a push per draw. */
  readonly labels?: boolean
}

const MAX_BOUND = 2 ** 32
const BOOL_RESOLUTION = 1_000_000

class ChoicesImpl implements Choices {
  // A typed array, not number[]: a long run can make tens of millions of draws,
  // and every value fits in 32 bits because bounds are capped at 2^32.
  private buf = new Uint32Array(1024)
  private count = 0
  private readonly labelLog: Array<string> | undefined
  private readonly boundLog: Array<number> | undefined

  constructor(
    private readonly prng: seedrandom.PRNG | undefined,
    private readonly replay: Uint32Array | undefined,
    options: ChoicesOptions | undefined,
    private readonly source?: (bound: number, label: string) => number
  ) {
    this.labelLog = options?.labels === true ? [] : undefined
    this.boundLog = options?.labels === true ? [] : undefined
  }

  draw(bound: number, label: string): number {
    if (!(bound >= 1 && bound <= MAX_BOUND && Math.floor(bound) === bound)) {
      throw new RangeError(`Choices.draw(${bound}, ${JSON.stringify(label)}): bound must be an integer in [1, 2^32]`)
    }
    const i = this.count
    let value: number
    if (this.replay !== undefined) {
      value = i < this.replay.length ? this.replay[i]! % bound : 0
    } else if (this.source !== undefined) {
      value = this.source(bound, label) % bound
    } else {
      // alea's plain call has 32 bits of resolution, enough for bounds up to
      // 2^32; the bias of floor(u * bound) is below bound / 2^32.
      value = Math.floor(this.prng!() * bound)
    }
    if (i === this.buf.length) {
      const grown = new Uint32Array(i * 2)
      grown.set(this.buf)
      this.buf = grown
    }
    this.buf[i] = value
    this.count = i + 1
    if (this.labelLog !== undefined) {
      this.labelLog.push(label)
      this.boundLog!.push(bound)
    }
    return value
  }

  drawBool(p: number, label: string): boolean {
    // true iff d >= RESOLUTION - k: monotone (a lower draw is never "more true"),
    // and k is capped below RESOLUTION so that d = 0 is always false. Hence
    // p = 1 gives 1 - 1e-6, which is the documented tolerance.
    const k = p >= 1 ? BOOL_RESOLUTION - 1 : p <= 0 ? 0 : Math.min(BOOL_RESOLUTION - 1, Math.round(p * BOOL_RESOLUTION))
    const d = this.draw(BOOL_RESOLUTION, label)
    return d >= BOOL_RESOLUTION - k
  }

  drawWeighted(weights: ReadonlyArray<number>, label: string): number {
    let total = 0
    let integral = true
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!
      if (!(w >= 0 && w < Infinity)) {
        throw new RangeError(`Choices.drawWeighted(${JSON.stringify(label)}): weight ${i} is ${w}`)
      }
      total += w
      if (Math.floor(w) !== w) integral = false
    }
    if (!(total > 0)) {
      throw new RangeError(`Choices.drawWeighted(${JSON.stringify(label)}): weights sum to ${total}`)
    }
    let last = weights.length - 1
    while (weights[last] === 0) last--
    if (integral && total <= MAX_BOUND) {
      let d = this.draw(total, label)
      for (let i = 0; i < last; i++) {
        d -= weights[i]!
        if (d < 0) return i
      }
      return last
    }
    // Fractional weights: compare a draw in [0, 1e6) against cumulative shares.
    const d = this.draw(BOOL_RESOLUTION, label)
    let cum = 0
    for (let i = 0; i < last; i++) {
      cum += weights[i]!
      if (d < (cum / total) * BOOL_RESOLUTION) return i
    }
    return last
  }

  get tape(): ReadonlyArray<number> {
    return Array.from(this.buf.subarray(0, this.count))
  }

  get drawCount(): number {
    return this.count
  }

  get labels(): ReadonlyArray<string> | undefined {
    return this.labelLog
  }

  get bounds(): ReadonlyArray<number> | undefined {
    return this.boundLog
  }
}

/** An endless source from a seed; the same seed gives the same draws on every machine. */
const seeded = (seed: number, options?: ChoicesOptions): Choices =>
  // alea: ~5x faster than seedrandom's default ARC4 (DESIGN.md §4).
  new ChoicesImpl(seedrandom.alea(String(seed)), undefined, options)

/**
 * Replays `tape` in order; a value >= bound is reduced modulo bound; past the
 * end every draw is 0 (the simplest outcome). The resulting `tape` is the
 * normalised replay (reduced values, zeros past the end), so it can be saved
 * as a minimal reproduction.
 */
const recorded = (tape: ReadonlyArray<number>, options?: ChoicesOptions): Choices => {
  const copy = new Uint32Array(tape.length)
  for (let i = 0; i < tape.length; i++) {
    const v = tape[i]!
    if (!(v >= 0 && v < MAX_BOUND && Math.floor(v) === v)) {
      throw new RangeError(`Choices.recorded: tape[${i}] = ${v} is not an integer in [0, 2^32)`)
    }
    copy[i] = v
  }
  return new ChoicesImpl(undefined, copy, options)
}

/**
 * Each draw's value from `next(bound, label)` (reduced modulo bound; it must return an integer
 * in [0, 2^32)). For a shrinker that replays a tape by label rather than by position; the
 * `tape` is what was returned, so `recorded(tape)` replays the same run.
 */
const fromSource = (next: (bound: number, label: string) => number, options?: ChoicesOptions): Choices =>
  new ChoicesImpl(undefined, undefined, options, next)

export const Choices = { seeded, recorded, fromSource } as const
