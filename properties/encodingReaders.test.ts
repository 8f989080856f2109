/**
 * The hand-written readers (core/EncodingReaders.ts) against the Schemas they stand in for:
 * on every valid encoding they return what the Schema decodes, key order and all; on inputs
 * corrupted anywhere in their JSON tree they either say "not sure" (undefined, and the Schema
 * decides) or agree with the Schema, never accepting what the Schema rejects.
 */
import * as fc from "fast-check"
import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { rollupFrom, RollupS, StateDiffS } from "../core/Encoding.ts"
import { readRollupJson, readStateDiffJson } from "../core/EncodingReaders.ts"
import { writeRollup, writeStateDiff } from "../core/EncodingWriters.ts"
import { defaultPersistConfig } from "../core/PersistConfig.ts"
import { fromDiff } from "../core/StateDiff.ts"
import { schemaStateArb, schemaStateDiffArb, stateArb, statePairArb, stateWithRollupDiffsArb } from "./arbitraries.ts"

const RUNS = { numRuns: 200, seed: 913 }
const codecs = defaultPersistConfig.codecs
const schemaDiff = Schema.decodeUnknownEither(StateDiffS, { onExcessProperty: "error" })
const schemaRollup = Schema.decodeUnknownEither(RollupS, { onExcessProperty: "error" })

/** A decoded value as text that keeps key order, map entry order and byte contents. */
const canon = (x: unknown): string =>
  JSON.stringify(x, (_k, v: unknown) => (v instanceof Map ? { $map: [...v.entries()] } : v instanceof Uint8Array ? { $bytes: [...v] } : v))

const diffArb = fc.oneof(schemaStateDiffArb, statePairArb.map(([a, b]) => fromDiff(a, b)))
const rollupArb = fc.oneof(
  fc.oneof(schemaStateArb, stateArb()).map((state) => ({ state, codecs, diffs: null })),
  stateWithRollupDiffsArb.map(([state, diffs]) => rollupFrom({ state, codecs }, diffs))
)

// --- corruption of a JSON tree ----------------------------------------------------------------

type Path = ReadonlyArray<string | number>
const paths = (x: unknown, at: Path = [], out: Array<Path> = []): Array<Path> => {
  out.push(at)
  if (Array.isArray(x)) x.forEach((e, i) => paths(e, [...at, i], out))
  else if (typeof x === "object" && x !== null) for (const k of Object.keys(x)) paths((x as Record<string, unknown>)[k], [...at, k], out)
  return out
}
const replacements: ReadonlyArray<unknown> = [null, 0, -1, 1.5, 2 ** 60, "", "x", "v1/r0", true, [], [1], [1, 2], {}, { _tag: "Insert" }]
type Corruption =
  | { readonly kind: "replace"; readonly with: unknown }
  | { readonly kind: "delete" }
  | { readonly kind: "extraKey" }
  | { readonly kind: "duplicate" }
const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  fc.constantFrom(...replacements).map((w): Corruption => ({ kind: "replace", with: w })),
  fc.constant<Corruption>({ kind: "delete" }),
  fc.constant<Corruption>({ kind: "extraKey" }),
  fc.constant<Corruption>({ kind: "duplicate" })
)

/** `json` (freshly parsed, so mutable) with one corruption at `path`. */
const corrupt = (json: unknown, path: Path, c: Corruption): unknown => {
  if (path.length === 0) return c.kind === "replace" ? c.with : c.kind === "extraKey" && typeof json === "object" && json !== null ? { ...json, extra: 1 } : json
  let parent = json as Record<string | number, unknown>
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, unknown>
  const last = path[path.length - 1]!
  const here = parent[last]
  if (c.kind === "replace") parent[last] = c.with
  else if (c.kind === "delete") {
    if (Array.isArray(parent)) parent.splice(last as number, 1)
    else delete parent[last]
  } else if (c.kind === "extraKey") {
    if (typeof here === "object" && here !== null && !Array.isArray(here)) (here as Record<string, unknown>)["extra"] = 1
    else parent[last] = [here, here]
  } else if (Array.isArray(parent)) parent.push(here) // a duplicated element: a duplicate map key or pair
  else parent[last] = [here, here]
  return json
}

const agrees = <A>(read: (j: unknown) => A | undefined, schema: (j: unknown) => Either.Either<A, unknown>, json: unknown): boolean => {
  const fast = read(json)
  if (fast === undefined) return true
  const slow = schema(json)
  return Either.isRight(slow) && canon(fast) === canon(slow.right)
}

describe("EncodingReaders", () => {
  it("readStateDiffJson returns exactly the Schema's decode of every valid diff", () => {
    fc.assert(
      fc.property(diffArb, (d) => {
        const json = JSON.parse(JSON.stringify(writeStateDiff(d)))
        const slow = schemaDiff(json)
        expect(Either.isRight(slow)).toBe(true)
        const fast = readStateDiffJson(json)
        expect(fast).toBeDefined()
        expect(canon(fast)).toBe(canon(Either.getOrThrow(slow)))
      }),
      RUNS
    )
  })

  it("readRollupJson returns exactly the Schema's decode of every valid rollup", () => {
    fc.assert(
      fc.property(rollupArb, (r) => {
        const json = JSON.parse(JSON.stringify(writeRollup(r)))
        const slow = schemaRollup(json)
        expect(Either.isRight(slow)).toBe(true)
        const fast = readRollupJson(json)
        expect(fast).toBeDefined()
        expect(canon(fast)).toBe(canon(Either.getOrThrow(slow)))
      }),
      { ...RUNS, numRuns: 120 }
    )
  })

  it("readStateDiffJson never accepts a corrupted diff the Schema rejects, nor disagrees with it", () => {
    let rejected = 0
    fc.assert(
      fc.property(diffArb, fc.nat(), corruptionArb, (d, at, c) => {
        const json = JSON.parse(JSON.stringify(writeStateDiff(d)))
        const all = paths(json)
        const bad = corrupt(json, all[at % all.length]!, c)
        if (readStateDiffJson(bad) === undefined) rejected++
        return agrees(readStateDiffJson, schemaDiff, bad)
      }),
      { numRuns: 1000, seed: 914 }
    )
    // The corruptions mostly break the diff: a reader that accepted everything would fail above.
    expect(rejected).toBeGreaterThan(500)
  })

  it("readRollupJson never accepts a corrupted rollup the Schema rejects, nor disagrees with it", () => {
    let rejected = 0
    fc.assert(
      fc.property(rollupArb, fc.nat(), corruptionArb, (r, at, c) => {
        const json = JSON.parse(JSON.stringify(writeRollup(r)))
        const all = paths(json)
        const bad = corrupt(json, all[at % all.length]!, c)
        if (readRollupJson(bad) === undefined) rejected++
        return agrees(readRollupJson, schemaRollup, bad)
      }),
      { numRuns: 600, seed: 915 }
    )
    expect(rejected).toBeGreaterThan(300)
  })

  it("non-JSON-object inputs are 'not sure', never a throw", () => {
    for (const x of [null, 1, "s", [], {}, { applierVersion: 1 }]) {
      expect(readStateDiffJson(x)).toBeUndefined()
      expect(readRollupJson(x)).toBeUndefined()
    }
  })
})
