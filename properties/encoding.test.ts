import * as fc from "fast-check"
import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { deepEqual } from "../core/DeepEqual.ts"
import { decodeRollup, decodeStateDiff, encodeRollup, encodeStateDiff, rollupFrom, RollupS, StateDiffS, StateS } from "../core/Encoding.ts"
import { writeRollup, writeState, writeStateDiff } from "../core/EncodingWriters.ts"
import { defaultPersistConfig } from "../core/PersistConfig.ts"
import type { State } from "../core/State.ts"
import { fromDiff } from "../core/StateDiff.ts"
import { BUILD_VERSION, schemaStateArb, schemaStateDiffArb, stateArb, statePairArb, stateWithRollupDiffsArb } from "./arbitraries.ts"

const RUNS = { numRuns: 200, seed: 777 }
const codecs = defaultPersistConfig.codecs
const utf8 = new TextDecoder()

const stateRoundTrip = (s: State): boolean => {
  const json = JSON.stringify(Schema.encodeSync(StateS)(s))
  const back = Schema.decodeUnknownEither(StateS, { onExcessProperty: "error" })(JSON.parse(json))
  return Either.isRight(back) && deepEqual(back.right, s) && JSON.stringify(Schema.encodeSync(StateS)(back.right)) === json
}

describe("Encoding properties", () => {
  // The writers replace Schema.encodeSync for speed; byte equality keeps the Schemas the
  // definition of the format.
  it("EncodingWriters - writeState is byte-equal to Schema.encodeSync(StateS)", () => {
    fc.assert(
      fc.property(fc.oneof(schemaStateArb, stateArb()), (st) => {
        expect(JSON.stringify(writeState(st))).toBe(JSON.stringify(Schema.encodeSync(StateS)(st)))
      }),
      RUNS
    )
  })

  it("EncodingWriters - writeStateDiff is byte-equal to Schema.encodeSync(StateDiffS)", () => {
    fc.assert(
      fc.property(fc.oneof(schemaStateDiffArb, statePairArb.map(([a, b]) => fromDiff(a, b))), (d) => {
        expect(JSON.stringify(writeStateDiff(d))).toBe(JSON.stringify(Schema.encodeSync(StateDiffS)(d)))
      }),
      RUNS
    )
  })

  it("EncodingWriters - writeRollup is byte-equal to Schema.encodeSync(RollupS)", () => {
    fc.assert(
      fc.property(stateWithRollupDiffsArb, fc.boolean(), ([state, diffs], inline) => {
        const r = inline ? rollupFrom({ state, codecs }, diffs) : { state, codecs, diffs: null }
        expect(JSON.stringify(writeRollup(r))).toBe(JSON.stringify(Schema.encodeSync(RollupS)(r)))
      }),
      RUNS
    )
  })

  it("StateS - Schema-derived states round trip through JSON, canonically", () => {
    fc.assert(fc.property(schemaStateArb, stateRoundTrip), RUNS)
  })

  it("StateS - well-formed states round trip through JSON", () => {
    fc.assert(fc.property(stateArb(), stateRoundTrip), RUNS)
  })

  it("encodeRollup/decodeRollup - states without inlined diffs round trip", () => {
    fc.assert(
      fc.property(fc.oneof(schemaStateArb, stateArb()), (state) => {
        const r = { state, codecs, diffs: null }
        const back = decodeRollup(BUILD_VERSION, encodeRollup(r))
        return Either.isRight(back) && deepEqual(back.right, r)
      }),
      RUNS
    )
  })

  it("encodeRollup/decodeRollup - rollups with inlined diffs round trip", () => {
    fc.assert(
      fc.property(stateWithRollupDiffsArb, ([state, diffs]) => {
        const r = rollupFrom({ state, codecs }, diffs)
        const bytes = encodeRollup(r)
        const back = decodeRollup(BUILD_VERSION, bytes)
        return Either.isRight(back) && deepEqual(back.right, r) && utf8.decode(encodeRollup(back.right)) === utf8.decode(bytes)
      }),
      { numRuns: 150, seed: 778 }
    )
  })

  it("encodeStateDiff/decodeStateDiff - Schema-derived diffs round trip", () => {
    fc.assert(
      fc.property(schemaStateDiffArb, (d) => {
        const bytes = encodeStateDiff(d)
        const back = decodeStateDiff(BUILD_VERSION, bytes)
        return Either.isRight(back) && deepEqual(back.right, d) && utf8.decode(encodeStateDiff(back.right)) === utf8.decode(bytes)
      }),
      RUNS
    )
  })

  it("encodeStateDiff/decodeStateDiff - diffs between generated versions round trip", () => {
    fc.assert(
      fc.property(statePairArb, ([a, b]) => {
        const d = fromDiff(a, b)
        const back = decodeStateDiff(BUILD_VERSION, encodeStateDiff(d))
        return Either.isRight(back) && deepEqual(back.right, d)
      }),
      RUNS
    )
  })

  it("decodeStateDiff/decodeRollup - arbitrary bytes are a DecodeError, never a throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const d = decodeStateDiff(BUILD_VERSION, bytes)
        const r = decodeRollup(BUILD_VERSION, bytes)
        return Either.isLeft(d) && d.left._tag === "DecodeError" && Either.isLeft(r) && r.left._tag === "DecodeError"
      }),
      { numRuns: 300, seed: 5 }
    )
  })

  it("decodeStateDiff/decodeRollup - every strict prefix of a valid encoding is a DecodeError", () => {
    fc.assert(
      fc.property(statePairArb, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), ([a, b], cut) => {
        const diff = encodeStateDiff(fromDiff(a, b))
        const rollup = encodeRollup({ state: b, codecs, diffs: null })
        const d = decodeStateDiff(BUILD_VERSION, diff.slice(0, Math.floor(cut * diff.length)))
        const r = decodeRollup(BUILD_VERSION, rollup.slice(0, Math.floor(cut * rollup.length)))
        return Either.isLeft(d) && d.left._tag === "DecodeError" && Either.isLeft(r) && r.left._tag === "DecodeError"
      }),
      RUNS
    )
  })

  it("decodeStateDiff - one corrupted byte never throws; whatever still decodes is a valid diff", () => {
    fc.assert(
      fc.property(statePairArb, fc.nat(), fc.integer({ min: 0, max: 255 }), ([a, b], at, byte) => {
        const bytes = encodeStateDiff(fromDiff(a, b))
        const copy = bytes.slice()
        copy[at % bytes.length] = byte
        const back = decodeStateDiff(BUILD_VERSION, copy)
        if (Either.isLeft(back)) return back.left._tag === "DecodeError" || back.left._tag === "IncompatibleVersion"
        // The change landed somewhere harmless (inside a string, a digit): the result is a diff
        // that round trips like any other.
        const again = decodeStateDiff(BUILD_VERSION, encodeStateDiff(back.right))
        return Either.isRight(again) && deepEqual(again.right, back.right)
      }),
      RUNS
    )
  })
})
