/**
 * Named scenarios (persist-spec §8): one directed world per tolerated race RACE-1..RACE-20 and
 * per probed race RACE-P1..P3. A scenario pins everything that makes its world: a seed (its
 * tape: every scheduling, fault and workload draw), the step budget, optionally a fixed
 * SwarmConfig, planted bugs or nemesis options. Running it must show its path was really taken
 * (each coverage mark it names counted at least once: core/Metrics.ts) and that the verdict is
 * the expected one: every invariant held, or the expected known finding / violation kind was
 * reported. A race no world can produce has an entry that says why and names the unit tests
 * that schedule it directly.
 */
import type { BugSwitchesShape } from "../core/BugSwitches.ts"
import { violationKind } from "../sim/check/Violations.ts"
import { Choices } from "../sim/kernel/Choices.ts"
import type { SwarmConfig } from "../sim/world/SwarmConfig.ts"
import { runWorld, type RunOptions, type RunResult } from "../sim/world/World.ts"

export type Expectation =
  /** No violation at all. */
  | { readonly _tag: "Clean" }
  /** Every violation is explained, and this known finding (sim/check/Findings.ts) is among them. */
  | { readonly _tag: "Finding"; readonly id: string }
  /** A violation of this kind (`violationKind`) is reported (a planted bug's scenario). */
  | { readonly _tag: "Violation"; readonly kind: string }

export interface DirectedScenario {
  readonly _tag: "Directed"
  readonly name: string
  readonly spec: string
  readonly description: string
  /** How the pinned world was found (search command and range). */
  readonly found: string
  readonly seed: number
  readonly steps: number
  readonly config?: SwarmConfig
  readonly bugs?: Partial<BugSwitchesShape>
  readonly extra?: Partial<RunOptions>
  /** Coverage marks (metrics counters) that must each be > 0; "leaks" means a leaked blob was counted. */
  readonly marks: ReadonlyArray<string>
  /** Marks that must stay 0 (a path the race must never take). */
  readonly absent?: ReadonlyArray<string>
  readonly expect: Expectation
  /** Unit tests in core/ that schedule the same race directly. */
  readonly unitTests?: ReadonlyArray<string>
}

export interface UnproducibleScenario {
  readonly _tag: "Unproducible"
  readonly name: string
  readonly spec: string
  readonly description: string
  /** Why no world of this simulator produces it. */
  readonly why: string
  readonly unitTests: ReadonlyArray<string>
}

export type Scenario = DirectedScenario | UnproducibleScenario

export interface ScenarioOutcome {
  readonly name: string
  readonly ok: boolean
  /** What did not hold, one line each (empty when ok). */
  readonly problems: ReadonlyArray<string>
  readonly marks: ReadonlyArray<readonly [string, number]>
  readonly result: RunResult | null
}

const markValue = (r: RunResult, mark: string): number =>
  mark === "leaks" ? r.leaks.rollups + r.leaks.parts : (r.marks.find(([k]) => k === mark)?.[1] ?? 0)

export const runScenario = (s: Scenario): ScenarioOutcome => {
  if (s._tag === "Unproducible") return { name: s.name, ok: true, problems: [], marks: [], result: null }
  const r = runWorld(Choices.seeded(s.seed), {
    steps: s.steps,
    keepEvents: false,
    ...(s.config !== undefined ? { config: s.config } : {}),
    ...(s.bugs !== undefined ? { bugs: s.bugs } : {}),
    ...s.extra
  })
  const problems: Array<string> = []
  const marks = s.marks.map((m) => [m, markValue(r, m)] as const)
  for (const [m, v] of marks) if (v === 0) problems.push(`path not taken: mark ${m} is 0`)
  for (const m of s.absent ?? []) if (markValue(r, m) > 0) problems.push(`forbidden path taken: mark ${m} is ${markValue(r, m)}`)
  const kinds = [...new Set(r.violations.map(violationKind))]
  switch (s.expect._tag) {
    case "Clean":
      if (r.violations.length > 0) problems.push(`expected every invariant to hold, got ${kinds.join(", ")}`)
      break
    case "Finding":
      if (!r.findings.includes(s.expect.id)) problems.push(`expected finding ${s.expect.id}, got ${r.findings.join(", ") || "none"}`)
      if (r.unexplained.length > 0) problems.push(`unexplained violations: ${[...new Set(r.unexplained.map(violationKind))].join(", ")}`)
      break
    case "Violation":
      if (!kinds.includes(s.expect.kind)) problems.push(`expected a ${s.expect.kind} violation, got ${kinds.join(", ") || "none"}`)
      break
  }
  return { name: s.name, ok: problems.length === 0, problems, marks, result: r }
}
