/**
 * The test Stryker runs for every mutant (`npm run mutate`, see sim/cli/mutate.mjs): a sweep
 * of a fixed seed range, in this process, that stops at the first seed with a *new* verdict.
 *
 * Why not `npm run sim -- --seeds`: a sweep there exits 1 on a known finding too (RACE-P2,
 * CAA-LEASE and NEMESIS-LOSS are properties of the correct system, so a range with one would
 * fail on the unmutated code), and it runs every seed even after the first failure. Here a
 * mutant is killed only by something the findings table does not explain (a new violation or
 * a world that threw), and a killed mutant costs one failing seed instead of the whole range.
 * No traces are written: a mutant's failing seed is reproduced with
 * `__STRYKER_ACTIVE_MUTANT__=<id>` in the sandbox, or by applying the mutant by hand.
 *
 * usage: node sim/cli/launch.mjs sim/cli/mutateSweep.ts A..B [--steps N]
 * exit: 0 every seed passed or was known, 1 a seed was new (its first line on stderr), 2 bad usage.
 */
import { runSpec } from "../trace/Run.ts"
import { verdictOf, violationLine } from "../trace/Summary.ts"
import { DEFAULT_STEPS } from "./Args.ts"

const usage = (msg: string): never => {
  console.error(`mutateSweep: ${msg} (usage: mutateSweep A..B [--steps N])`)
  process.exit(2)
}

const argv = process.argv.slice(2)
const range = /^(\d+)\.\.(\d+)$/.exec(argv[0] ?? "")
if (range === null) usage(`expected a seed range A..B, got ${JSON.stringify(argv[0] ?? "")}`)
const from = Number(range![1])
const to = Number(range![2])
if (from > to) usage(`empty seed range ${argv[0]}`)
let steps = DEFAULT_STEPS
if (argv[1] !== undefined) {
  if (argv[1] !== "--steps" || !/^[1-9][0-9]*$/.test(argv[2] ?? "") || argv.length > 3) usage(`unexpected arguments ${argv.slice(1).join(" ")}`)
  steps = Number(argv[2])
}

let known = 0
for (let seed = from; seed <= to; seed++) {
  const o = runSpec({ seed, tape: null, steps, bug: null, bugs: {}, keepEvents: false })
  const verdict = verdictOf(o)
  if (verdict === "new") {
    const first = o.result.unexplained[0] ?? o.result.violations[0]
    console.error(`seed ${seed}: NEW ${first !== undefined ? violationLine(first) : "(no violation line)"}`)
    process.exit(1)
  }
  if (verdict === "known") known++
}
console.error(`seeds ${from}..${to}: no new violation (${known} known)`)
