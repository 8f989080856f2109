/**
 * `npm run sim -- …`: the front door (DESIGN §6). The one file in sim/ allowed to reach
 * scenarios/ and reports/.
 */
import { HELP, parseArgs, UsageError, type CliArgs } from "./Args.ts"
import { DirError } from "../trace/AtomicWrite.ts"
import { firstDivergence, phasesOf, readTraceFile, replayCommand, runSpec, toTraceFile, TraceReadError, writeTrace, type Outcome } from "../trace/Run.ts"
import { bugSwitches } from "./Bugs.ts"
import { KNOWN_FINDINGS } from "../check/Findings.ts"
import { summary, toJson } from "../trace/Summary.ts"
import { toJsonLines, type TraceFile } from "../trace/Trace.ts"
import { plantedBugs } from "../../scenarios/Bugs.ts"
import { prepareOutDir } from "./OutDir.ts"
import { runSweep } from "./Sweep.ts"
import { runMerge } from "./Merge.ts"
import { listScenarios, runScenarios } from "./Scenarios.ts"
import { NondeterminismError } from "../kernel/Traps.ts"
import { afterFailure, printLog, reportCommand, shrinkTrace } from "./Reports.ts"
import { SweepPageError } from "../../reports/SweepPage.ts"
import { runReal } from "./RealRuns.ts"

const wallMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6

const runOne = (args: CliArgs, seed: number): number => {
  const start = process.hrtime.bigint()
  const o = runSpec({ seed, tape: null, steps: args.steps, bug: args.bug, bugs: bugSwitches(args.bug), keepEvents: true, ...(args.nemesis !== null ? { nemesis: args.nemesis } : {}) })
  const file = writeTrace(args.out, `seed-${seed}${args.bug !== null ? `-${args.bug}` : ""}`, o)
  if (args.json) console.log(JSON.stringify(toJson(o, file)))
  else console.log(summary(o, wallMs(start), file, replayCommand(o.spec, file)) + afterFailure(o, file))
  if (args.log) printLog(file, args.logAll)
  if (args.shrink && o.exitCode !== 0) shrinkTrace(args, file)
  return o.exitCode
}

/**
 * Why a replay does not reproduce its recording, or null when it does: the recorded seed must
 * have drawn the tape's first draws, every event must match field by field, and the digest too.
 */
const replayMismatch = (recorded: TraceFile, text: string, o: Outcome): string | null => {
  const seed = recorded.header.seed
  if (seed !== null) {
    // The tape is what replays; a header whose seed does not draw it was edited or mixed up.
    const seeded = runSpec({ ...o.spec, seed, tape: null, keepEvents: false })
    if (seeded.result.digest !== o.result.digest) return `the header's seed ${seed} does not draw this trace's tape (edited header?)`
  }
  const where = firstDivergence(recorded.events, o.result.events)
  if (where !== null) return `first difference at ${where}`
  if (o.result.digest !== recorded.digest) return `recorded digest ${recorded.digest}, replayed ${o.result.digest} (events identical: the final facts differ)`
  // Everything else (header config, violations, tape, exit code, even an added field or a
  // changed number format) must be exactly what this run writes: byte for byte, bar the
  // package version, which may differ between releases reading the same format.
  const expected = toJsonLines(toTraceFile(o, recorded.header.replayOf)).split("\n")
  // A shrunk trace's header also says how it was shrunk (config.shrunk), which a run cannot know.
  const header = JSON.parse(expected[0]!) as { config: object }
  const shrunk = (recorded.header.config as { shrunk?: unknown } | null)?.shrunk
  expected[0] = JSON.stringify({ ...header, packageVersion: recorded.header.packageVersion, config: shrunk === undefined ? header.config : { ...header.config, shrunk } })
  const actual = text.split("\n")
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    if (expected[i] !== actual[i]) return `line ${i + 1} of the file differs from what this run writes (edited trace?)`
  }
  return null
}

const replay = (args: CliArgs, file: string): number => {
  if (args.log) return printLog(file, args.logAll), 0
  if (args.shrink) return shrinkTrace(args, file)
  const { trace: recorded, text } = readTraceFile(file)
  if (recorded.header.bug !== null && !plantedBugs.some((b) => b.name === recorded.header.bug)) throw new TraceReadError(`${file}: unknown bug ${JSON.stringify(recorded.header.bug)} in its header (see --list-bugs)`)
  const start = process.hrtime.bigint()
  const o = runSpec({ seed: recorded.header.seed, tape: recorded.tape, steps: recorded.header.steps, bug: recorded.header.bug, bugs: bugSwitches(recorded.header.bug), keepEvents: true, ...phasesOf(recorded.header), ...(recorded.header.nemesis !== undefined ? { nemesis: recorded.header.nemesis } : {}) })
  const mismatch = replayMismatch(recorded, text, o)
  if (mismatch !== null) {
    const msg = `replay diverged: ${mismatch}`
    if (args.json) console.log(JSON.stringify({ ...toJson(o, file), diverged: true, message: msg }))
    else console.error(msg)
    return 3
  }
  if (args.json) console.log(JSON.stringify(toJson(o, file)))
  else console.log(summary(o, wallMs(start), file, replayCommand(o.spec, file)) + `\nreplay reproduced every event, digest ${o.result.digest} and exit code ${o.exitCode}`)
  return o.exitCode
}

const main = (argv: ReadonlyArray<string>): number | Promise<number> => {
  const args = parseArgs(argv)
  if (args.help) {
    console.log(HELP)
    return 0
  }
  if (args.listBugs) {
    for (const b of plantedBugs) console.log(`${b.name}\n    ${b.description}`)
    return 0
  }
  if (args.listFindings) {
    for (const f of KNOWN_FINDINGS) {
      console.log(`${f.id}: ${f.title}\n  spec: ${f.spec}\n  seeds: ${f.seeds.map((s) => `npm run sim -- --seed ${s}`).join(", ")}\n  what: ${f.explanation}\n  upstream: ${f.upstream}\n`)
    }
    return 0
  }
  if (args.listScenarios) {
    console.log(listScenarios())
    return 0
  }
  if (args.bug !== null && !plantedBugs.some((b) => b.name === args.bug)) throw new UsageError(`unknown bug ${JSON.stringify(args.bug)} (see --list-bugs)`)
  if (args.replay !== null) return replay(args, args.replay)
  if (args.merge !== null) return runMerge(args, args.merge)
  if (args.report !== null) return reportCommand(args.report)
  // Every input is checked before the first world runs.
  prepareOutDir(args.out)
  if (args.scenario !== null) return runScenarios(args.scenario, args.json)
  if (args.stores !== "memory" || args.blobDir !== null) return runReal(args)
  if (!args.sweep) return runOne(args, args.seeds!.from)
  return runSweep(args)
}

// A closed pipe (`| head`) is the reader's choice, not a harness failure.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0)
  throw e
})

const fail = (e: unknown): number => {
  if (e instanceof UsageError || e instanceof TraceReadError || e instanceof DirError || e instanceof SweepPageError) {
    console.error(`persist-sim: ${e.message}`)
    return 2
  }
  if (e instanceof NondeterminismError) {
    console.error(`persist-sim: harness failure: ${e.message}`)
    return 3
  }
  console.error(`persist-sim: harness failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  return 3
}

try {
  const code = main(process.argv.slice(2))
  if (typeof code === "number") process.exitCode = code
  else code.then((c) => (process.exitCode = c), (e: unknown) => (process.exitCode = fail(e)))
} catch (e) {
  process.exitCode = fail(e)
}

