/**
 * A run's report as Markdown: what ran, how it failed, the events leading to the failure, the
 * state before and after the offending step, the decisions that matter (for a shrunk tape), and
 * how to reproduce it. The data comes from the trace file plus a probe run of its tape (states
 * are not in the trace); the CLI gathers both and calls `writeReports`.
 */
import { writeFileAtomic } from "../sim/trace/AtomicWrite.ts"
import { KNOWN_FINDINGS } from "../sim/check/Findings.ts"
import { renderViolation, type Violation, violationKind } from "../sim/check/Violations.ts"
import type { Explanation } from "../sim/trace/Explain.ts"
import type { ProbeResult, StateSummary } from "../sim/trace/Probe.ts"
import { COVERAGE_MARKS } from "../sim/trace/Summary.ts"
import type { TraceEvent, TraceFile } from "../sim/trace/Trace.ts"
import { renderHtml } from "./Html.ts"
import { committedSeqno, eventLine, shortIds, shortLog } from "./Log.ts"

export interface ShrinkInfo {
  readonly originalFile: string
  readonly originalEvents: number
  readonly attempts: number
  readonly stoppedBy: string
  readonly wallMs: number
}

export interface ReportInput {
  readonly traceFile: string
  readonly trace: TraceFile
  readonly probe: ProbeResult
  readonly replay: string
  readonly explanation: Explanation | null
  readonly shrink: ShrinkInfo | null
}

/** The violation a report is about: the first no finding explains, else the first. */
export const focusViolation = (input: Pick<ReportInput, "probe" | "trace">): Violation | undefined =>
  input.probe.result.unexplained[0] ?? input.trace.violations[0]

/** Index of the event at which `v` was found: the last event of its step. */
export const focusEventIndex = (events: ReadonlyArray<TraceEvent>, v: Violation | undefined): number => {
  if (v === undefined) return -1
  let idx = -1
  for (let i = 0; i < events.length; i++) if (events[i]!.step <= v.step) idx = i
  return idx
}

/** The head seqno after event `i`: the last commit at or before it. */
export const headAt = (events: ReadonlyArray<TraceEvent>, i: number): number | null => {
  for (let j = i; j >= 0; j--) {
    const q = committedSeqno(events[j]!)
    if (q !== null) return q
  }
  return null
}

const stateLines = (s: StateSummary): Array<string> => [
  `seqno ${s.seqno}`,
  `earliest live diff ${s.earliest}`,
  `seqno_since ${s.seqnoSince}`,
  `last_gc_req ${s.lastGcReq}`,
  `upper ${s.upper}, since ${s.since}, ${s.batches} batch(es)`,
  ...s.rollups.map(([q, k]) => `rollup v${q} ${shortIds(k)}`),
  ...s.readers.map((r) => `reader ${shortIds(r.id)} seqno ${r.seqno} since ${r.since}`),
  ...s.writers.map((w) => `writer ${shortIds(w.id)} upper ${w.upper}`)
]

/** A line diff of two states: unchanged lines with two spaces, removed `-`, added `+`. */
export const stateDiff = (before: StateSummary | undefined, after: StateSummary | undefined): Array<string> => {
  const a = before === undefined ? [] : stateLines(before)
  const b = after === undefined ? [] : stateLines(after)
  const inB = new Set(b)
  const inA = new Set(a)
  return [...a.map((l) => (inB.has(l) ? `  ${l}` : `- ${l}`)), ...b.filter((l) => !inA.has(l)).map((l) => `+ ${l}`)]
}

const fieldsOf = (v: Violation): Array<string> =>
  Object.entries(v)
    .filter(([k]) => k !== "_tag")
    .map(([k, x]) => `\`${k}\` = ${typeof x === "string" ? shortIds(x) : shortIds(JSON.stringify(x))}`)

/** The decisions that make the bug happen, one line each, in persist's terms. */
export const decisionLines = (events: ReadonlyArray<TraceEvent>, ex: Explanation): Array<string> =>
  ex.draws
    .filter((d) => d.matters)
    .map((d) => {
      const e = events[d.eventIndex]
      const decided =
        d.label === "deliver" || d.label === "fault" || d.label.startsWith("latency") || d.label.startsWith("crash")
          ? e !== undefined
            ? `→ event ${d.eventIndex}: ${eventLine(e).trim()}`
            : ""
          : d.eventIndex > 0
            ? `(after event ${d.eventIndex - 1}: ${eventLine(events[d.eventIndex - 1]!).trim()})`
            : "(configuration)"
      return `draw #${d.index} \`${d.label}\` = ${d.value} at step ${d.step} ${decided}`
    })

