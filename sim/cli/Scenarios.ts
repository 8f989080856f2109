/**
 * `--list-scenarios` and `--scenario NAME|all`: the front door to scenarios/Catalogue.ts.
 * A scenario passes when its marks were reached and its verdict is the expected one; exit 1
 * if any fails, 2 for an unknown name.
 */
import { scenarios, findScenario } from "../../scenarios/Catalogue.ts"
import { runScenario, type Scenario } from "../../scenarios/Scenario.ts"
import { UsageError } from "./Args.ts"

export const listScenarios = (): string =>
  scenarios
    .map((s) => `${s.name.padEnd(42)} ${s.spec.padEnd(8)} ${s.description}${s._tag === "Unproducible" ? ` [not produced: ${s.why}]` : ""}`)
    .join("\n")

export const runScenarios = (name: string, json: boolean): number => {
  let chosen: ReadonlyArray<Scenario>
  if (name === "all") chosen = scenarios
  else {
    const s = findScenario(name)
    if (s === undefined) throw new UsageError(`unknown scenario ${JSON.stringify(name)} (see --list-scenarios)`)
    chosen = [s]
  }
  let failed = 0
  const start = process.hrtime.bigint()
  for (const s of chosen) {
    const t = process.hrtime.bigint()
    const o = runScenario(s)
    const ms = Number(process.hrtime.bigint() - t) / 1e6
    if (!o.ok) failed++
    if (json) {
      console.log(JSON.stringify({ scenario: s.name, spec: s.spec, ok: o.ok, produced: s._tag === "Directed", problems: o.problems, marks: Object.fromEntries(o.marks), wallMs: Math.round(ms) }))
    } else if (s._tag === "Unproducible") {
      console.log(`SKIP ${s.name} (${s.spec}): not produced by any world: ${s.why} Unit tests: ${s.unitTests.join("; ")}`)
    } else {
      const marks = o.marks.map(([m, v]) => `${m}=${v}`).join(" ")
      console.log(`${o.ok ? "PASS" : "FAIL"} ${s.name} (${s.spec}) seed ${s.seed} steps ${s.steps}: ${marks} [${(ms / 1000).toFixed(1)} s]`)
      for (const p of o.problems) console.log(`     ${p}`)
    }
  }
  if (!json) console.log(`${chosen.length - failed}/${chosen.length} scenarios passed in ${(Number(process.hrtime.bigint() - start) / 1e9).toFixed(1)} s`)
  return failed > 0 ? 1 : 0
}
