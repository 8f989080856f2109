/**
 * Explaining a minimal tape: which draws the failure needs. For each draw the run consumed, we
 * change just that draw — a non-zero draw to 0 (the simplest outcome), a zero draw to the
 * largest value its bound allows (2^32-1 reduced modulo the bound) — and re-run. If the failure
 * disappears, the draw *matters*: it is one of the few decisions that make the bug happen.
 * Each draw is mapped to where it was made (its label, the step, and the trace event it
 * decided) by a probe run (Probe.ts).
 *
 * With `base` (the oracle's verdict of the tape itself: labels, streams, picks), a process's
 * decision or a fault is changed with the rest replayed by stream (Shrink.ts `Candidate.keyed`),
 * so the change stays that one decision instead of shifting every later draw onto another
 * process — which made nearly every draw "matter". Deliveries and the configuration are changed
 * in place, by position.
 */
import type { Candidate, Oracle, Verdict } from "./Shrink.ts"
import type { DrawSite } from "./Probe.ts"

export interface DrawVerdict extends DrawSite {
  /** The value tried instead. */
  readonly alt: number
  /** The failure disappeared with `alt`. */
  readonly matters: boolean
}

export interface Explanation {
  readonly draws: ReadonlyArray<DrawVerdict>
  /** Draws not tried (budget); their verdict is unknown. */
  readonly untried: number
}

export const explainTape = (
  c: Candidate,
  sites: ReadonlyArray<DrawSite>,
  oracle: Oracle,
  bounds: { readonly maxAttempts: number; readonly budgetMs: number; readonly now: () => number },
  base?: Verdict
): Explanation => {
  const began = bounds.now()
  const out: Array<DrawVerdict> = []
  // The full consumed tape (zeros included), so zero draws can be tried too.
  const tape = sites.map((s) => s.value)
  let untried = 0
  // Latest first: with a budget too small for every draw, the decisions nearest the failure
  // (not the configuration) are the ones worth knowing.
  for (const s of [...sites].reverse()) {
    if (out.length >= bounds.maxAttempts || bounds.now() - began >= bounds.budgetMs) {
      untried++
      continue
    }
    const alt = s.value !== 0 ? 0 : 2 ** 32 - 1
    const next = tape.slice()
    next[s.index] = alt
    const byStream = base?.labels !== undefined && base.streams !== undefined && s.label !== "deliver" && !s.label.startsWith("config.") && s.label !== "randomSeed"
    const v = oracle(
      byStream
        ? { ...c, tape: next, keyed: { labels: base.labels!, streams: base.streams!, ...(base.deliveries !== undefined ? { deliveries: base.deliveries } : {}) } }
        : { ...c, tape: next }
    )
    out.push({ ...s, alt, matters: !v.fails })
  }
  return { draws: out.sort((a, b) => a.index - b.index), untried }
}
