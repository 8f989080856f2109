/**
 * A finished GC pass ran at least as far as its request (issue 15): the worker's promise to its
 * callers ("the Deferred completes once GC has run at least that far", core/Gc.ts).
 *
 * GC for a request with seqno_since R works from its process's cached state M, refreshed first
 * when M's seqno_since is below R (persist's `fetch_and_update_state(Some(R))` and the assert
 * after it), so M is at or past H_R, the first version whose seqno_since is >= R (seqno_since
 * never regresses, INV-S4). It truncates to each rollup <= R that M lists, the last one being
 * the latest. Every rollup H_R listed at or below R is in M too, unless a GC removed it from
 * state, which happens only after that GC truncated past it. So when the pass finishes,
 *
 *   earliest >= the latest rollup <= R that version H_R lists
 *
 * (if H_R is already truncated away, earliest > H_R > that rollup, INV-13). A pass that fell
 * short worked from a state older than its request — a skipped refresh — or did less than the
 * request asked; either way its callers were told GC had run that far when it had not.
 */
import { seqnoSince, type State } from "../../core/State.ts"

/** The latest rollup <= `r` listed by the first live version whose seqno_since is >= `r`. */
export const expectedEarliest = (r: number, earliest: number, head: number, stateAt: (seqno: number) => State | undefined): number | undefined => {
  for (let s = earliest; s <= head; s++) {
    const st = stateAt(s)
    if (st === undefined || seqnoSince(st) < r) continue
    let best: number | undefined
    for (const k of st.collections.rollups.keys()) if (k <= r && (best === undefined || k > best)) best = k
    return best
  }
  return undefined
}

/**
 * A pass's own part (GcPassSkippedWork): the first check judges the stores, so it passes when
 * another worker truncated meanwhile, even if this pass planned from a stale state and did
 * nothing. A correct pass plans from M (at or past H_R) a truncation step to every rollup <= R
 * that M lists, the last being the expected one or a later one; each step it either skips,
 * because the live states it scanned (fetch_all_live_states) already begin at or past it, or
 * makes with its own truncate. A pass that plans nothing (at most one rollup <= R in M) does so
 * only when Consensus is already truncated there. So if, when the pass starts, the earliest is
 * below the expected rollup, the pass's own scan or truncations must reach it.
 */
export const passStart = (r: number, earliest: number, head: number, stateAt: (seqno: number) => State | undefined): { readonly earliest: number; readonly expected: number | undefined } => ({
  earliest,
  expected: expectedEarliest(r, earliest, head, stateAt)
})

/** The shortfall of a pass to `r` that just finished, if any. */
export const passShortfall = (
  r: number,
  earliest: number,
  head: number,
  stateAt: (seqno: number) => State | undefined
): { readonly earliest: number; readonly expected: number } | undefined => {
  const expected = expectedEarliest(r, earliest, head, stateAt)
  return expected !== undefined && earliest < expected ? { earliest, expected } : undefined
}
