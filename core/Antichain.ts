/**
 * Antichains over a totally ordered timestamp (persist's `T = u64`).
 *
 * With a total order an antichain has at most one element: `[t]` is the frontier at `t`,
 * `[]` is the empty frontier (everything is complete: "+∞"). Kept as arrays so the JSON
 * encoding reads like persist's protobuf `repeated` fields.
 */
export type Antichain = ReadonlyArray<number>

export const Antichain = {
  empty: [] as Antichain,
  from: (t: number): Antichain => [t],
  minimum: [0] as Antichain,
  isEmpty: (a: Antichain): boolean => a.length === 0,
  /** `a <= b` as frontiers: the empty frontier is the top. */
  lessEqual: (a: Antichain, b: Antichain): boolean => (b.length === 0 ? true : a.length === 0 ? false : a[0]! <= b[0]!),
  lessThan: (a: Antichain, b: Antichain): boolean => Antichain.lessEqual(a, b) && !Antichain.equals(a, b),
  equals: (a: Antichain, b: Antichain): boolean => a.length === b.length && (a.length === 0 || a[0] === b[0]),
  /** The greatest lower bound. */
  meet: (a: Antichain, b: Antichain): Antichain => (Antichain.lessEqual(a, b) ? a : b),
  /** The least upper bound. */
  join: (a: Antichain, b: Antichain): Antichain => (Antichain.lessEqual(a, b) ? b : a),
  render: (a: Antichain): string => (a.length === 0 ? "[]" : `[${a[0]}]`)
}
