/**
 * The CLI side of shrinking, the short log and reports: gathers a trace and a probe run of its
 * tape, calls reports/ to render, sim/trace/Shrink.ts to minimise, and prints paths and the
 * replay command. Kept out of main.ts so that file's dispatch stays a few lines.
 */
import { readdirSync, statSync } from "node:fs"
import { writeFileAtomic } from "../trace/AtomicWrite.ts"
import { join } from "node:path"
import { decisionLines, writeReports, type ShrinkInfo } from "../../reports/Report.ts"
import { writeSweepPage } from "../../reports/SweepPage.ts"
import { shortLog, storyLog } from "../../reports/Log.ts"
import { explainTape, type Explanation } from "../trace/Explain.ts"
import { probeRun } from "../trace/Probe.ts"
import { phasesOf, readTrace, replayCommand, type Outcome, PACKAGE_VERSION } from "../trace/Run.ts"
import { shrinkWorld, worldOracle, failureKey, type ShrinkProgress } from "../trace/Shrink.ts"
import { toJsonLines, type TraceFile, TRACE_FORMAT_VERSION } from "../trace/Trace.ts"
import { describeConfig } from "../world/SwarmConfig.ts"
import { nemesisRunOptions } from "../world/NemesisMode.ts"
import type { CliArgs } from "./Args.ts"
import { bugSwitches } from "./Bugs.ts"

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6

/**
 * Writes the Markdown and HTML reports of a trace file; returns their paths and, when it was
 * explained, the decisions that make it fail (one line each, as the report has them).
 */
export const reportTrace = (
  file: string,
  shrink: ShrinkInfo | null = null,
  explainBudgetMs = 0
): { md: string; html: string; decisions: ReadonlyArray<string>; decisive: ReadonlyArray<number> } => {
  const trace = readTrace(file)
  const bugs = bugSwitches(trace.header.bug)
  const phases = phasesOf(trace.header)
  const probe = probeRun(trace.tape, trace.header.steps, bugs, phases, nemesisRunOptions(trace.header.nemesis ?? null))
  let explanation = null
  // Explaining re-runs the tape without the nemeses (Explain.ts knows none): not for a --nemesis trace.
  if (explainBudgetMs > 0 && trace.violations.length > 0 && trace.header.nemesis === undefined) {
    const k = failureKey(probe.result, trace.header.bug !== null)
    if (k !== null) {
      const oracle = worldOracle({ bugs, bugPlanted: trace.header.bug !== null, key: k.key })
      const c = { tape: trace.tape, steps: trace.header.steps, ...phases }
      explanation = explainTape(c, probe.draws, oracle, { maxAttempts: 300, budgetMs: explainBudgetMs, now: nowMs }, oracle(c))
    }
  }
  const replay = replayCommand({ seed: trace.header.replayOf === null ? trace.header.seed : null, tape: trace.header.replayOf === null ? null : trace.tape, steps: trace.header.steps, bug: trace.header.bug, ...(trace.header.nemesis !== undefined ? { nemesis: trace.header.nemesis } : {}) }, file)
  return {
    ...writeReports({ traceFile: file, trace, probe, replay, explanation, shrink }),
    decisions: explanation === null ? [] : decisionLines(trace.events, explanation),
    decisive: explanation === null ? [] : decisiveEvents(explanation)
  }
}

/**
 * The events decided by a fault draw (fault kind, latency, crash) that matters: the story's
 * turning points (`storyLog`). Not deliveries: changing one reorders everything after it, so
 * nearly every delivery "matters" and would fold nothing.
 */
const decisiveEvents = (ex: Explanation): Array<number> =>
  ex.draws.filter((d) => d.matters && (d.label === "fault" || d.label.startsWith("latency") || d.label.startsWith("crash"))).map((d) => d.eventIndex)

/**
 * What a shrunk trace's header records of its shrinking (`shrunkTraceFile`, `shrinkTrace`):
 * undefined for a trace that was not shrunk; `decisive`, the explained turning points, if any.
 */
const shrunkOf = (trace: TraceFile): { readonly decisive: ReadonlySet<number> | undefined } | undefined => {
  const cfg = trace.header.config
  if (typeof cfg !== "object" || cfg === null || !("shrunk" in cfg)) return undefined
  const d = (cfg as { shrunk?: { decisive?: unknown } }).shrunk?.decisive
  return { decisive: Array.isArray(d) && d.every((x) => typeof x === "number") ? new Set(d as Array<number>) : undefined }
}

