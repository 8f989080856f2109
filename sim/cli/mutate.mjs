// `npm run mutate [-- --seeds A..B] [-- <stryker options>]`: mutation testing of core/ with the
// simulator as the test (stryker.config.mjs), then the score per module.
//
//   npm run mutate                                   core/Gc.ts and core/StateVersions.ts, seeds 1..200
//   npm run mutate -- --mutate core/Machine.ts       one module (a glob or a comma list works)
//   npm run mutate -- --seeds 1..40 --mutate core/State.ts,core/StateDiff.ts
//
// Reports: reports/out/mutation/mutation.json and index.html. Exit code: Stryker's.
// Score = detected (killed + timeout) / (mutants - ignored - compile errors); mutants marked
// equivalent in place (`// Stryker disable next-line <Mutator>: <reason>`) are "ignored".
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))))
const args = process.argv.slice(2)
const env = { ...process.env }
const i = args.indexOf("--seeds")
if (i >= 0) {
  const range = args[i + 1] ?? ""
  const m = /^(\d+)\.\.(\d+)$/.exec(range)
  if (m === null || Number(m[1]) > Number(m[2])) {
    console.error(`mutate: --seeds expects A..B with A <= B, got ${JSON.stringify(range)}`)
    process.exit(2)
  }
  env.MUTATE_SEEDS = range
  args.splice(i, 2)
}
const report = join(root, "reports", "out", "mutation", "mutation.json")
const start = process.hrtime.bigint()
const run = spawnSync(join(root, "node_modules", ".bin", "stryker"), ["run", ...args], { cwd: root, env, stdio: "inherit" })
const wall = Number(process.hrtime.bigint() - start) / 1e9
if (run.error !== undefined) {
  console.error(`mutate: could not start stryker (${run.error.message})`)
  process.exit(3)
}
if (existsSync(report)) {
  const { files } = JSON.parse(readFileSync(report, "utf8"))
  const rows = []
  const count = (ms, ...st) => ms.filter((m) => st.includes(m.status)).length
  let all = []
  for (const [file, { mutants }] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
    all = all.concat(mutants)
    rows.push([file, mutants])
  }
  rows.push(["all", all])
  console.log(`\nmutation score per module (seeds ${env.MUTATE_SEEDS ?? "1..200"}, ${wall.toFixed(0)} s wall)`)
  console.log("module                      mutants  ignored  killed  timeout  survived  nocov  errors   score")
  for (const [name, ms] of rows) {
    const ignored = count(ms, "Ignored")
    const detected = count(ms, "Killed", "Timeout")
    const errors = count(ms, "CompileError", "RuntimeError")
    const valid = ms.length - ignored - errors
    const score = valid === 0 ? "-" : `${((100 * detected) / valid).toFixed(1)}%`
    console.log(
      `${name.padEnd(27)} ${String(ms.length).padStart(7)} ${String(ignored).padStart(8)} ${String(count(ms, "Killed")).padStart(7)} ${String(count(ms, "Timeout")).padStart(8)} ${String(count(ms, "Survived")).padStart(9)} ${String(count(ms, "NoCoverage")).padStart(6)} ${String(errors).padStart(7)} ${score.padStart(7)}`
    )
  }
}
process.exit(run.status ?? 3)
