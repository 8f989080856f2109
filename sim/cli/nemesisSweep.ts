/**
 * `node sim/cli/launch.mjs sim/cli/nemesisSweep.ts A B [--bug SWITCH]`: seeds A..B of the default
 * swarm with the deletion nemesis on (defaultNemesisOptions; a quarter of seeds draw it off).
 * Prints one line per seed with an unexplained violation, then totals and one JSON line.
 */
import type { BugSwitchesShape } from "../../core/BugSwitches.ts"
import { violationKind } from "../check/Violations.ts"
import { Choices } from "../kernel/Choices.ts"
import { defaultNemesisOptions } from "../world/Nemesis.ts"
import { World } from "../world/World.ts"

const [a, b] = process.argv.slice(2, 4).map(Number)
const bi = process.argv.indexOf("--bug")
const bugs: Partial<BugSwitchesShape> = bi < 0 ? {} : { [process.argv[bi + 1]! as keyof BugSwitchesShape]: true }
const steps = 1000
let on = 0, deletions = 0, wipes = 0, restored = 0, explained = 0, failing = 0
const start = process.hrtime.bigint()
for (let seed = a!; seed <= b!; seed++) {
  const w = new World(Choices.seeded(seed), { steps, keepEvents: false, nemesis: defaultNemesisOptions, bugs })
  const r = w.run()
  const n = w.nemesis!
  if (n.on) on++
  deletions += n.deletions
  wipes += n.wipes
  restored += n.restored
  if (r.findings.includes("NEMESIS-LOSS")) explained++
  if (r.unexplained.length > 0) {
    failing++
    console.log(`seed ${seed}: ${[...new Set(r.unexplained.map(violationKind))].join(", ")} (nemesis ${n.on ? `${n.deletions} deletes ${n.wipes} wipes` : "off"})`)
  }
}
console.log(JSON.stringify({ from: a, to: b, steps, bugs, nemesisOn: on, deletions, wipes, restored, seedsWithNemesisFindings: explained, seedsWithUnexplained: failing, wallS: Math.round(Number(process.hrtime.bigint() - start) / 1e9) }))
