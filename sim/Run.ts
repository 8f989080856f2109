/**
 * Running one world from a seed or a recorded tape, and turning the result into a trace file.
 */
import { readFileSync } from "node:fs"
import { findBug } from "../scenarios/Bugs.ts"
import type { BugSwitchesShape } from "../core/BugSwitches.ts"
import { Choices } from "./Choices.ts"
import { describeConfig } from "./SwarmConfig.ts"
import { parseJsonLines, type TraceEvent, type TraceFile, TRACE_FORMAT_VERSION, TraceParseError } from "./Trace.ts"
import { DEFAULT_STEPS, UsageError } from "./Args.ts"
import { type RunResult, runWorld } from "./World.ts"

export const PACKAGE_VERSION = "0.1.0"

export interface RunSpec {
  readonly seed: number | null
  readonly tape: ReadonlyArray<number> | null
  readonly steps: number
  readonly bug: string | null
  readonly keepEvents: boolean
}

export interface Outcome {
  readonly spec: RunSpec
  readonly result: RunResult
  readonly exitCode: number
}

export const bugSwitches = (bug: string | null): Partial<BugSwitchesShape> => {
  if (bug === null) return {}
  const b = findBug(bug)
  if (b === undefined) throw new UsageError(`unknown bug ${JSON.stringify(bug)} (see --list-bugs)`)
  return { [b.switch]: true }
}

export const runSpec = (spec: RunSpec): Outcome => {
  const choices = spec.tape !== null ? Choices.recorded(spec.tape) : Choices.seeded(spec.seed ?? 0)
  const result = runWorld(choices, { steps: spec.steps, bugs: bugSwitches(spec.bug), keepEvents: spec.keepEvents })
  return { spec, result, exitCode: result.violations.length > 0 ? 1 : 0 }
}

export const toTraceFile = (o: Outcome, replayOf: string | null = null): TraceFile => ({
  header: {
    type: "header",
    format: TRACE_FORMAT_VERSION,
    packageVersion: PACKAGE_VERSION,
    seed: o.spec.seed,
    replayOf,
    steps: o.spec.steps,
    bug: o.spec.bug,
    scenario: null,
    config: { ...o.result.config, summary: describeConfig(o.result.config) }
  },
  events: o.result.events,
  tape: o.result.tape,
  violations: o.result.violations,
  digest: o.result.digest,
  exitCode: o.exitCode
})

export const replayCommand = (spec: RunSpec, traceFile: string | null): string =>
  spec.seed !== null && spec.tape === null
    ? `npm run sim -- --seed ${spec.seed}${spec.steps !== DEFAULT_STEPS ? ` --steps ${spec.steps}` : ""}${spec.bug !== null ? ` --bug ${spec.bug}` : ""}`
    : `npm run sim -- --replay ${traceFile ?? "<trace file>"}`

export const readTrace = (file: string): TraceFile => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (e) {
    throw new UsageError(`cannot read trace file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`)
  }
  try {
    return parseJsonLines(text)
  } catch (e) {
    if (e instanceof TraceParseError) throw new UsageError(`malformed trace file ${file}: ${e.message}`)
    throw e
  }
}

/** The first event where two runs differ, for a divergence report. */
export const firstDivergence = (a: ReadonlyArray<TraceEvent>, b: ReadonlyArray<TraceEvent>): string => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = JSON.stringify(a[i])
    const y = JSON.stringify(b[i])
    if (x !== y) return `event ${i}: recorded ${x} vs replayed ${y}`
  }
  return a.length === b.length ? "events identical (final facts differ)" : `event ${n}: one run has ${a.length} events, the other ${b.length}`
}
