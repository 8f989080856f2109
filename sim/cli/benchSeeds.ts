/**
 * Seeds per second per core, the way a sweep runs them (`runSeedRecord`: checker on, events
 * kept, a trace written only for a failing seed), on seeds A..B of the default swarm, in this
 * process and on one core. Prints one JSON line; with `--digests FILE` also writes
 * `seed digest` lines, to prove a speed change preserved behaviour.
 *
 *   node sim/cli/launch.mjs sim/cli/benchSeeds.ts [--seeds 1..30] [--digests FILE]
 *
 * Deliberately small and self-contained, importing only `runSeedRecord` from its sibling
 * SweepCore.ts: benchCompare.mjs copies it into worktrees of older commits (whose SweepCore
 * has the same signature) so old and new are measured by the same code.
 */
import { writeFileSync } from "node:fs"
import { runSeedRecord } from "./SweepCore.ts"

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const range = /^(\d+)\.\.(\d+)$/.exec(arg("--seeds") ?? "1..30")
if (range === null) {
  console.error("benchSeeds: --seeds A..B")
  process.exit(2)
}
const [from, to] = [Number(range[1]), Number(range[2])]
const digestsFile = arg("--digests")
const out = arg("--out") ?? "reports/out/bench-seeds"
const STEPS = 2000

// Warm the JIT on seeds outside the range, as a long sweep is warm for almost all its seeds.
for (const s of [1_000_001, 1_000_002]) runSeedRecord(s, STEPS, null, out)

const lines: Array<string> = []
let steps = 0
let failing = 0
const t = process.cpuUsage()
for (let seed = from; seed <= to; seed++) {
  const r = runSeedRecord(seed, STEPS, null, out)
  steps += r.steps
  if (r.exitCode !== 0) failing++
  if (digestsFile !== undefined) lines.push(`${seed} ${r.digest}`)
}
const d = process.cpuUsage(t)
const cpuMs = (d.user + d.system) / 1000
if (digestsFile !== undefined) writeFileSync(digestsFile, lines.join("\n") + "\n")
const seeds = to - from + 1
console.log(JSON.stringify({ seeds, from, to, failing, steps, cpuMs: Math.round(cpuMs), seedsPerSecPerCore: Number(((seeds * 1000) / cpuMs).toFixed(3)) }))
