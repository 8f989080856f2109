import { describe, expect, it } from "vitest"
import { probeRun } from "../sim/trace/Probe.ts"
import { runSpec, toTraceFile } from "../sim/trace/Run.ts"
import { committedSeqno, shortIds, shortLog, storyLog } from "./Log.ts"
import * as V from "../sim/check/Violations.ts"
import { renderMarkdown, stateDiff } from "./Report.ts"

const bug = { gcTruncatesPastRollup: true }
const o = runSpec({ seed: 1, tape: null, steps: 120, bug: "gc-truncates-past-rollup", bugs: bug, keepEvents: true })
const trace = toTraceFile(o)
const probe = probeRun(trace.tape, trace.header.steps, bug)

describe("short log", () => {
  it("shortens ids consistently to their first 6 hex digits", () => {
    const id = "r710735c7-c1b7-4db0-9f97-b90a5d96c2d8"
    expect(shortIds(`s00000000-0000-4000-8000-000000000001/v13/${id} and ${id}`)).toBe("v13/r710735 and r710735")
  })
  it("prints one line per event and a state line after every commit", () => {
    const lines = shortLog(trace.events, probe.states, trace.violations)
    const commits = trace.events.filter((e) => committedSeqno(e) !== null).length
    expect(commits).toBeGreaterThan(0)
    expect(lines.filter((l) => l.includes("state v")).length).toBe(commits)
    expect(lines.filter((l) => /^\s*\d+ t=/.test(l)).length).toBe(trace.events.length)
    expect(lines.some((l) => l.includes("!! INV-7 NoRollupAtEarliest"))).toBe(true)
    expect(lines.join("\n")).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/)
  })
  it("marks a held request's late arrival with where it was held, and drops consensus.head's bare shard", () => {
    const e = (i: number, t: number, call: string, arg: string, fault: string, result: string) =>
      ({ step: i, t, p: "p2", task: "rollup", cmd: "add_rollup", cmdAttempt: 2, op: "", site: "", attempt: 1, call, arg, fault, result })
    const lines = shortLog([e(1, 400, "consensus.scan", "s…/v15+ALL", "stall 39031ms", "held"), e(2, 500, "consensus.head", "s…", "none", "v28"), e(3, 39_500, "consensus.scan", "s…/v15+ALL", "none", "[22..31]")], new Map(), [])
    expect(lines[2]).toMatch(/\[22\.\.31\]  \(held at event 0, t=0\.4s\)$/)
    expect(lines[1]).toContain("consensus.head   v28")
    expect(lines[0]).not.toContain("held at")
  })
  it("the probe run is the same run as the trace", () => {
    expect(probe.result.digest).toBe(trace.digest)
    expect(probe.draws.length).toBe(trace.tape.length)
  })
})

describe("Markdown report", () => {
  it("has the outcome, the violation with fields, the events, the state diff and the replay command", () => {
    const md = renderMarkdown({ traceFile: "x.jsonl", trace, probe, replay: "npm run sim -- --seed 1", explanation: null, shrink: null })
    for (const s of ["outcome: FAIL", "INV-7 NoRollupAtEarliest", "`earliest` =", "## Events leading to the first violation", "```diff", "## Faults injected", "## Coverage marks hit", "npm run sim -- --seed 1"]) expect(md).toContain(s)
  })
  it("diffs states line by line", () => {
    const s = [...probe.states.values()]
    const d = stateDiff(s[0], s[1])
    expect(d.some((l) => l.startsWith("- seqno"))).toBe(true)
    expect(d.some((l) => l.startsWith("+ seqno"))).toBe(true)
  })
})

describe("story log (a shrunk run's --log)", () => {
  const e = (i: number, p: string, task: string, cmd: string, call: string, arg: string, fault: string, result: string) =>
    ({ step: i, t: i * 100, p, task, cmd, cmdAttempt: 1, op: "", site: "", attempt: 1, call, arg, fault, result })
  const key = "v3/rab12cd"
  const events = [
    e(1, "p0", "cmd", "compare_and_append", "consensus.cas", "s…/v1→v2", "none", "Committed"),
    e(2, "p0", "cmd", "compare_and_append", "consensus.cas", "s…/v2→v3", "none", "Committed"),
    e(3, "p1", "rollup", "write_rollup_blob", "blob.set", key, "none", "ok"),
    e(4, "p1", "rollup", "add_rollup", "consensus.cas", "s…/v3→v4", "indeterminateApplied", "Indeterminate(applied: Committed)"),
    e(5, "p0", "cmd", "compare_and_append", "consensus.cas", "s…/v4→v5", "none", "Committed"),
    e(6, "p2", "gc-worker", "delete_and_truncate", "blob.delete", key, "none", "91B")
  ]
  const v = V.LiveRollupDeleted.make({ step: 6, t: 600, key: "s00000000-0000-4000-8000-000000000001/v3/rab12cd00-0000-4000-8000-000000000000", head: 5, by: { process: "p2", task: "gc-worker", cmd: "delete_and_truncate", op: "blob.delete" } })
  it("keeps the events naming the violated blob and the decisive ones, folds the rest into lines that say what they did", () => {
    const { lines, folded } = storyLog(events, new Map(), [v], new Set([3]))
    expect(folded).toBe(3)
    expect(lines[0]).toMatch(/^ {5}… 2 events of p0\/cmd folded \(compare_and_append ×2\)/)
    expect(lines.some((l) => l.includes("blob.set v3/rab12cd"))).toBe(true)
    expect(lines.some((l) => l.includes("Indeterminate(applied"))).toBe(true)
    expect(lines.some((l) => l.includes("… 1 event of p0/cmd folded"))).toBe(true)
    expect(lines.at(-1)).toMatch(/^ {2}!! INV-9 LiveRollupDeleted/)
  })
  it("without decisive events keeps every event of a lane that touched the blob", () => {
    const { lines, folded } = storyLog(events, new Map(), [v])
    expect(folded).toBe(3)
    expect(lines.some((l) => l.includes("add_rollup"))).toBe(true)
  })
})
