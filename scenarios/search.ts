/**
 * How the scenario seeds in Catalogue.ts were found: `npx tsx scenarios/search.ts A B [steps]`
 * runs seeds A..B of the default swarm and prints, for every mark the catalogue asks about, the
 * first seed whose run took that path with no violation. Not part of the test suite.
 */
import { Choices } from "../sim/kernel/Choices.ts"
import { runWorld } from "../sim/world/World.ts"

const [from, to, stepsArg] = process.argv.slice(2).map(Number)
const steps = stepsArg ?? 1000
const wanted = (process.env.MARKS ?? "").split(",").filter((m) => m !== "")
const first = new Map<string, number>()
for (let seed = from!; seed <= to!; seed++) {
  const r = runWorld(Choices.seeded(seed), { steps, keepEvents: false })
  if (r.violations.length > 0) continue
  const marks = new Map(r.marks)
  if (r.leaks.rollups + r.leaks.parts > 0) marks.set("leaks", 1)
  for (const [k, v] of marks) if (v > 0 && !first.has(k) && (wanted.length === 0 || wanted.includes(k))) {
    first.set(k, seed)
    console.log(`${k} ${seed}`)
  }
}
