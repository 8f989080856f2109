/**
 * Whole-world property helpers: run a world from a fast-check generated choice tape, and on
 * failure write the (shrunk) tape as a replayable trace file.
 */
import fc from "fast-check"
import type { BugSwitchesShape } from "../core/BugSwitches.ts"
import { Choices } from "../sim/kernel/Choices.ts"
import { runWorld } from "../sim/world/World.ts"
import { replayCommand, writeTrace } from "../sim/trace/Run.ts"

/** A choice tape: draws are reduced modulo their bound, and past the end every draw is 0. */
export const tapeArb = (maxLength: number): fc.Arbitrary<Array<number>> => fc.array(fc.nat({ max: 2 ** 32 - 1 }), { maxLength, size: "max" })

export const violationsOf = (tape: ReadonlyArray<number>, steps: number, bugs: Partial<BugSwitchesShape> = {}) =>
  runWorld(Choices.recorded(tape), { steps, bugs, keepEvents: false }).violations

/** Violations no known finding explains (see sim/check/Findings.ts). */
export const unknownViolationsOf = (tape: ReadonlyArray<number>, steps: number) => runWorld(Choices.recorded(tape), { steps, keepEvents: false }).unexplained

/** Writes a replayable trace for `tape` and returns the command that replays it. */
export const writeReproduction = (name: string, tape: ReadonlyArray<number>, steps: number, bug: string | null, bugs: Partial<BugSwitchesShape> = {}): string => {
  const result = runWorld(Choices.recorded(tape), { steps, bugs, keepEvents: true })
  const spec = { seed: null, tape, steps, bug, bugs, keepEvents: true }
  const file = writeTrace("reports/out", name, { spec, result, exitCode: result.violations.length > 0 ? 1 : 0 })
  return replayCommand(spec, file)
}
