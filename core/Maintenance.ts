/**
 * RoutineMaintenance (spec ALG-M): the GC and rollup work a committed command assigns. It is
 * computed inside the same CaS that commits the command, so exactly one version assigns it;
 * a handle may drop it ("the same maintenance will be recomputed by the next successful
 * compare_and_set of any handle").
 */
import type { SeqNo } from "./SeqNo.ts"
import type { GcReq } from "./State.ts"

export interface RoutineMaintenance {
  readonly garbageCollection: GcReq | null
  readonly writeRollup: SeqNo | null
}

export const RoutineMaintenance = {
  none: { garbageCollection: null, writeRollup: null } as RoutineMaintenance,
  isEmpty: (m: RoutineMaintenance): boolean => m.garbageCollection === null && m.writeRollup === null,
  /** Each field `later` sets overwrites the earlier one. */
  merge: (earlier: RoutineMaintenance, later: RoutineMaintenance): RoutineMaintenance => ({
    garbageCollection: later.garbageCollection ?? earlier.garbageCollection,
    writeRollup: later.writeRollup ?? earlier.writeRollup
  })
}
