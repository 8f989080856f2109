/**
 * The JSON summary of one sweep or shard, and how summaries merge. A sweep writes one summary
 * file into its `--out` folder; `--merge` reads several, checks they belong together and
 * combines them into one of the same shape (so merges compose: a merged summary merges again).
 *
 * The Schema is the contract: `--merge` decodes every input through it, and a report page
 * may import it. This module is plain data (no CLI, no process state) so both can.
 *
 * Invariants a merged summary keeps: `seeds` is the union of its inputs' seeds, coverage and
 * fault counts and totals are sums, `failures` is sorted by seed, `findings` by id. Counts
 * are only meaningful without overlap; an overlap is named in `problems`.
 */
import { Either, Schema } from "effect"
import { COVERAGE_MARKS, RARE_MARK_SHARE } from "./Summary.ts"

export const SUMMARY_FORMAT = 1

/** A run of seeds `from, from+step, …, to` (a shard's seeds are one such run). */
export const SeedRun = Schema.Struct({ from: Schema.Number, to: Schema.Number, step: Schema.Number })
export type SeedRun = typeof SeedRun.Type

export const SweepConfig = Schema.Struct({
  /** The declared range of the whole sweep (every shard carries the same). */
  range: Schema.Struct({ from: Schema.Number, to: Schema.Number }),
  /** This summary's slice, or null for a whole sweep or a merge. */
  shard: Schema.NullOr(Schema.Struct({ k: Schema.Number, n: Schema.Number })),
  steps: Schema.Number,
  bug: Schema.NullOr(Schema.String),
  /** `--nemesis` mode; absent in summaries written before the flag existed (read as none). */
  nemesis: Schema.optional(Schema.NullOr(Schema.String)),
  /** Worker threads; a merge sums its inputs' (the workers that ran it, on any machine). */
  jobs: Schema.Number
})
export type SweepConfig = typeof SweepConfig.Type

export const SweepFailure = Schema.Struct({
  seed: Schema.Number,
  verdict: Schema.Literal("known", "new"),
  /** `violationKind` of every violation, deduplicated, in order of first appearance. */
  kinds: Schema.Array(Schema.String),
  /** The kinds no known finding explains (empty when the verdict is `known`). */
  newKinds: Schema.Array(Schema.String),
  findings: Schema.Array(Schema.String),
  /** The first violation, one line, for people. */
  firstViolation: Schema.String,
  replay: Schema.String,
  /** The trace file as the shard wrote it (a path on the machine that ran it). */
  trace: Schema.NullOr(Schema.String)
})
export type SweepFailure = typeof SweepFailure.Type

export const SweepSummary = Schema.Struct({
  format: Schema.Literal(SUMMARY_FORMAT),
  tool: Schema.Struct({ name: Schema.Literal("persist-sim"), version: Schema.String }),
  config: SweepConfig,
  seeds: Schema.Array(SeedRun),
  failures: Schema.Array(SweepFailure),
  findings: Schema.Array(Schema.Struct({ id: Schema.String, seeds: Schema.Array(Schema.Number) })),
  /** Seeds that reached each coverage mark (every mark of COVERAGE_MARKS, zeros included). */
  coverage: Schema.Record({ key: Schema.String, value: Schema.Number }),
  /** Injected faults by kind, summed over seeds. */
  faults: Schema.Record({ key: Schema.String, value: Schema.Number }),
  totals: Schema.Struct({
    seeds: Schema.Number,
    failing: Schema.Number,
    new: Schema.Number,
    known: Schema.Number,
    requests: Schema.Number,
    virtualTimeMs: Schema.Number
  }),
  /** Wall time of the sweep; for a merge, the slowest input's (shards run side by side). */
  wallSeconds: Schema.Number,
  /** Set on merges: the inputs, and whatever makes the set incomplete or inconsistent. */
  mergedFrom: Schema.optional(Schema.Array(Schema.Struct({ file: Schema.String, shard: Schema.NullOr(Schema.String), seeds: Schema.Number }))),
  problems: Schema.optional(Schema.Array(Schema.String))
})
export type SweepSummary = typeof SweepSummary.Type

/** What the builder needs from one seed's run (a subset of SweepCore's SeedRecord). */
export interface SeedOutcome {
  readonly seed: number
  readonly steps: number
  readonly virtualTimeMs: number
  readonly verdict: "pass" | "known" | "new"
  readonly kinds: ReadonlyArray<string>
  readonly newKinds: ReadonlyArray<string>
  readonly findings: ReadonlyArray<string>
  readonly violations: ReadonlyArray<string>
  readonly marks: ReadonlyArray<string>
  readonly faults: Readonly<Record<string, number>>
  readonly trace: string | null
  readonly replay: string
}

