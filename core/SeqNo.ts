/**
 * SeqNo (spec DM-1): the version number of a shard's state.
 *
 * Persist uses a u64 and Consensus accepts `[0, i64::MAX]`. We use a branded safe integer for
 * speed and JSON friendliness; the consequence (documented, and enforced by every Consensus
 * implementation here) is that seqnos above `SeqNo.maximum` = 2^53 − 1 are rejected where
 * persist would reject those above i64::MAX. No simulated run gets anywhere near either.
 */
import { Brand } from "effect"

export type SeqNo = number & Brand.Brand<"SeqNo">

const nominal = Brand.nominal<SeqNo>()

export const SeqNo = Object.assign((n: number): SeqNo => nominal(n), {
  minimum: nominal(0),
  /** The largest seqno Consensus accepts (our stand-in for i64::MAX). */
  maximum: nominal(Number.MAX_SAFE_INTEGER),
  next: (s: SeqNo): SeqNo => nominal(s + 1),
  isValid: (n: number): boolean => Number.isSafeInteger(n) && n >= 0,
  /** `v<n>`, as persist renders it. */
  render: (s: SeqNo): string => `v${s}`,
  /** Parses only the `v<digits>` form. */
  parse: (s: string): SeqNo | undefined => {
    if (!/^v(0|[1-9][0-9]*)$/.test(s)) return undefined
    const n = Number(s.slice(1))
    return Number.isSafeInteger(n) ? nominal(n) : undefined
  }
})

/** SCAN_ALL: "no limit" for Consensus scans (persist: i64::MAX as usize). */
export const SCAN_ALL = Number.MAX_SAFE_INTEGER
