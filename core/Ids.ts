/**
 * Ids (spec DM-2): `s<uuid>` shards, `r<uuid>` rollups, `p<uuid>` parts, `w<uuid>` writers,
 * `r<uuid>` leased readers, `c<uuid>` critical readers, `i<uuid>` idempotency tokens.
 *
 * UUIDs come from Effect's `Random`, so a seeded run produces the same ids every time; nothing
 * here touches `crypto`.
 */
import { Effect, Random } from "effect"

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const hex4 = (n: number): string => n.toString(16).padStart(4, "0")

/** A version-4-shaped UUID drawn from Effect's Random (eight 16-bit draws). */
export const randomUuid: Effect.Effect<string> = Effect.gen(function* () {
  const w: Array<number> = []
  for (let i = 0; i < 8; i++) w.push(yield* Random.nextIntBetween(0, 0x10000))
  const [a, b, c, d, e, f, g, h] = w as [number, number, number, number, number, number, number, number]
  // Stamp version 4 and the RFC 4122 variant so the ids look like what persist produces.
  return `${hex4(a)}${hex4(b)}-${hex4(c)}-${hex4((d & 0x0fff) | 0x4000)}-${hex4((e & 0x3fff) | 0x8000)}-${hex4(f)}${hex4(g)}${hex4(h)}`
})

const makeId = <P extends string>(prefix: P) => {
  type Id = `${P}${string}`
  return {
    prefix,
    make: (uuid: string): Id => `${prefix}${uuid}` as Id,
    random: Effect.map(randomUuid, (u) => `${prefix}${u}` as Id),
    /** Strict: the prefix, then a canonical lowercase UUID. */
    parse: (s: string): Id | undefined => (s.startsWith(prefix) && UUID.test(s.slice(prefix.length)) ? (s as Id) : undefined)
  }
}

export type ShardId = `s${string}`
export const ShardId = makeId("s")
export type RollupId = `r${string}`
export const RollupId = makeId("r")
export type PartId = `p${string}`
export const PartId = makeId("p")
export type WriterId = `w${string}`
export const WriterId = makeId("w")
export type LeasedReaderId = `r${string}`
export const LeasedReaderId = makeId("r")
export type CriticalReaderId = `c${string}`
export const CriticalReaderId = makeId("c")
export type IdempotencyToken = `i${string}`
export const IdempotencyToken = Object.assign(makeId("i"), {
  /** Persist's SENTINEL token: sixteen 0x11 bytes (spec CFG-18). */
  SENTINEL: "i11111111-1111-1111-1111-111111111111" as IdempotencyToken
})