/** Sorted distinct seeds as arithmetic runs, greedily (a shard's seeds are one run). */
export const compactSeeds = (sorted: ReadonlyArray<number>): Array<SeedRun> => {
  const out: Array<SeedRun> = []
  let i = 0
  while (i < sorted.length) {
    const from = sorted[i]!
    if (i + 1 === sorted.length) {
      out.push({ from, to: from, step: 1 })
      break
    }
    const step = sorted[i + 1]! - from
    let j = i + 1
    while (j + 1 < sorted.length && sorted[j + 1]! - sorted[j]! === step) j++
    out.push({ from, to: sorted[j]!, step })
    i = j + 1
  }
  return out
}

export const expandSeeds = (runs: ReadonlyArray<SeedRun>): Array<number> => {
  const out: Array<number> = []
  for (const r of runs) for (let s = r.from; s <= r.to; s += r.step) out.push(s)
  return out
}

const sumInto = (into: Record<string, number>, from: Readonly<Record<string, number>>): void => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v
}

const sortedRecord = (r: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

const findingsTable = (failures: ReadonlyArray<SweepFailure>): SweepSummary["findings"] => {
  const by = new Map<string, Array<number>>()
  for (const f of failures) for (const id of f.findings) by.set(id, [...(by.get(id) ?? []), f.seed])
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, seeds]) => ({ id, seeds: seeds.sort((a, b) => a - b) }))
}

const totalsOf = (seeds: number, failures: ReadonlyArray<SweepFailure>, requests: number, virtualTimeMs: number): SweepSummary["totals"] => ({
  seeds,
  failing: failures.length,
  new: failures.filter((f) => f.verdict === "new").length,
  known: failures.filter((f) => f.verdict === "known").length,
  requests,
  virtualTimeMs
})

/**
 * Folds seed outcomes one at a time (records arrive in any order from workers), keeping counts,
 * the failures and the seed numbers run — nothing per passing seed but its number.
 */
export class SummaryBuilder {
  private readonly seedsRun: Array<number> = []
  private readonly coverage: Record<string, number> = Object.fromEntries(COVERAGE_MARKS.map((m) => [m, 0]))
  private readonly faults: Record<string, number> = {}
  private requests = 0
  private virtualTimeMs = 0
  readonly failures: Array<SweepFailure> = []

  add(o: SeedOutcome): void {
    this.seedsRun.push(o.seed)
    for (const m of o.marks) this.coverage[m] = (this.coverage[m] ?? 0) + 1
    sumInto(this.faults, o.faults)
    this.requests += o.steps
    this.virtualTimeMs += Math.round(o.virtualTimeMs)
    if (o.verdict !== "pass") {
      this.failures.push({
        seed: o.seed,
        verdict: o.verdict,
        kinds: [...o.kinds],
        newKinds: [...o.newKinds],
        findings: [...o.findings],
        firstViolation: o.violations[0] ?? "",
        replay: o.replay,
        trace: o.trace
      })
    }
  }

  build(version: string, config: SweepConfig, wallSeconds: number): SweepSummary {
    const failures = [...this.failures].sort((a, b) => a.seed - b.seed)
    return {
      format: SUMMARY_FORMAT,
      tool: { name: "persist-sim", version },
      config,
      seeds: compactSeeds([...this.seedsRun].sort((a, b) => a - b)),
      failures,
      findings: findingsTable(failures),
      coverage: { ...this.coverage },
      faults: sortedRecord(this.faults),
      totals: totalsOf(this.seedsRun.length, failures, this.requests, this.virtualTimeMs),
      wallSeconds
    }
  }
}

export const buildSummary = (version: string, config: SweepConfig, outcomes: ReadonlyArray<SeedOutcome>, wallSeconds: number): SweepSummary => {
  const b = new SummaryBuilder()
  for (const o of outcomes) b.add(o)
  return b.build(version, config, wallSeconds)
}

/** The file a sweep writes its summary to, inside its `--out` folder. */
export const summaryFileName = (config: SweepConfig): string =>
  `sweep-${config.range.from}..${config.range.to}${config.shard !== null ? `-shard-${config.shard.k}-of-${config.shard.n}` : ""}${config.bug !== null ? `-${config.bug}` : ""}${config.nemesis != null ? `-nemesis-${config.nemesis}` : ""}.summary.json`

