/**
 * Whole-world property helpers: run a world from a fast-check generated choice tape, and on
 * failure write the (shrunk) tape as a replayable trace file.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import fc from "fast-check"
import type { BugSwitchesShape } from "../core/BugSwitches.ts"
import { Choices } from "../sim/Choices.ts"
import { runWorld } from "../sim/World.ts"
import { replayCommand, toTraceFile } from "../sim/Run.ts"
import { toJsonLines } from "../sim/Trace.ts"

/** A choice tape: draws are reduced modulo their bound, and past the end every draw is 0. */
export const tapeArb = (maxLength: number): fc.Arbitrary<Array<number>> => fc.array(fc.nat({ max: 2 ** 32 - 1 }), { maxLength, size: "max" })

export const violationsOf = (tape: ReadonlyArray<number>, steps: number, bugs: Partial<BugSwitchesShape> = {}) =>
  runWorld(Choices.recorded(tape), { steps, bugs, keepEvents: false }).violations

/** Violations that are not a named known finding (see classifyKnownFinding in sim/World.ts). */
export const unknownViolationsOf = (tape: ReadonlyArray<number>, steps: number) => {
  const r = runWorld(Choices.recorded(tape), { steps, keepEvents: false })
  return r.knownFinding === null ? r.violations : []
}

/** Writes a replayable trace for `tape` and returns the command that replays it. */
export const writeReproduction = (name: string, tape: ReadonlyArray<number>, steps: number, bug: string | null, bugs: Partial<BugSwitchesShape> = {}): string => {
  const result = runWorld(Choices.recorded(tape), { steps, bugs, keepEvents: true })
  const dir = "reports/out"
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}.jsonl`)
  const spec = { seed: null, tape, steps, bug, keepEvents: true }
  writeFileSync(file, toJsonLines(toTraceFile({ spec, result, exitCode: result.violations.length > 0 ? 1 : 0 })))
  return replayCommand(spec, file)
}
