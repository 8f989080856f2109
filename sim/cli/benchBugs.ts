/**
 * `npm run bench:bugs`: how fast random seeds find each planted bug. For every bug in the
 * catalogue, seeds 1, 2, … of the default swarm run with the bug's switch on until the first
 * seed whose violations include a kind (`violationKind`) the same seed without the bug does
 * not have. Prints a table (bug, seeds needed, wall time, the violation kind), then one JSON
 * line. Wall-clock timing lives here, outside the traps.
 *
 * `npm run bench:shrink` (this script with --shrink) also shrinks each bug's first failing seed
 * and each known finding's first pinned seed (2,000 steps, as the findings table pins them; those
 * seeds come from sweeps, they are not searched again here) exactly as `--shrink` does, writes
 * the minimal trace (`<out>/<name>.min.jsonl`), reads it back and replays it, and adds columns:
 * events of the original and of the shrunk run, shrink wall time, attempts, what stopped it, and
 * whether the replay failed with the same failure key (a structured violation kind) and digest.
 *
 *   --max N       give up on a bug after N seeds (default 1000)
 *   --steps N     main-phase steps per world (default 1000, as scenarios/Bugs.test.ts)
 *   --bug NAME    only this bug (repeatable)
 *   --shrink      shrink too (see above); then:
 *   --finding ID  only this known finding (repeatable; with --bug only, no finding runs)
 *   --budget S    wall-clock seconds per shrink (default 60, as the CLI's --shrink-budget)
 *   --attempts N  runs per shrink (default 2000, as the CLI's --shrink-attempts)
 *   --out DIR     where minimal traces go (default reports/out/bench-shrink)
 *   --assertions on|off   core's debug assertions in every seed (default: each seed's draw)
 *   --checker     count only the checker's own verdicts: a PANIC or a process's defect is core
 *                 checking itself (issue 14), so it does not count as caught
 */
import { join } from "node:path"
import { plantedBugs } from "../../scenarios/Bugs.ts"
import { KNOWN_FINDINGS } from "../check/Findings.ts"
import { isCheckerVerdict, violationKind } from "../check/Violations.ts"
import { Choices } from "../kernel/Choices.ts"
import { makeDirs, writeFileAtomic } from "../trace/AtomicWrite.ts"
import { DEFAULT_STEPS, phasesOf, readTrace, runSpec } from "../trace/Run.ts"
import { failureKey, shrinkWorld, type ShrinkProgress } from "../trace/Shrink.ts"
import { toJsonLines } from "../trace/Trace.ts"
import { runWorld } from "../world/World.ts"
import { bugSwitches } from "./Bugs.ts"
import { shrunkTraceFile } from "./Reports.ts"

const arg = (flag: string, fallback: number): number => {
  const i = process.argv.indexOf(flag)
  if (i < 0) return fallback
  const v = Number(process.argv[i + 1])
  if (!Number.isSafeInteger(v) || v < 1) {
    console.error(`bench:bugs: ${flag} expects a positive integer`)
    process.exit(2)
  }
  return v
}
const strings = (flag: string): Array<string> => process.argv.flatMap((a, i) => (process.argv[i - 1] === flag ? [a] : []))
const MAX = arg("--max", 1000)
const STEPS = arg("--steps", 1000)
const SHRINK = process.argv.includes("--shrink")
const BUDGET_S = arg("--budget", 60)
const ATTEMPTS = arg("--attempts", 2000)
const outIdx = process.argv.indexOf("--out")
const OUT = outIdx >= 0 && process.argv[outIdx + 1] !== undefined ? process.argv[outIdx + 1]! : "reports/out/bench-shrink"
const only = strings("--bug")
const assertionsArg = process.argv[process.argv.indexOf("--assertions") + 1]
const assertions: { debugAssertions?: boolean } = !process.argv.includes("--assertions") ? {} : assertionsArg === "on" ? { debugAssertions: true } : assertionsArg === "off" ? { debugAssertions: false } : (() => {
  console.error("bench:bugs: --assertions expects on or off")
  return process.exit(2)
})()
const checkerOnly = process.argv.includes("--checker")
for (const name of only) {
  if (!plantedBugs.some((b) => b.name === name)) {
    console.error(`bench:bugs: unknown bug ${JSON.stringify(name)}`)
    process.exit(2)
  }
}
const onlyFindings = strings("--finding")
for (const id of onlyFindings) {
  if (!KNOWN_FINDINGS.some((f) => f.id === id && f.seeds.length > 0)) {
    console.error(`bench:bugs: no known finding with pinned seeds called ${JSON.stringify(id)}`)
    process.exit(2)
  }
}
const hrMs = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e6