export const mergedFileName = (config: SweepConfig): string =>
  `sweep-${config.range.from}..${config.range.to}${config.bug !== null ? `-${config.bug}` : ""}${config.nemesis != null ? `-nemesis-${config.nemesis}` : ""}.merged.summary.json`

/** Decodes one summary file's JSON text; Left carries a one-line reason. */
export const decodeSummary = (text: string): Either.Either<SweepSummary, string> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Either.left(`not JSON (${e instanceof Error ? e.message : String(e)})`)
  }
  return Schema.decodeUnknownEither(SweepSummary)(json).pipe(
    Either.mapLeft((e) => `not a sweep summary: ${e.message.split("\n").map((l) => l.trim()).filter((l) => l !== "").slice(-2).join(" ")}`)
  )
}

// A stepped run of two seeds reads as the two seeds ("14, 430", not "14..430 step 416").
export const rangeText = (runs: ReadonlyArray<SeedRun>): string =>
  runs
    .map((r) =>
      r.from === r.to ? `${r.from}` : r.step === 1 ? `${r.from}..${r.to}` : r.from + r.step === r.to ? `${r.from}, ${r.to}` : `${r.from}..${r.to} step ${r.step}`
    )
    .join(", ")

const shardText = (s: SweepConfig["shard"]): string | null => (s === null ? null : `${s.k}/${s.n}`)

/**
 * Combines summaries. Problems that make the set incomplete or inconsistent — seeds of the
 * declared range that no input ran, seeds run by more than one input (a duplicated shard, or
 * overlapping slices), mixed tool versions, mixed ranges, steps, bugs or nemesis modes — are named in
 * `problems`; the merge is still built, so a person sees what there is.
 */
export const mergeSummaries = (inputs: ReadonlyArray<{ readonly file: string; readonly summary: SweepSummary }>): SweepSummary => {
  const first = inputs[0]!.summary
  const problems: Array<string> = []
  const distinct = <A>(label: string, of: (s: SweepSummary) => A, show: (a: A) => string) => {
    const seen = new Map<string, Array<string>>()
    for (const { file, summary } of inputs) {
      const k = show(of(summary))
      seen.set(k, [...(seen.get(k) ?? []), file])
    }
    if (seen.size > 1) problems.push(`mixed ${label}: ${[...seen.entries()].map(([k, files]) => `${k} (${files.join(", ")})`).join("; ")}`)
  }
  distinct("tool versions", (s) => s.tool.version, (v) => v)
  distinct("seed ranges", (s) => s.config.range, (r) => `${r.from}..${r.to}`)
  distinct("steps", (s) => s.config.steps, String)
  distinct("bugs", (s) => s.config.bug, (b) => b ?? "none")
  distinct("nemesis modes", (s) => s.config.nemesis ?? null, (m) => m ?? "off")

  // Seeds: who ran what, and which seeds of the declared range nobody ran.
  const ranBy = new Map<number, Array<string>>()
  for (const { file, summary } of inputs) for (const s of expandSeeds(summary.seeds)) ranBy.set(s, [...(ranBy.get(s) ?? []), file])
  const twice = [...ranBy.entries()].filter(([, files]) => files.length > 1)
  if (twice.length > 0) {
    const pairs = new Map<string, Array<number>>()
    for (const [s, files] of twice) pairs.set(files.join(" and "), [...(pairs.get(files.join(" and ")) ?? []), s])
    for (const [files, seeds] of pairs) {
      const sorted = seeds.sort((a, b) => a - b)
      problems.push(`overlap: ${sorted.length} seed(s) run by ${files} (${rangeText(compactSeeds(sorted))}); their counts are summed twice`)
    }
  }
  const shards = inputs.map((i) => i.summary.config.shard)
  const ns = new Set(shards.map((s) => s?.n ?? 0))
  if (ns.size === 1 && shards.every((s) => s !== null)) {
    const n = shards[0]!.n
    const have = new Set(shards.map((s) => s!.k))
    const absent = Array.from({ length: n }, (_, i) => i + 1).filter((k) => !have.has(k))
    if (absent.length > 0) problems.push(`missing shard(s) ${absent.map((k) => `${k}/${n}`).join(", ")}`)
  }
  const { from, to } = first.config.range
  const missing: Array<number> = []
  for (let s = from; s <= to; s++) if (!ranBy.has(s)) missing.push(s)
  if (missing.length > 0) problems.push(`missing seeds: ${missing.length} of ${from}..${to} were not run (${rangeText(compactSeeds(missing))})`)

  const coverage: Record<string, number> = {}
  const faults: Record<string, number> = {}
  let requests = 0
  let virtualTimeMs = 0
  let seedCount = 0
  for (const { summary } of inputs) {
    sumInto(coverage, summary.coverage)
    sumInto(faults, summary.faults)
    requests += summary.totals.requests
    virtualTimeMs += summary.totals.virtualTimeMs
    seedCount += summary.totals.seeds
  }
  const failures = inputs.flatMap((i) => i.summary.failures).sort((a, b) => a.seed - b.seed)
  return {
    format: SUMMARY_FORMAT,
    tool: first.tool,
    config: { range: first.config.range, shard: null, steps: first.config.steps, bug: first.config.bug, nemesis: first.config.nemesis ?? null, jobs: inputs.reduce((n, i) => n + i.summary.config.jobs, 0) },
    seeds: compactSeeds([...ranBy.keys()].sort((a, b) => a - b)),
    failures,
    findings: findingsTable(failures),
    coverage: Object.fromEntries(COVERAGE_MARKS.map((m) => [m, coverage[m] ?? 0])),
    faults: sortedRecord(faults),
    totals: totalsOf(seedCount, failures, requests, virtualTimeMs),
    wallSeconds: Math.max(...inputs.map((i) => i.summary.wallSeconds)),
    mergedFrom: inputs.map((i) => ({ file: i.file, shard: shardText(i.summary.config.shard), seeds: i.summary.totals.seeds })),
    problems
  }
}

