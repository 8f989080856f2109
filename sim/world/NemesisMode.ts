/**
 * `--nemesis MODE`: which nemeses a run has, as RunOptions. Absent, a seed runs its own draw (the
 * GC-race nemesis is a targeted fault of a sixteenth of seeds; the deletion nemesis is off).
 *   off     no nemesis at all (not even a seed's targeted GC-race nemesis)
 *   delete  the deletion nemesis, deleting one referenced blob per outage (Nemesis.ts)
 *   wipe    the deletion nemesis, wiping the shard's whole Blob per outage (RACE-19)
 *   gc      the GC-race nemesis (GcNemesis.ts): GC requests duplicated, delayed, reordered, forwarded
 *   all     deletions and wipes (defaultNemesisOptions) and the GC-race nemesis
 * The deletion nemesis still draws itself off for a quarter of seeds (Nemesis.ts `on`).
 */
import { defaultNemesisOptions, type NemesisOptions } from "./Nemesis.ts"

export const NEMESIS_MODES = ["off", "delete", "wipe", "gc", "all"] as const
export type NemesisMode = (typeof NEMESIS_MODES)[number]

export const isNemesisMode = (s: string): s is NemesisMode => (NEMESIS_MODES as ReadonlyArray<string>).includes(s)

export const nemesisRunOptions = (mode: NemesisMode | null): { readonly nemesis?: NemesisOptions; readonly gcNemesis?: boolean } => {
  switch (mode) {
    case null:
      return {}
    case "off":
      return { gcNemesis: false }
    case "delete":
      return { nemesis: { ...defaultNemesisOptions, wipe: 0 } }
    case "wipe":
      return { nemesis: { ...defaultNemesisOptions, wipe: 1 } }
    case "gc":
      return { gcNemesis: true }
    case "all":
      return { nemesis: defaultNemesisOptions, gcNemesis: true }
  }
}
