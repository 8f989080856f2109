/**
 * `npm run sim -- …`: the front door (DESIGN §6). The one file in sim/ allowed to reach
 * scenarios/ and reports/.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { HELP, parseArgs, UsageError, type CliArgs } from "./Args.ts"
import { firstDivergence, readTrace, replayCommand, runSpec, toTraceFile, TraceReadError, type Outcome } from "../trace/Run.ts"
import { bugSwitches } from "./Bugs.ts"
import { KNOWN_FINDINGS } from "../check/Findings.ts"
import { summary, toJson } from "../trace/Summary.ts"
import { toJsonLines, type TraceFile } from "../trace/Trace.ts"
import { plantedBugs } from "../../scenarios/Bugs.ts"
import { runSweep } from "./Sweep.ts"
import { runMerge } from "./Merge.ts"
import { listScenarios, runScenarios } from "./Scenarios.ts"
import { NondeterminismError } from "../kernel/Traps.ts"
import { afterFailure, printLog, reportCommand, shrinkTrace } from "./Reports.ts"
import { SweepPageError } from "../../reports/SweepPage.ts"
import { runReal } from "./RealRuns.ts"

const wallMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6

const writeTrace = (dir: string, name: string, o: Outcome, replayOf: string | null = null): string => {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}.jsonl`)
  writeFileSync(file, toJsonLines(toTraceFile(o, replayOf)))
  return file
}

const runOne = (args: CliArgs, seed: number): number => {
  const start = process.hrtime.bigint()
  const o = runSpec({ seed, tape: null, steps: args.steps, bug: args.bug, bugs: bugSwitches(args.bug), keepEvents: true })
  const file = writeTrace(args.out, `seed-${seed}${args.bug !== null ? `-${args.bug}` : ""}`, o)
  if (args.json) console.log(JSON.stringify(toJson(o, file)))
  else console.log(summary(o, wallMs(start), file, replayCommand(o.spec, file)) + afterFailure(o, file))
  if (args.log) printLog(file)
  if (args.shrink && o.exitCode !== 0) shrinkTrace(args, file)
  return o.exitCode
}

/**
 * Why a replay does not reproduce its recording, or null when it does: the recorded seed must
 * have drawn the tape's first draws, every event must match field by field, and the digest too.
 */
const replayMismatch = (recorded: TraceFile, o: Outcome): string | null => {
  const seed = recorded.header.seed
  if (seed !== null) {
    // The tape is what replays; a header whose seed does not draw it was edited or mixed up.
    const seeded = runSpec({ ...o.spec, seed, tape: null, keepEvents: false })
    if (seeded.result.digest !== o.result.digest) return `the header's seed ${seed} does not draw this trace's tape (edited header?)`
  }
  const where = firstDivergence(recorded.events, o.result.events)
  if (where !== null) return `first difference at ${where}`
  if (o.result.digest !== recorded.digest) return `recorded digest ${recorded.digest}, replayed ${o.result.digest} (events identical: the final facts differ)`
  return null
}

const replay = (args: CliArgs, file: string): number => {
  if (args.log) return printLog(file), 0
  if (args.shrink) return shrinkTrace(args, file)
  const recorded = readTrace(file)
  const start = process.hrtime.bigint()
  const o = runSpec({ seed: recorded.header.seed, tape: recorded.tape, steps: recorded.header.steps, bug: recorded.header.bug, bugs: bugSwitches(recorded.header.bug), keepEvents: true, ...(recorded.header.liveness === false ? { liveness: false } : {}) })
  const mismatch = replayMismatch(recorded, o)
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
  if (args.scenario !== null) return runScenarios(args.scenario, args.json)
  if (args.stores !== "memory" || args.blobDir !== null) return runReal(args)
  const seeds = args.seeds!
  if (seeds.from === seeds.to && args.shard === null) return runOne(args, seeds.from)
  return runSweep(args)
}

// A closed pipe (`| head`) is the reader's choice, not a harness failure.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0)
  throw e
})

const fail = (e: unknown): void => {
  if (e instanceof UsageError || e instanceof TraceReadError || e instanceof SweepPageError) {
    console.error(`persist-sim: ${e.message}`)
    process.exitCode = 2
  } else if (e instanceof NondeterminismError) {
    console.error(`persist-sim: harness failure: ${e.message}`)
    process.exitCode = 3
  } else {
    console.error(`persist-sim: harness failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
    process.exitCode = 3
  }
}

try {
  const code = main(process.argv.slice(2))
  // Runs on real stores await their backend.
  if (typeof code === "number") process.exitCode = code
  else code.then((c) => (process.exitCode = c), fail)
} catch (e) {
  fail(e)
}