/** A shrunk run's `--log` folds (tells the story) only above this many events. */
const STORY_FROM_EVENTS = 40

/**
 * `--log`: the short log of a trace file, on stdout. Of a shrunk trace (its header says how it
 * was shrunk), the story (reports/Log.ts `storyLog`) unless `all`.
 */
export const printLog = (file: string, all = false): void => {
  const trace = readTrace(file)
  const probe = probeRun(trace.tape, trace.header.steps, bugSwitches(trace.header.bug), phasesOf(trace.header), nemesisRunOptions(trace.header.nemesis ?? null))
  const shrunk = shrunkOf(trace)
  // A run this short reads whole: folding would only hide the few steps around the story.
  if (all || shrunk === undefined || trace.events.length <= STORY_FROM_EVENTS) {
    for (const l of shortLog(trace.events, probe.states, trace.violations)) console.log(l)
    return
  }
  const story = storyLog(trace.events, probe.states, trace.violations, shrunk.decisive)
  for (const l of story.lines) console.log(l)
  if (story.folded > 0) console.log(`(${story.folded} of ${trace.events.length} events folded; every event: --log-all)`)
}

/** `--report PATH`: a trace file, or a sweep's output folder (its summary page). */
export const reportCommand = (path: string): number => {
  let dir = false
  try {
    dir = statSync(path).isDirectory()
  } catch {
    // readTrace names the problem in one line.
  }
  if (dir) {
    const page = writeSweepPage(path, (trace) => reportTrace(trace))
    console.log(`sweep summary: ${page}`)
    return 0
  }
  const { md, html } = reportTrace(path)
  console.log(`report: ${md}\nreport: ${html}`)
  return 0
}

/**
 * The trace file of a shrink's minimal run (re-run in full), and its event count; its header
 * says it replays `file` and how it was shrunk.
 */
export const shrunkTraceFile = (
  r: NonNullable<ReturnType<typeof shrinkWorld>>,
  file: string,
  bug: string | null,
  bugs: ReturnType<typeof bugSwitches>
): { readonly min: TraceFile; readonly events: number } => {
  const probe = probeRun(r.candidate.tape, r.candidate.steps, bugs, phasesOf(r.candidate))
  const res = probe.result
  const min: TraceFile = {
    header: {
      type: "header",
      format: TRACE_FORMAT_VERSION,
      packageVersion: PACKAGE_VERSION,
      seed: null,
      replayOf: file,
      steps: r.candidate.steps,
      bug,
      scenario: null,
      ...phasesOf(r.candidate),
      config: { ...res.config, faultPlan: res.faultPlan, summary: describeConfig(res.config), shrunk: { key: r.key, attempts: r.attempts, stoppedBy: r.stoppedBy } }
    },
    events: res.events,
    // The draws the run consumed (zeros included): what a replay of it writes, so `--replay` reproduces the file byte for byte.
    tape: res.tape,
    violations: res.violations,
    digest: res.digest,
    exitCode: res.violations.length > 0 ? 1 : 0
  }
  return { min, events: res.events.length }
}

/**
 * `--shrink`: minimises a failing trace file's tape, writes `<name>.min.jsonl` beside it with
 * its reports, and prints the replay command. Returns the exit code of the minimal run.
 */
