/**
 * The import rule (DESIGN §2): core ← sim ← {properties, scenarios, reports}, one way. core/
 * imports only effect; sim's inner layers (kernel, world, check, trace) never reach the front
 * door (sim/cli), scenarios/ or reports/; the kernel knows nothing of the world above it.
 * Read from the source text, so a forbidden import fails here before anything runs.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { describe, expect, it } from "vitest"

const root = resolve(import.meta.dirname, "..")

const sources = (dir: string): Array<string> =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const rel = join(dir, name)
    if (statSync(join(root, rel)).isDirectory()) return sources(rel)
    return /\.(ts|mjs)$/.test(name) ? [rel] : []
  })

/** Every import specifier of a file (static, dynamic, re-exports, worker URLs). */
const importsOf = (file: string): Array<string> => {
  const text = readFileSync(join(root, file), "utf8")
  const specs: Array<string> = []
  const patterns = [
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s+["']([^"']+)["']/gm, // import … from / export … from
    /^\s*import\s+["']([^"']+)["']/gm, // side-effect import
    /\bimport\(\s*["']([^"']+)["']\s*\)/g, // dynamic import
    /\bnew URL\(\s*["']([^"']+)["']/g // worker entry points
  ]
  for (const re of patterns) for (const m of text.matchAll(re)) specs.push(m[1]!)
  return specs
}

/** The folder an import lands in, relative to the repo ("core", "sim/world", "effect" for a package). */
const target = (file: string, spec: string): string => {
  if (!spec.startsWith(".")) return spec.startsWith("node:") ? "node" : spec.split("/")[0]!.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!
  return dirname(relative(root, resolve(root, dirname(file), spec)))
}

/** What each folder may import (folders by prefix; packages by name). */
const allowed: ReadonlyArray<readonly [string, (to: string, file: string) => boolean]> = [
  ["core/testing", (to) => to === "core" || to === "core/testing" || to === "effect"],
  ["core", (to, file) => to === "core" || to === "effect" || (file.endsWith(".test.ts") && ["core/testing", "vitest", "@effect/vitest", "fast-check", "node"].includes(to))],
  ["sim/kernel", (to) => ["sim/kernel", "effect", "seedrandom", "node"].includes(to) || (to === "vitest" || to === "fast-check")],
  ["sim/check", (to) => to === "core" || to === "sim/check" || to === "sim/kernel" || ["effect", "node", "vitest", "core/testing"].includes(to)],
  ["sim/world", (to) => to === "core" || ["sim/world", "sim/check", "sim/kernel", "sim/trace", "effect", "node", "vitest"].includes(to)],
  ["sim/trace", (to) => to === "core" || ["sim/trace", "sim/world", "sim/check", "sim/kernel", "effect", "node", "vitest"].includes(to)],
  // Real backends: core's services over npm drivers; never the simulator.
  ["stores", (to) => to === "core" || to === "core/testing" || to === "stores" || !["sim", "properties", "scenarios", "reports"].some((l) => to === l || to.startsWith(l + "/"))],
  // The front door: the one layer that may reach scenarios/ and reports/.
  ["sim/cli", (to) => !["properties"].includes(to)]
]

describe("layering", () => {
  const files = [...sources("core"), ...sources("sim"), ...sources("stores")]
  it("finds the sources it checks", () => {
    expect(files.length).toBeGreaterThan(40)
  })
  for (const file of files) {
    it(`${file} - imports only what its layer may`, () => {
      const rule = allowed.find(([prefix]) => file === prefix || file.startsWith(prefix + "/"))
      expect(rule, `no layer rule covers ${file}`).toBeDefined()
      // A test may drive its module through a whole world (inner layers only, never the front door).
      const testMayUse = (to: string) => file.endsWith(".test.ts") && ["sim/kernel", "sim/check", "sim/world", "sim/trace"].includes(to)
      const bad = importsOf(file).filter((spec) => !rule![1](target(file, spec), file) && !testMayUse(target(file, spec)))
      expect(bad, `${file} imports outside its layer`).toEqual([])
    })
  }
})

describe("no import cycles", () => {
  it("core/ and sim/ import each other's modules without cycles (types included)", () => {
    const files = [...sources("core"), ...sources("sim")].filter((f) => !f.endsWith(".test.ts"))
    const graph = new Map<string, Array<string>>()
    for (const f of files) {
      const deps = importsOf(f)
        .filter((s) => s.startsWith("."))
        .map((s) => relative(root, resolve(root, dirname(f), s)))
        .filter((d) => files.includes(d))
      graph.set(f, deps)
    }
    const cycles: Array<string> = []
    const state = new Map<string, "visiting" | "done">()
    const visit = (f: string, path: Array<string>): void => {
      if (state.get(f) === "done") return
      if (state.get(f) === "visiting") return void cycles.push([...path.slice(path.indexOf(f)), f].join(" → "))
      state.set(f, "visiting")
      for (const d of graph.get(f) ?? []) visit(d, [...path, f])
      state.set(f, "done")
    }
    for (const f of [...graph.keys()].sort()) visit(f, [])
    expect(cycles).toEqual([])
  })
})