/** The clean run's violation kinds per seed, computed once and shared by every bug. */
const cleanKinds = new Map<number, Set<string>>()
const clean = (seed: number): Set<string> => {
  let k = cleanKinds.get(seed)
  if (k === undefined) {
    k = new Set(runWorld(Choices.seeded(seed), { steps: STEPS, keepEvents: false, ...assertions }).violations.map(violationKind))
    cleanKinds.set(seed, k)
  }
  return k
}

interface Shrunk {
  readonly key: string
  readonly originalEvents: number
  readonly events: number
  readonly steps: number
  readonly tape: number
  readonly wallMs: number
  readonly attempts: number
  readonly stoppedBy: string
  /** The minimal trace, read back from its file and replayed, fails with `key` and its digest. */
  readonly replays: boolean
  readonly file: string
}

interface Row {
  readonly bug: string
  readonly seed: number | null
  readonly seedsNeeded: number | null
  readonly wallMs: number
  readonly kind: string | null
  readonly shrunk?: Shrunk | null
}

/** Shrinks `steps` steps of `seed` (with `bug`, or none), writes and replays the minimal trace. */
const shrinkRow = (name: string, seed: number, steps: number, bug: string | null): Shrunk | null => {
  const bugs = bugSwitches(bug)
  const tape = runWorld(Choices.seeded(seed), { steps, bugs, keepEvents: false }).tape
  const tty = process.stderr.isTTY === true
  const progress = (p: ShrinkProgress) => {
    if (tty) process.stderr.write(`\r  ${name}: ${p.attempts} attempts, ${p.events} events, ${p.steps} steps, tape ${p.tapeLength} [${p.pass}]        `)
  }
  const start = process.hrtime.bigint()
  const r = shrinkWorld({ tape, steps }, bugs, bug !== null, { maxAttempts: ATTEMPTS, budgetMs: BUDGET_S * 1000, now: () => Number(process.hrtime.bigint()) / 1e6 }, progress)
  const wallMs = hrMs(start)
  if (tty) process.stderr.write("\n")
  if (r === null) return null
  const original = `seed-${seed}${bug !== null ? `-${bug}` : ""}`
  const { min, events } = shrunkTraceFile(r, join(OUT, `${original}.jsonl`), bug, bugs)
  makeDirs(OUT)
  const file = join(OUT, `${original}.min.jsonl`)
  writeFileAtomic(file, toJsonLines(min))
  // Through the file, as `--replay` would: the header's steps, liveness and bug, the tape.
  const back = readTrace(file)
  const o = runSpec({ seed: null, tape: back.tape, steps: back.header.steps, bug: back.header.bug, bugs: bugSwitches(back.header.bug), keepEvents: true, ...phasesOf(back.header) })
  const replays = failureKey(o.result, bug !== null)?.key === r.key && o.result.digest === back.digest && o.result.events.length === events
  return { key: r.key, originalEvents: r.original.events, events, steps: r.candidate.steps, tape: r.candidate.tape.length, wallMs, attempts: r.attempts, stoppedBy: r.stoppedBy, replays, file }
}