export const renderMarkdown = (input: ReportInput): string => {
  const { trace, probe } = input
  const h = trace.header
  const r = probe.result
  const cfg = h.config as { summary?: string; faultPlan?: unknown }
  const focus = focusViolation(input)
  const fi = focusEventIndex(trace.events, focus)
  const unexplained = new Set(r.unexplained.map(violationKind))
  const out: Array<string> = []
  out.push(`# persist-sim report: ${h.seed !== null ? `seed ${h.seed}` : `tape of ${trace.tape.length} draws`}${h.bug !== null ? ` with planted bug \`${h.bug}\`` : ""}`)
  out.push("")
  out.push(`- trace: \`${input.traceFile}\` (format ${h.format}, persist-sim ${h.packageVersion}, digest \`${trace.digest}\`)`)
  if (h.replayOf !== null) out.push(`- shrunk from: \`${h.replayOf}\``)
  out.push(`- config: ${cfg.summary ?? JSON.stringify(h.config)}`)
  out.push(`- fault plan: \`${JSON.stringify(cfg.faultPlan ?? null)}\``)
  out.push(`- steps budget ${h.steps}; ${trace.events.length} events; ${r.steps} delivered requests; ${(r.virtualTimeMs / 1000).toFixed(1)} s virtual`)
  const verdict = trace.violations.length === 0 ? "PASS: every invariant held" : r.unexplained.length > 0 ? `FAIL: ${r.unexplained.length} violation(s) no known finding explains` : `FAIL (known): explained by ${r.findings.join(", ")}`
  out.push(`- **outcome: ${verdict}** (exit ${trace.exitCode})`)
  out.push("")
  out.push(`Reproduce with:\n\n    ${input.replay}\n`)
  if (input.shrink !== null) {
    const s = input.shrink
    out.push(`## Shrinking\n\nFrom \`${s.originalFile}\` (${s.originalEvents} events) to ${trace.events.length} events in ${s.attempts} attempts, ${(s.wallMs / 1000).toFixed(1)} s; stopped by ${s.stoppedBy}${s.stoppedBy === "time" ? " (the wall-clock budget: a faster machine may shrink further)" : ""}.\n`)
  }
  out.push("## Violations\n")
  if (trace.violations.length === 0) out.push("None.\n")
  for (const v of trace.violations) {
    out.push(`### ${v === focus ? "▶ " : ""}${v.invariant} ${v._tag} at step ${v.step} (t=${Math.round(v.t)} ms)${unexplained.has(violationKind(v)) ? " — NEW" : " — known"}\n`)
    out.push(`${shortIds(renderViolation(v))}\n`)
    for (const f of fieldsOf(v)) out.push(`- ${f}`)
    out.push("")
  }
  if (r.findings.length > 0) {
    out.push("## Known findings\n")
    for (const id of r.findings) {
      const f = KNOWN_FINDINGS.find((k) => k.id === id)
      if (f !== undefined) out.push(`- **${f.id}**: ${f.title} (${f.spec}). ${f.explanation} Upstream: ${f.upstream}`)
    }
    out.push("")
  }
  if (input.explanation !== null) {
    const ex = input.explanation
    const matters = ex.draws.filter((d) => d.matters)
    out.push("## The decisions that make it happen\n")
    out.push(`Each draw of the tape was changed on its own (non-zero → 0, zero → its largest value) and the run re-checked: ${matters.length} of ${ex.draws.length} draws matter (the failure disappears without them); the other ${ex.draws.length - matters.length} do not${ex.untried > 0 ? `; ${ex.untried} were not tried (budget)` : ""}.\n`)
    out.push("```")
    for (const l of decisionLines(trace.events, ex)) out.push(l)
    out.push("```\n")
  }
  if (focus !== undefined && fi >= 0) {
    out.push(`## Events leading to the first violation (step ${focus.step})\n`)
    out.push("```")
    const from = Math.max(0, fi - 25)
    const lines = shortLog(trace.events.slice(from, fi + 1), probe.states, [])
    for (const l of lines) out.push(l.replace(/^\s*(\d+)/, (_m, n: string) => String(Number(n) + from).padStart(4)))
    out.push(`  !! ${focus.invariant} ${focus._tag}: ${shortIds(renderViolation(focus))}`)
    out.push("```\n")
    const e = trace.events[fi]!
    const q = committedSeqno(e)
    const after = headAt(trace.events, fi)
    const before = q !== null ? q - 1 : after
    out.push(`## State before and after the offending step\n`)
    out.push(`Offending event ${fi}: \`${eventLine(e).trim()}\`. ${q !== null ? `It committed v${q}; the diff is v${q - 1} → v${q}.` : `It committed nothing; the state at the time is v${after ?? "?"} (unchanged).`}\n`)
    out.push("```diff")
    for (const l of stateDiff(before === null ? undefined : probe.states.get(before), after === null ? undefined : probe.states.get(after))) out.push(l)
    out.push("```\n")
  }
  out.push("## Faults injected\n")
  const faults = Object.entries(r.faults).sort(([a], [b]) => (a < b ? -1 : 1))
  out.push(faults.map(([k, v]) => `- ${k}: ${v}`).join("\n") || "None.")
  const faulty = trace.events.filter((e) => e.fault !== "none" && e.fault !== "")
  if (faulty.length > 0) {
    out.push(`\n${faulty.length} faulty event(s)${faulty.length > 30 ? " (first 30)" : ""}:\n\n\`\`\``)
    for (const e of faulty.slice(0, 30)) out.push(eventLine(e))
    out.push("```")
  }
  out.push("\n## Coverage marks hit\n")
  const marks = new Map(r.marks)
  out.push(COVERAGE_MARKS.filter((m) => (marks.get(m) ?? 0) > 0).map((m) => `- ${m} ×${marks.get(m)}`).join("\n") || "None.")
  out.push("")
  return out.join("\n")
}

/** Writes `<base>.report.md` and `<base>.report.html` beside the trace; returns both paths. */
export const writeReports = (input: ReportInput): { readonly md: string; readonly html: string } => {
  const base = input.traceFile.replace(/\.jsonl$/, "")
  const md = `${base}.report.md`
  const html = `${base}.report.html`
  writeFileAtomic(md, renderMarkdown(input))
  writeFileAtomic(html, renderHtml(input))
  return { md, html }
}
