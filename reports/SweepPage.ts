/**
 * The sweep summary page: renders a sweep's JSON summary (sim/trace/SweepSummary.ts — the same
 * file `--merge` reads) as one self-contained HTML page: seeds run, failures with links to their
 * trace, report and shrunk trace, known findings by id, coverage marks (those under 1 % flagged),
 * and a fault histogram. A folder holding several shards' summaries renders as their merge.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { writeFileAtomic } from "../sim/trace/AtomicWrite.ts"
import { basename, join } from "node:path"
import { Either } from "effect"
import { decodeSummary, mergeSummaries, type SweepSummary } from "../sim/trace/SweepSummary.ts"

export class SweepPageError extends Error {
  override readonly name = "SweepPageError"
}

/** The folder's summary: a merged one if present, else its shards' summaries merged, else the one. */
export const readSweepSummary = (dir: string): SweepSummary => {
  const names = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".summary.json")).sort() : []
  const merged = names.filter((f) => f.endsWith(".merged.summary.json"))
  const chosen = merged.length > 0 ? merged.slice(-1) : names
  if (chosen.length === 0) throw new SweepPageError(`${dir} has no *.summary.json (is it a sweep's --out folder?)`)
  const inputs = chosen.map((f) => {
    const file = join(dir, f)
    const decoded = decodeSummary(readFileSync(file, "utf8"))
    if (Either.isLeft(decoded)) throw new SweepPageError(`malformed ${file}: ${decoded.left}`)
    return { file, summary: decoded.right }
  })
  return inputs.length === 1 ? inputs[0]!.summary : mergeSummaries(inputs)
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!)

/** Where a trace written on this machine (or beside the summary) can be found, if anywhere. */
const locate = (dir: string, trace: string): string | null => (existsSync(trace) ? trace : existsSync(join(dir, basename(trace))) ? join(dir, basename(trace)) : null)

export const renderSweepPage = (s: SweepSummary, files: (trace: string) => { readonly report: string | null; readonly shrunk: string | null }): string => {
  const failed = [...s.failures].sort((a, b) => (a.verdict === b.verdict ? a.seed - b.seed : a.verdict === "new" ? -1 : 1))
  const seedsRun = s.totals.seeds
  const faults = Object.entries(s.faults).sort(([a], [b]) => (a < b ? -1 : 1))
  const maxFault = Math.max(1, ...faults.map(([, v]) => v))
  const bar = (n: number, max: number) => `<span class="bar" style="width:${Math.round((200 * n) / max)}px"></span>`
  const rows = failed
    .map((r) => {
      const f = r.trace !== null ? files(r.trace) : { report: null, shrunk: null }
      const links = [
        r.trace !== null ? `<a href="${esc(basename(r.trace))}">trace</a>` : "",
        f.report !== null ? `<a href="${esc(basename(f.report))}">report</a>` : "",
        f.shrunk !== null ? `<a href="${esc(basename(f.shrunk))}">shrunk</a>` : ""
      ].join(" ")
      const verdict = r.verdict === "new" ? `NEW ${esc(r.newKinds.join(", "))}` : `known ${esc(r.findings.join(", "))}`
      return `<tr class="${r.verdict}"><td>${r.seed}</td><td>${verdict}</td><td>${esc(r.firstViolation)}</td><td>${links}</td><td><code>${esc(r.replay)}</code></td></tr>`
    })
    .join("\n")
  const range = `${s.config.range.from}..${s.config.range.to}${s.config.shard !== null ? ` shard ${s.config.shard.k}/${s.config.shard.n}` : ""}`
  const coverage = Object.entries(s.coverage)
    .map(([m, n]) => {
      const pct = (100 * n) / Math.max(1, seedsRun)
      const flag = n === 0 ? " — never reached" : pct < 1 ? " — rare (under 1 %)" : ""
      return `<tr class="${n === 0 ? "never" : pct < 1 ? "rare" : ""}"><td><code>${esc(m)}</code></td><td>${bar(n, Math.max(1, seedsRun))}${n} (${pct.toFixed(1)}%)${flag}</td></tr>`
    })
    .join("")
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>persist-sim sweep ${esc(range)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
tr.new{background:#ffebee}tr.known{background:#fff8e1}tr.rare{background:#fff8e1}tr.never{background:#ffebee}.bar{display:inline-block;height:10px;background:#42a5f5;vertical-align:middle;margin-right:6px}code{font-size:12px}</style></head><body>
<h1>persist-sim sweep ${esc(range)}${s.config.bug !== null ? ` with planted bug ${esc(s.config.bug)}` : ""}</h1>
<p id="totals">${seedsRun} seeds run, ${s.config.steps} steps each, ${s.totals.failing} failing (${s.totals.new} new, ${s.totals.known} known), ${s.totals.requests} requests, ${s.wallSeconds.toFixed(1)} s wall, persist-sim ${esc(s.tool.version)}.</p>
${(s.problems ?? []).length > 0 ? `<h2>Problems with this sweep</h2><ul>${(s.problems ?? []).map((p) => `<li>${esc(p)}</li>`).join("")}</ul>` : ""}
<h2>Failures</h2>${failed.length === 0 ? "<p>None.</p>" : `<table id="failures"><tr><th>seed</th><th>verdict</th><th>first violation</th><th>files</th><th>reproduce with</th></tr>${rows}</table>`}
<h2>Known findings</h2>${s.findings.length === 0 ? "<p>None.</p>" : `<table>${s.findings.map((f) => `<tr><td>${esc(f.id)}</td><td>${f.seeds.length} seed(s): ${f.seeds.slice(0, 30).join(", ")}${f.seeds.length > 30 ? ", …" : ""}</td></tr>`).join("")}</table>`}
<h2>Coverage marks</h2><table>${coverage}</table>
<h2>Faults injected</h2><table>${faults.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${bar(v, maxFault)}${v}</td></tr>`).join("") || "<tr><td>none recorded</td></tr>"}</table>
</body></html>
`
}

/**
 * Renders `<dir>/sweep.html`; `report` writes a failing trace's report (at most `maxReports`
 * of them, new failures first) and returns its HTML path.
 */
export const writeSweepPage = (dir: string, report: (trace: string) => { readonly html: string }, maxReports = 50): string => {
  const s = readSweepSummary(dir)
  const page = join(dir, "sweep.html")
  let made = 0
  writeFileAtomic(
    page,
    renderSweepPage(s, (trace) => {
      const t = locate(dir, trace)
      if (t === null) return { report: null, shrunk: null }
      const min = t.replace(/\.jsonl$/, "") + ".min.jsonl"
      const html = t.replace(/\.jsonl$/, "") + ".report.html"
      const have = existsSync(html) ? html : made < maxReports ? (made++, report(t).html) : null
      return { report: have, shrunk: existsSync(min) ? min : null }
    })
  )
  return page
}
