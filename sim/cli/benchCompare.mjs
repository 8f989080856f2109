// Seeds per second per core of several checkouts, side by side in one run (issue 13):
//
//   node sim/cli/benchCompare.mjs --seeds 1..30 --rounds 4 new=. old=/work/bench-old-1a47ab8 ...
//
// Each checkout needs its node_modules (npm ci). benchSeeds.ts (this commit's) is copied
// next to the checkout's SweepCore.ts when absent, so every commit is measured by the same
// code, and run through the checkout's own esbuild launcher, one process per measurement,
// under `nice -n 10`. The checkouts run in turn, round after round (A B C A B C ...), so load
// from other tenants of the machine falls on all of them alike; the table gives each one's
// median seeds/s per core (CPU time of its process, not wall time) and its ratio to the first.
import { execFileSync } from "node:child_process"
import { copyFileSync, existsSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(name)
  if (i < 0) return dflt
  const v = argv[i + 1]
  argv.splice(i, 2)
  return v
}
const seeds = opt("--seeds", "1..30")
const rounds = Number(opt("--rounds", "4"))
const trees = argv.map((a) => {
  const eq = a.indexOf("=")
  if (eq < 0) {
    console.error(`benchCompare: expected label=path, got ${a}`)
    process.exit(2)
  }
  return { label: a.slice(0, eq), root: resolve(a.slice(eq + 1)) }
})
if (trees.length === 0 || !/^\d+\.\.\d+$/.test(seeds) || !(rounds > 0)) {
  console.error("usage: node sim/cli/benchCompare.mjs [--seeds A..B] [--rounds N] label=path ...")
  process.exit(2)
}

/** The checkout's launcher and where its SweepCore.ts lives (sim/cli/ today, sim/ before the split). */
const layout = (root) => {
  for (const dir of ["sim/cli", "sim"]) {
    if (existsSync(join(root, dir, "launch.mjs")) && existsSync(join(root, dir, "SweepCore.ts"))) return { launcher: join(dir, "launch.mjs"), entry: join(dir, "benchSeeds.ts") }
  }
  throw new Error(`${root}: no launch.mjs beside a SweepCore.ts`)
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

const results = new Map(trees.map((t) => [t.label, []]))
for (const t of trees) {
  t.layout = layout(t.root)
  const target = join(t.root, t.layout.entry)
  if (resolve(target) !== resolve(join(here, "benchSeeds.ts")) && !existsSync(target)) copyFileSync(join(here, "benchSeeds.ts"), target)
}
for (let r = 0; r < rounds; r++) {
  for (const t of trees) {
    const out = execFileSync("nice", ["-n", "10", process.execPath, t.layout.launcher, t.layout.entry, "--seeds", seeds, "--out", join("/tmp", `bench-compare-${t.label}`)], {
      cwd: t.root,
      encoding: "utf8"
    })
    const line = JSON.parse(out.trim().split("\n").pop())
    results.get(t.label).push(line)
    console.log(JSON.stringify({ round: r + 1, label: t.label, ...line }))
  }
}
const first = median(results.get(trees[0].label).map((x) => x.seedsPerSecPerCore))
console.log(`\nseeds ${seeds}, ${rounds} rounds interleaved, CPU time per process, nice -n 10`)
console.log("checkout".padEnd(14) + "median seeds/s/core".padEnd(22) + "all runs".padEnd(36) + `ratio ${trees[0].label}/this`)
for (const t of trees) {
  const xs = results.get(t.label).map((x) => x.seedsPerSecPerCore)
  const m = median(xs)
  console.log(t.label.padEnd(14) + m.toFixed(3).padEnd(22) + xs.map((x) => x.toFixed(2)).join(" ").padEnd(36) + (first / m).toFixed(2))
}