export const shrinkTrace = (args: Pick<CliArgs, "shrinkBudget" | "shrinkAttempts" | "json">, file: string): number => {
  const trace = readTrace(file)
  if (trace.violations.length === 0) {
    console.log(`shrink: ${file} passed; nothing to shrink`)
    return 0
  }
  if (trace.header.nemesis !== undefined) {
    // The shrinker re-runs tapes without the nemeses (Shrink.ts knows none): it would shrink another world.
    console.log(`shrink: ${file} ran with --nemesis ${trace.header.nemesis}; shrinking such traces is not supported yet`)
    return 2
  }
  const bugs = bugSwitches(trace.header.bug)
  const tty = process.stderr.isTTY === true && !args.json
  const start = nowMs()
  const progress = (p: ShrinkProgress) => {
    if (tty) process.stderr.write(`\rshrink: ${p.attempts} attempts, ${p.accepted} kept, tape ${p.tapeLength} draws (${p.nonZero} non-zero), ${p.steps} steps, ${p.events} events [${p.pass}]   `)
  }
  const r = shrinkWorld({ tape: trace.tape, steps: trace.header.steps, ...phasesOf(trace.header) }, bugs, trace.header.bug !== null, { maxAttempts: args.shrinkAttempts, budgetMs: args.shrinkBudget * 1000, now: nowMs }, progress)
  if (tty) process.stderr.write("\n")
  if (r === null) {
    console.log(`shrink: ${file} does not fail when re-run; nothing to shrink`)
    return 0
  }
  const wallMs = nowMs() - start
  const { min, events } = shrunkTraceFile(r, file, trace.header.bug, bugs)
  const out = file.replace(/(\.min)?\.jsonl$/, "") + ".min.jsonl"
  writeFileAtomic(out, toJsonLines(min))
  const info: ShrinkInfo = { originalFile: file, originalEvents: r.original.events, attempts: r.attempts, stoppedBy: r.stoppedBy, wallMs }
  // Explaining costs one run per draw: bounded by a share of the shrink budget.
  const { md, html, decisions, decisive } = reportTrace(out, info, Math.max(5_000, args.shrinkBudget * 500))
  // The explained turning points go into the header, for the story `--log` tells (storyLog).
  if (decisive.length > 0) {
    const cfg = min.header.config as { shrunk?: object }
    writeFileAtomic(out, toJsonLines({ ...min, header: { ...min.header, config: { ...cfg, shrunk: { ...cfg.shrunk, decisive } } } }))
  }
  const line = {
    shrunk: out,
    key: r.key,
    originalEvents: r.original.events,
    events,
    steps: r.candidate.steps,
    tape: r.candidate.tape.length,
    attempts: r.attempts,
    stoppedBy: r.stoppedBy,
    wallMs: Math.round(wallMs),
    reports: [md, html],
    decisions,
    replay: replayCommand({ seed: null, tape: r.candidate.tape, steps: r.candidate.steps, bug: trace.header.bug }, out)
  }
  if (args.json) console.log(JSON.stringify(line))
  else
    console.log(
      [
        `shrunk ${r.key.replace(/^(bug|new|known):/, "")}: ${r.original.events} → ${events} events, tape ${trace.tape.length} → ${r.candidate.tape.length} draws, ${r.candidate.steps} steps; ${r.attempts} attempts in ${(wallMs / 1000).toFixed(1)} s, stopped by ${r.stoppedBy}${r.stoppedBy === "time" ? " (--shrink-budget; result depends on machine speed)" : r.stoppedBy === "attempts" ? " (--shrink-attempts)" : " (no smaller failing tape found)"}`,
        ...(decisions.length > 0 ? [`  the decisions that make it happen (a draw changed on its own makes the failure disappear):`, ...decisions.slice(0, 12).map((d) => `    ${d}`), ...(decisions.length > 12 ? [`    … ${decisions.length - 12} more in the report`] : [])] : []),
        `  minimal trace ${out}`,
        `  report        ${md}`,
        `  report        ${html}`,
        `replay with: ${line.replay}`
      ].join("\n")
    )
  return 1
}

/** After a failing run: write its reports and say where. */
export const afterFailure = (o: Outcome, file: string): string => {
  if (o.exitCode === 0) return ""
  const { md, html } = reportTrace(file)
  return `\n  report      ${md}\n  report      ${html}`
}

/** Trace files in a folder, for the sweep page. */
export const tracesIn = (dir: string): Array<string> =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl"))
    .sort()
    .map((f) => join(dir, f))

/**
 * The end of a sweep, after its summary (`sweep-….summary.json`) is written: with --shrink,
 * shrink each new failure; then render the summary page (`sweep.html`) into --out and say where.
 */
export const afterSweep = (args: CliArgs, failures: ReadonlyArray<{ readonly verdict: string; readonly trace: string | null }>): void => {
  if (args.shrink) for (const r of failures) if (r.verdict === "new" && r.trace !== null) shrinkTrace(args, r.trace)
  // The summary (sim/trace/SweepSummary.ts) was written by the sweep; the page renders it.
  const page = writeSweepPage(args.out, (trace) => reportTrace(trace))
  if (!args.json) console.log(`sweep page: ${page}`)
}
