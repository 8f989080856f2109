/**
 * The sweep summary page: a sweep writes `sweep-summary.json` into its --out folder (one record
 * per seed: verdict, findings, new kinds, marks, faults, trace); this renders it as one
 * self-contained HTML page — seeds run, failures with links to their reports, known findings by
 * id, coverage marks, and a fault histogram.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { Schema } from "effect"
import { COVERAGE_MARKS } from "../sim/trace/Summary.ts"

export const SWEEP_SUMMARY_FILE = "sweep-summary.json"

const SeedRow = Schema.Struct({
  seed: Schema.Number,
  verdict: Schema.Literal("pass", "known", "new"),
  steps: Schema.Number,
  violations: Schema.Array(Schema.String),
  newKinds: Schema.Array(Schema.String),
  findings: Schema.Array(Schema.String),
  marks: Schema.Array(Schema.String),
  faults: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Number })),
  trace: Schema.NullOr(Schema.String),
  shrunk: Schema.optional(Schema.NullOr(Schema.String))
})
export const SweepSummary = Schema.Struct({
  type: Schema.Literal("persist-sim sweep"),
  version: Schema.Literal(1),
  range: Schema.String,
  bug: Schema.NullOr(Schema.String),
  steps: Schema.Number,
  wallSeconds: Schema.Number,
  seeds: Schema.Array(SeedRow)
})
export type SweepSummary = typeof SweepSummary.Type

export class SweepPageError extends Error {
  override readonly name = "SweepPageError"
}

export const readSweepSummary = (dir: string): SweepSummary => {
  const file = join(dir, SWEEP_SUMMARY_FILE)
  if (!existsSync(file)) throw new SweepPageError(`${dir} has no ${SWEEP_SUMMARY_FILE} (is it a sweep's --out folder?)`)
  try {
    return Schema.decodeUnknownSync(SweepSummary)(JSON.parse(readFileSync(file, "utf8")))
  } catch (e) {
    throw new SweepPageError(`malformed ${file}: ${String(e instanceof Error ? e.message : e).split("\n").filter((l) => l.trim() !== "").slice(-1)[0]}`)
  }
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!)

export const renderSweepPage = (s: SweepSummary, reportOf: (trace: string) => string | null): string => {
  const failed = s.seeds.filter((r) => r.verdict !== "pass").sort((a, b) => (a.verdict === b.verdict ? a.seed - b.seed : a.verdict === "new" ? -1 : 1))
  const byFinding = new Map<string, Array<number>>()
  for (const r of s.seeds) for (const f of r.findings) byFinding.set(f, [...(byFinding.get(f) ?? []), r.seed])
  const faults = new Map<string, number>()
  for (const r of s.seeds) for (const [k, v] of Object.entries(r.faults ?? {})) faults.set(k, (faults.get(k) ?? 0) + v)
  const maxFault = Math.max(1, ...faults.values())
  const bar = (n: number, max: number) => `<span class="bar" style="width:${Math.round((200 * n) / max)}px"></span>`
  const rows = failed
    .map((r) => {
      const rep = r.trace !== null ? reportOf(r.trace) : null
      return `<tr class="${r.verdict}"><td>${r.seed}</td><td>${r.verdict === "new" ? `NEW ${esc(r.newKinds.join(", "))}` : `known ${esc(r.findings.join(", "))}`}</td><td>${esc(r.violations[0] ?? "")}</td><td>${r.trace !== null ? `<a href="${esc(basename(r.trace))}">trace</a>` : ""} ${rep !== null ? `<a href="${esc(basename(rep))}">report</a>` : ""} ${r.shrunk ? `<a href="${esc(basename(r.shrunk))}">shrunk</a>` : ""}</td></tr>`
    })
    .join("\n")
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>persist-sim sweep ${esc(s.range)}</title>
<style>body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
tr.new{background:#ffebee}tr.known{background:#fff8e1}.bar{display:inline-block;height:10px;background:#42a5f5;vertical-align:middle;margin-right:6px}code{font-size:12px}</style></head><body>
<h1>persist-sim sweep ${esc(s.range)}${s.bug !== null ? ` with planted bug ${esc(s.bug)}` : ""}</h1>
<p id="totals">${s.seeds.length} seeds run, ${s.steps} steps each, ${failed.length} failing (${failed.filter((r) => r.verdict === "new").length} new, ${failed.filter((r) => r.verdict === "known").length} known), ${s.wallSeconds.toFixed(1)} s wall.</p>
<h2>Failures</h2>${failed.length === 0 ? "<p>None.</p>" : `<table id="failures"><tr><th>seed</th><th>verdict</th><th>first violation</th><th>files</th></tr>${rows}</table>`}
<h2>Known findings</h2>${byFinding.size === 0 ? "<p>None.</p>" : `<table>${[...byFinding.entries()].map(([f, seeds]) => `<tr><td>${esc(f)}</td><td>${seeds.length} seed(s): ${seeds.slice(0, 30).join(", ")}${seeds.length > 30 ? ", …" : ""}</td></tr>`).join("")}</table>`}
<h2>Coverage marks</h2><table>${COVERAGE_MARKS.map((m) => {
    const n = s.seeds.filter((r) => r.marks.includes(m)).length
    return `<tr><td><code>${m}</code></td><td>${bar(n, Math.max(1, s.seeds.length))}${n} (${((100 * n) / Math.max(1, s.seeds.length)).toFixed(1)}%)${n === 0 ? " — never reached" : ""}</td></tr>`
  }).join("")}</table>
<h2>Faults injected</h2><table>${[...faults.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${bar(v, maxFault)}${v}</td></tr>`).join("") || "<tr><td>none recorded</td></tr>"}</table>
</body></html>
`
}

/** Renders `<dir>/sweep.html`; `report` writes a failing trace's report and returns its HTML path. */
export const writeSweepPage = (dir: string, report: (trace: string) => { readonly html: string }): string => {
  const s = readSweepSummary(dir)
  const page = join(dir, "sweep.html")
  writeFileSync(
    page,
    renderSweepPage(s, (trace) => {
      const t = existsSync(trace) ? trace : join(dir, basename(trace))
      if (!existsSync(t)) return null
      const html = t.replace(/\.jsonl$/, "") + ".report.html"
      return existsSync(html) ? html : report(t).html
    })
  )
  return page
}