const rows: Array<Row> = []
const bugsToRun = plantedBugs.filter((b) => (only.length === 0 && onlyFindings.length === 0) || only.includes(b.name))
for (const bug of bugsToRun) {
  const start = process.hrtime.bigint()
  let found: Row | undefined
  for (let seed = 1; seed <= MAX && found === undefined; seed++) {
    const r = runWorld(Choices.seeded(seed), { steps: STEPS, bugs: { [bug.switch]: true }, keepEvents: false, ...assertions })
    if (r.violations.length === 0) continue
    const before = clean(seed)
    const fresh = r.violations.find((v) => !before.has(violationKind(v)) && (!checkerOnly || isCheckerVerdict(v)))
    if (fresh === undefined) continue
    found = { bug: bug.name, seed, seedsNeeded: seed, wallMs: hrMs(start), kind: violationKind(fresh) }
  }
  let row = found ?? { bug: bug.name, seed: null, seedsNeeded: null, wallMs: hrMs(start), kind: null }
  if (SHRINK && row.seed !== null) row = { ...row, shrunk: shrinkRow(bug.name, row.seed, STEPS, bug.name) }
  rows.push(row)
  console.error(`  ${row.bug}: ${row.seedsNeeded ?? `not caught in ${MAX}`}${row.shrunk ? `; ${row.shrunk.originalEvents} → ${row.shrunk.events} events in ${(row.shrunk.wallMs / 1000).toFixed(1)} s` : ""}`)
}
if (SHRINK && (only.length === 0 || onlyFindings.length > 0)) {
  for (const f of KNOWN_FINDINGS.filter((f) => f.seeds.length > 0 && (onlyFindings.length === 0 || onlyFindings.includes(f.id)))) {
    const seed = f.seeds[0]!
    const r = runWorld(Choices.seeded(seed), { steps: DEFAULT_STEPS, keepEvents: false })
    const row: Row = { bug: f.id, seed, seedsNeeded: null, wallMs: 0, kind: r.findings.includes(f.id) ? f.id : null, shrunk: shrinkRow(f.id, seed, DEFAULT_STEPS, null) }
    rows.push(row)
    console.error(`  ${f.id}: seed ${seed}${row.shrunk ? `; ${row.shrunk.originalEvents} → ${row.shrunk.events} events in ${(row.shrunk.wallMs / 1000).toFixed(1)} s` : ""}`)
  }
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const w = Math.max(...rows.map((r) => r.bug.length), 3)
if (!SHRINK) {
  console.log(`${"bug".padEnd(w)}  seeds  wall s  violation kind`)
  for (const r of rows) {
    console.log(`${r.bug.padEnd(w)}  ${String(r.seedsNeeded ?? "MISS").padStart(5)}  ${(r.wallMs / 1000).toFixed(1).padStart(6)}  ${r.kind ?? `not caught in ${MAX} seeds`}`)
  }
} else {
  // Markdown, to paste into a note as it is.
  console.log(`| bug / finding | seed | seeds to detect | detect s | shrunk failure key | events | shrunk events | shrink s | attempts | stopped by | replays |`)
  console.log(`|---|---|---|---|---|---|---|---|---|---|---|`)
  for (const r of rows) {
    const s = r.shrunk
    const seeds = r.seedsNeeded !== null ? String(r.seedsNeeded) : r.seed !== null && s !== undefined ? "pinned" : "MISS"
    const cells = s === undefined || s === null
      ? [r.bug, String(r.seed ?? "-"), seeds, (r.wallMs / 1000).toFixed(1), s === null ? "did not fail again" : "-", "-", "-", "-", "-", "-", "-"]
      : [r.bug, String(r.seed), seeds, r.seedsNeeded !== null ? (r.wallMs / 1000).toFixed(1) : "-", s.key, String(s.originalEvents), String(s.events), (s.wallMs / 1000).toFixed(1), String(s.attempts), s.stoppedBy, s.replays ? "yes" : "NO"]
    console.log(`| ${cells.join(" | ")} |`)
  }
}
const caught = rows.filter((r) => r.seedsNeeded !== null)
const medianWallMs = median(caught.map((r) => r.wallMs))
const mode = `assertions ${assertions.debugAssertions === undefined ? "per seed" : assertions.debugAssertions ? "on" : "off"}${checkerOnly ? "; checker verdicts only" : ""}`
console.log(`caught ${caught.length}/${bugsToRun.length}; median wall ${(medianWallMs / 1000).toFixed(1)} s; steps ${STEPS}; max seeds ${MAX}; ${mode}` + (SHRINK ? `; shrink budget ${BUDGET_S} s, ${ATTEMPTS} attempts` : ""))
console.log(JSON.stringify({ steps: STEPS, maxSeeds: MAX, debugAssertions: assertions.debugAssertions ?? "per seed", checkerOnly, caught: caught.length, bugs: bugsToRun.length, medianWallMs: Math.round(medianWallMs), ...(SHRINK ? { shrinkBudgetS: BUDGET_S, shrinkAttempts: ATTEMPTS } : {}), rows }))
