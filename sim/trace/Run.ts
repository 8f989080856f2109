/**
 * Running one world from a seed or a recorded tape, and turning the result into a trace file.
 * The planted bug, if any, arrives as switches (the front door resolves its name).
 */
import { readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import type { BugSwitchesShape } from "../../core/BugSwitches.ts"
import { Choices } from "../kernel/Choices.ts"
import { describeConfig } from "../world/SwarmConfig.ts"
import { type NemesisMode, nemesisRunOptions } from "../world/NemesisMode.ts"
import type { Backend } from "../world/Backend.ts"
import { type RunResult, runWorld, runWorldOn } from "../world/World.ts"
import { makeDirs, writeFileAtomic } from "./AtomicWrite.ts"
import { parseJsonLines, toJsonLines, type TraceEvent, type TraceFile, TRACE_FORMAT_VERSION, TraceParseError } from "./Trace.ts"

export const PACKAGE_VERSION = "0.2.0"
/** Delivered requests in a run's main phase unless `--steps` says otherwise. */
export const DEFAULT_STEPS = 2000
/** The largest trace file `readTrace` accepts: far above any real run's, far below a stray device. */
export const MAX_TRACE_BYTES = 256 * 1024 * 1024

export interface RunSpec {
  readonly seed: number | null
  readonly tape: ReadonlyArray<number> | null
  readonly steps: number
  /** The planted bug's name (for the header and the replay command) and its switches. */
  readonly bug: string | null
  readonly bugs: Partial<BugSwitchesShape>
  readonly keepEvents: boolean
  /** False: no liveness phase (a shrunk run; the trace header says so). */
  readonly liveness?: boolean
  /** The liveness phase's steps (a shrunk run cut at its violation; the trace header says so). */
  readonly livenessSteps?: number
  /** `--nemesis` (NemesisMode.ts); absent: the seed's own draw. */
  readonly nemesis?: NemesisMode
}

/**
 * How a run's phases end, as a trace header (or a RunSpec) records them: no liveness phase, or
 * one cut after `livenessSteps` steps; empty for a normal run. Every replay goes through this.
 */
export const phasesOf = (h: { readonly liveness?: boolean | undefined; readonly livenessSteps?: number | undefined }): { liveness?: false; livenessSteps?: number } => ({
  ...(h.liveness === false ? { liveness: false as const } : {}),
  ...(h.liveness !== false && h.livenessSteps !== undefined ? { livenessSteps: h.livenessSteps } : {})
})

const worldOptions = (spec: RunSpec) => ({
  steps: spec.steps,
  bugs: spec.bugs,
  keepEvents: spec.keepEvents,
  ...phasesOf(spec),
  ...nemesisRunOptions(spec.nemesis ?? null)
})

export interface Outcome {
  readonly spec: RunSpec
  readonly result: RunResult
  readonly exitCode: number
}

export const runSpec = (spec: RunSpec): Outcome => {
  const choices = spec.tape !== null ? Choices.recorded(spec.tape) : Choices.seeded(spec.seed ?? 0)
  const result = runWorld(choices, worldOptions(spec))
  // A world that threw is a harness failure (3), but still a result: a sweep goes on.
  const exitCode = result.violations.some((v) => v._tag === "HarnessError") ? 3 : result.violations.length > 0 ? 1 : 0
  return { spec, result, exitCode }
}

/** `runSpec` with every delivered request also executed on a real backend (World.runOn). */
export const runSpecOn = async (spec: RunSpec, backend: Backend): Promise<Outcome> => {
  const choices = spec.tape !== null ? Choices.recorded(spec.tape) : Choices.seeded(spec.seed ?? 0)
  const result = await runWorldOn(choices, worldOptions(spec), backend)
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
    ...phasesOf(o.spec),
    ...(o.spec.nemesis !== undefined ? { nemesis: o.spec.nemesis } : {}),
    config: { ...o.result.config, faultPlan: o.result.faultPlan, summary: describeConfig(o.result.config) }
  },
  events: o.result.events,
  tape: o.result.tape,
  violations: o.result.violations,
  digest: o.result.digest,
  exitCode: o.exitCode
})

/**
 * Writes `<dir>/<name>.jsonl` atomically (temporary file in the same folder, then rename), so
 * an interrupt never leaves a partial trace where the previous good one was. Returns the path.
 */
export const writeTrace = (dir: string, name: string, o: Outcome, replayOf: string | null = null): string => {
  makeDirs(dir)
  const file = join(dir, `${name}.jsonl`)
  writeFileAtomic(file, toJsonLines(toTraceFile(o, replayOf)))
  return file
}

export const replayCommand = (spec: Pick<RunSpec, "seed" | "tape" | "steps" | "bug" | "nemesis">, traceFile: string | null): string =>
  spec.seed !== null && spec.tape === null
    ? `npm run sim -- --seed ${spec.seed}${spec.steps !== DEFAULT_STEPS ? ` --steps ${spec.steps}` : ""}${spec.bug !== null ? ` --bug ${spec.bug}` : ""}${spec.nemesis !== undefined ? ` --nemesis ${spec.nemesis}` : ""}`
    : `npm run sim -- --replay ${traceFile ?? "<trace file>"}`

/** A trace file that cannot be read or is not a trace this version reads; one line. */
export class TraceReadError extends Error {
  override readonly name = "TraceReadError"
}

export const readTrace = (file: string): TraceFile => readTraceFile(file).trace

/** The parsed trace and its exact text (replay compares the text it would write with it). */
export const readTraceFile = (file: string): { readonly trace: TraceFile; readonly text: string } => {
  let text: string
  try {
    const st = statSync(file)
    if (!st.isFile()) throw new TraceReadError(`${file} is not a regular file`)
    if (st.size > MAX_TRACE_BYTES) throw new TraceReadError(`${file} is ${st.size} bytes, over the ${MAX_TRACE_BYTES}-byte limit for a trace`)
    text = readFileSync(file, "utf8")
  } catch (e) {
    if (e instanceof TraceReadError) throw e
    throw new TraceReadError(`cannot read trace file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`)
  }
  try {
    return { trace: parseJsonLines(text), text }
  } catch (e) {
    if (e instanceof TraceParseError) throw new TraceReadError(`malformed trace file ${file}: ${e.message}`)
    throw e
  }
}

/** The first event where two runs differ (index, field, both values), or null if none does. */
export const firstDivergence = (
  a: ReadonlyArray<TraceEvent>,
  b: ReadonlyArray<TraceEvent>,
  names: readonly [string, string] = ["recorded", "replayed"]
): string | null => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i]!
    const y = b[i]!
    for (const k of Object.keys(x) as Array<keyof TraceEvent>) {
      if (x[k] !== y[k]) return `event ${i} (step ${x.step}), field ${k}: ${names[0]} ${JSON.stringify(x[k])}, ${names[1]} ${JSON.stringify(y[k])}`
    }
  }
  return a.length === b.length ? null : `event ${n}: the ${names[0]} run has ${a.length} events, the ${names[1]} ${b.length}`
}
