/**
 * `npm run bench:bugs`: how fast random seeds find each planted bug. For every bug in the
 * catalogue, seeds 1, 2, … of the default swarm run with the bug's switch on until the first
 * seed whose violations include a kind (`violationKind`) the same seed without the bug does
 * not have. Prints a table (bug, seeds needed, wall time, the violation kind), then one JSON
 * line. Wall-clock timing lives here, outside the traps.
 *
 *   --max N      give up on a bug after N seeds (default 1000)
 *   --steps N    main-phase steps per world (default 1000, as scenarios/Bugs.test.ts)
 *   --bug NAME   only this bug (repeatable)
 *   --assertions on|off   core's debug assertions in every seed (default: each seed's draw)
 *   --checker    count only the checker's own verdicts: a PANIC or a process's defect is core
 *                checking itself (issue 14), so it does not count as caught
 */
import { plantedBugs } from "../../scenarios/Bugs.ts"
import { violationKind } from "../check/Violations.ts"
import { Choices } from "../kernel/Choices.ts"
import { runWorld } from "../world/World.ts"

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
const MAX = arg("--max", 1000)
const STEPS = arg("--steps", 1000)
const assertionsArg = process.argv[process.argv.indexOf("--assertions") + 1]
const assertions: { debugAssertions?: boolean } = !process.argv.includes("--assertions") ? {} : assertionsArg === "on" ? { debugAssertions: true } : assertionsArg === "off" ? { debugAssertions: false } : (() => {
  console.error("bench:bugs: --assertions expects on or off")
  return process.exit(2)
})()
const checkerOnly = process.argv.includes("--checker")
/** Kinds that are core checking itself, not the harness's verdict. */
const SELF_CHECKS = new Set(["Panic", "Defect", "HarnessError"])
const only = process.argv.flatMap((a, i) => (process.argv[i - 1] === "--bug" ? [a] : []))
for (const name of only) {
  if (!plantedBugs.some((b) => b.name === name)) {
    console.error(`bench:bugs: unknown bug ${JSON.stringify(name)}`)
    process.exit(2)
  }
}

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

interface Row {
  readonly bug: string
  readonly seed: number | null
  readonly seedsNeeded: number | null
  readonly wallMs: number
  readonly kind: string | null
}

const rows: Array<Row> = []
for (const bug of plantedBugs.filter((b) => only.length === 0 || only.includes(b.name))) {
  const start = process.hrtime.bigint()
  let found: Row | undefined
  for (let seed = 1; seed <= MAX && found === undefined; seed++) {
    const r = runWorld(Choices.seeded(seed), { steps: STEPS, bugs: { [bug.switch]: true }, keepEvents: false, ...assertions })
    if (r.violations.length === 0) continue
    const before = clean(seed)
    const fresh = r.violations.find((v) => !before.has(violationKind(v)) && !(checkerOnly && SELF_CHECKS.has(v._tag)))
    if (fresh === undefined) continue
    found = { bug: bug.name, seed, seedsNeeded: seed, wallMs: Number(process.hrtime.bigint() - start) / 1e6, kind: violationKind(fresh) }
  }
  const row = found ?? { bug: bug.name, seed: null, seedsNeeded: null, wallMs: Number(process.hrtime.bigint() - start) / 1e6, kind: null }
  rows.push(row)
  console.error(`  ${row.bug}: ${row.seedsNeeded ?? `not caught in ${MAX}`}`)
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const w = Math.max(...rows.map((r) => r.bug.length), 3)
console.log(`${"bug".padEnd(w)}  seeds  wall s  violation kind`)
for (const r of rows) {
  console.log(`${r.bug.padEnd(w)}  ${String(r.seedsNeeded ?? "MISS").padStart(5)}  ${(r.wallMs / 1000).toFixed(1).padStart(6)}  ${r.kind ?? `not caught in ${MAX} seeds`}`)
}
const caught = rows.filter((r) => r.seedsNeeded !== null)
const medianWallMs = median(caught.map((r) => r.wallMs))
const mode = `assertions ${assertions.debugAssertions === undefined ? "per seed" : assertions.debugAssertions ? "on" : "off"}${checkerOnly ? "; checker verdicts only" : ""}`
console.log(`caught ${caught.length}/${rows.length}; median wall ${(medianWallMs / 1000).toFixed(1)} s; steps ${STEPS}; max seeds ${MAX}; ${mode}`)
console.log(JSON.stringify({ steps: STEPS, maxSeeds: MAX, debugAssertions: assertions.debugAssertions ?? "per seed", checkerOnly, caught: caught.length, bugs: rows.length, medianWallMs: Math.round(medianWallMs), rows }))