/** The text a sweep prints, from a summary (used by `--merge`). */
/** The one text rendering of a sweep summary: a sweep prints it at its end, --merge prints it for the merge. */
export const renderSummary = (s: SweepSummary): string => {
  const known = s.failures.filter((f) => f.verdict === "known")
  const fresh = s.failures.filter((f) => f.verdict === "new")
  const c = s.config
  const head = s.mergedFrom !== undefined ? `merged sweep ${c.range.from}..${c.range.to} from ${s.mergedFrom.length} summaries` : `sweep ${c.range.from}..${c.range.to}${c.shard !== null ? ` shard ${c.shard.k}/${c.shard.n}` : ""}`
  const lines = [
    `${head}${c.bug !== null ? ` with bug ${c.bug}` : ""}${c.nemesis != null ? ` with --nemesis ${c.nemesis}` : ""}: ${s.totals.seeds} seeds, ${s.totals.failing} failing (${fresh.length} new, ${known.length} known: ${s.findings.map((f) => f.id).join(",") || "-"}), ${s.totals.requests} requests, ${(s.totals.virtualTimeMs / 1000).toFixed(0)} s virtual, ${s.mergedFrom !== undefined ? "slowest " : ""}${s.wallSeconds.toFixed(1)} s wall, persist-sim ${s.tool.version}`,
    "coverage mark                               seeds hitting it"
  ]
  for (const m of COVERAGE_MARKS) {
    const n = s.coverage[m] ?? 0
    const flag = n === 0 ? "  <- never reached" : n < RARE_MARK_SHARE * s.totals.seeds ? `  <- rare (< ${100 * RARE_MARK_SHARE}% of seeds)` : ""
    lines.push(`  ${m.padEnd(42)} ${String(n).padStart(6)}  ${((100 * n) / Math.max(1, s.totals.seeds)).toFixed(1)}%${flag}`)
  }
  const faults = Object.entries(s.faults).map(([k, v]) => `${k}=${v}`).join(" ")
  lines.push(`faults: ${faults || "none"}`)
  for (const f of s.findings) lines.push(`known finding ${f.id}: ${f.seeds.length} seed(s): ${rangeText(compactSeeds(f.seeds))}`)
  // New failures first: a known finding must never hide one.
  for (const f of [...fresh, ...known].slice(0, 20)) {
    const label = f.verdict === "new" ? `NEW ${f.newKinds.join(", ")}${f.findings.length > 0 ? `; also ${f.findings.join(",")}` : ""}` : `known ${f.findings.join(",")}`
    lines.push(`FAILED seed ${f.seed} (${label}): ${f.firstViolation}\n  reproduce with: ${f.replay}`)
  }
  if (s.failures.length > 20) lines.push(`... and ${s.failures.length - 20} more failing seed(s) in the JSON summary`)
  for (const p of s.problems ?? []) lines.push(`PROBLEM ${p}`)
  return lines.join("\n")
}
